import { describe, expect, it } from "vitest";
import type { Config, IdentitySpec } from "../../src/config/types.js";
import { buildPlan, renewalWindow, usableCertificate, type PlanOptions } from "../../src/plan/build.js";
import type { Plan } from "../../src/plan/types.js";
import type { ObservedIdentity, ObservedState } from "../../src/store/read-state.js";
import { nothingObserved } from "../../src/store/read-state.js";
import { at, config, DAY, factsOf, observedAfterRun, T0 } from "./builders.js";
import { refusal } from "../helpers/refusal.js";

/**
 * plan/build.ts's per-identity decision (decide, assertCaKeyUsable, ensureIssuersOutliveChildren, setValidity):
 * each branch with the input that takes it and its neighbour that does not, asserting the action, the key and
 * the words the user reads. build.test.ts holds the scenarios; this file is what Stryker runs against build.ts.
 */

const YAML = `version: 1
cas:
  root: { commonName: Root, validity: 10y }
  int: { issuer: root, commonName: Int, validity: 2y }
servers:
  web: { issuer: int, altNames: [web.test], validity: 30d }
  steady: { issuer: int, altNames: [steady.test], validity: 30d, rotateKey: never, renewBefore: 7d }
clients:
  bob: { issuer: int, altNames: [bob@web.test], validity: 30d }
`;
const cfg = config(YAML);

type Edit = (seen: ObservedIdentity, observed: ObservedState) => void;
/** The disk right after a run at T0, with `edits` applied to single identities. */
function observed(c: Config, edits: Record<string, Edit> = {}, issuedAt = T0): ObservedState {
  const o = observedAfterRun(c, issuedAt);
  for (const [name, edit] of Object.entries(edits)) edit(o.identities.get(name)!, o);
  return o;
}
const plan = (o: ObservedState, now = at(DAY), options: PlanOptions = {}, c: Config = cfg) => buildPlan(c, o, now, options);
const action = (p: Plan, name: string) => p.actions.find((a) => a.name === name)!;
const summary = (p: Plan, name: string) => `${action(p, name).action}/${action(p, name).key}`;


describe("flags naming CAs", () => {
  it("--rotate-ca-key and --adopt-ca-key refuse a name that is no CA (a server, or unknown)", () => {
    expect(refusal(() => plan(observed(cfg), at(DAY), { rotateCaKeys: new Set(["web"]) }))).toMatchObject({ code: "bad-flag", message: "--rotate-ca-key web: no CA of that name in pki.yaml" });
    expect(refusal(() => plan(observed(cfg), at(DAY), { adoptCaKeys: new Set(["nope"]) }))).toMatchObject({ code: "bad-flag", message: "--adopt-ca-key nope: no CA of that name in pki.yaml" });
    expect(summary(plan(observed(cfg), at(DAY), { adoptCaKeys: new Set(["int"]) }), "int")).toBe("unchanged/none");
  });
});

describe("a CA key found without a certificate", () => {
  const planted: Edit = (seen, o) => {
    seen.cert = null;
    seen.certProblem = "missing";
    seen.signedByIssuer = null;
    o.state.identities.delete(seen.name);
  };
  it("is refused when provision has no record of it", () => {
    const e = refusal(() => plan(observed(cfg, { int: planted })));
    expect(e).toMatchObject({ code: "ca-key-unknown", message: "CA int has a key.pem but no certificate, and provision has no record of creating that key" });
    expect(e.hint).toContain("--adopt-ca-key int");
  });

  it("is used with --adopt-ca-key, or when this machine wrote it (its SHA-256 among ownCaKeys), not for another hash", () => {
    expect(summary(plan(observed(cfg, { int: planted }), at(DAY), { adoptCaKeys: new Set(["int"]) }), "int")).toBe("reissue/reuse");
    expect(action(plan(observed(cfg, { int: planted }), at(DAY), { ownCaKeys: new Set(["key-int"]) }), "int")).toMatchObject({ action: "reissue", key: "reuse", reasons: ["certificate missing"] });
    expect(() => plan(observed(cfg, { int: planted }), at(DAY), { ownCaKeys: new Set(["key-root"]) })).toThrow(/no record of creating that key/);
    // A key with no hash (none read) is no key this machine wrote.
    expect(() => plan(observed(cfg, { int: (s, o) => (planted(s, o), (s.keySha256 = null)) }), at(DAY), { ownCaKeys: new Set(["key-int"]) })).toThrow(/no record/);
  });

  it("only a CA's: a server's key without certificate or record is replaced; --rotate-ca-key replaces a CA's", () => {
    expect(action(plan(observed(cfg, { web: planted })), "web")).toMatchObject({ action: "reissue", key: "generate", reasons: ["certificate missing"] });
    expect(action(plan(observed(cfg, { int: planted }), at(DAY), { rotateCaKeys: new Set(["int"]) }), "int")).toMatchObject({ action: "reissue", key: "generate" });
  });

  it("a CA key missing too, with no record: created; with a record of the same kind: stopped", () => {
    const gone: Edit = (s, o) => (planted(s, o), (s.keyStatus = "missing"), (s.keySha256 = null));
    expect(summary(plan(observed(cfg, { int: gone })), "int")).toBe("create/generate");
    expect(action(plan(observed(cfg, { int: gone })), "int").reasons).toEqual(["new"]);
    const recorded: Edit = (s, o) => {
      gone(s, o);
      o.state.identities.set("int", { kind: "ca", certSha256: "", keySha256: "", passphraseEnv: null, issuerFingerprint: null, facts: s.cert?.facts ?? factsOf(cfg, cfg.identities[1]!, T0) });
    };
    expect(refusal(() => plan(observed(cfg, { int: recorded }))).message).toBe("the key of CA int is missing");
    // A record of another kind (the name moved from servers to cas) is no record of this CA.
    const otherKind: Edit = (s, o) => (recorded(s, o), (o.state.identities.get("int")!.kind = "server"));
    expect(summary(plan(observed(cfg, { int: otherKind })), "int")).toBe("create/generate");
  });
});

describe("a CA key that cannot be used stops the plan (assertCaKeyUsable)", () => {
  it.each([
    ["missing, folder moved aside", (s: ObservedIdentity, o: ObservedState) => ((s.keyStatus = "missing"), (o.aside = new Set(["int"]))), "ca-key-missing", "the folder of CA int was moved aside by an interrupted run", "run provision (without plan): it puts the folder back before anything else; do not use --rotate-ca-key int"],
    ["missing beside its certificate", (s: ObservedIdentity) => void (s.keyStatus = "missing"), "ca-key-missing", "the key of CA int is missing", "restore key.pem from your backup; to start over with a new key (everything it signed is re-issued) run with --rotate-ca-key int"],
    ["unreadable, with a detail", (s: ObservedIdentity) => ((s.keyStatus = "unreadable"), (s.keyDetail = "bad base64")), "ca-key-unreadable", "the key of CA int cannot be read: bad base64", "restore key.pem from your backup, or run with --rotate-ca-key int to replace it"],
    ["unreadable, without one", (s: ObservedIdentity) => void (s.keyStatus = "unreadable"), "ca-key-unreadable", "the key of CA int cannot be read: not a PKCS#8 PEM key", "restore key.pem from your backup, or run with --rotate-ca-key int to replace it"],
    ["not matching its certificate", (s: ObservedIdentity) => void (s.keyStatus = "mismatch"), "ca-key-mismatch", "the key of CA int does not match its certificate", "restore the matching key.pem or cert.pem from your backup, or run with --rotate-ca-key int to replace the key"],
  ])("%s", (_what, edit, code, message, hint) => {
    expect(refusal(() => plan(observed(cfg, { int: edit })))).toMatchObject({ code, message, hint });
    // --rotate-ca-key replaces it instead.
    expect(summary(plan(observed(cfg, { int: edit }), at(DAY), { rotateCaKeys: new Set(["int"]) }), "int")).toBe("reissue/generate");
  });

  it("a folder moved aside with its key there is no problem of the key", () => {
    expect(summary(plan(observed(cfg, { int: (_s, o) => void (o.aside = new Set(["int"])) })), "int")).toBe("unchanged/none");
  });
});

describe("why a certificate is reissued, and with which key", () => {
  it("certificate and key gone after a recorded run: both reasons, a new key", () => {
    const p = plan(observed(cfg, { web: (s) => ((s.cert = null), (s.certProblem = "missing"), (s.keyStatus = "missing"), (s.signedByIssuer = null)) }));
    expect(action(p, "web")).toMatchObject({ action: "reissue", key: "generate", reasons: ["certificate missing", "key missing"] });
  });

  it("an unreadable certificate says so; a leaf key that does not match, or cannot be read, is replaced; a locked one is kept", () => {
    const unreadable = plan(observed(cfg, { steady: (s) => ((s.cert = null), (s.certProblem = "unreadable (not PEM)")) }));
    expect(action(unreadable, "steady")).toMatchObject({ action: "reissue", key: "reuse", reasons: ["certificate unreadable (not PEM)"] });
    expect(action(plan(observed(cfg, { steady: (s) => void (s.keyStatus = "mismatch") })), "steady")).toMatchObject({ action: "reissue", key: "generate", reasons: ["key does not match the certificate"] });
    expect(action(plan(observed(cfg, { steady: (s) => void (s.keyStatus = "unreadable") })), "steady")).toMatchObject({ action: "reissue", key: "generate", reasons: ["key unreadable"] });
    expect(summary(plan(observed(cfg, { steady: (s) => void (s.keyStatus = "locked") })), "steady")).toBe("unchanged/none");
  });

  it("not signed by the current issuer certificate; for a root, not a valid self-signed certificate", () => {
    expect(action(plan(observed(cfg, { steady: (s) => void (s.signedByIssuer = false) })), "steady")).toMatchObject({ action: "reissue", key: "reuse", reasons: ["not signed by the current int certificate"] });
    expect(action(plan(observed(cfg, { root: (s) => void (s.signedByIssuer = false) })), "root")).toMatchObject({ action: "reissue", key: "reuse", reasons: ["not a valid self-signed certificate"] });
    // Beside another reason, both are given.
    const moved = config(YAML.replace("[steady.test]", "[steady2.test]"));
    const both = plan(observed(cfg, { steady: (s) => void (s.signedByIssuer = false) }), at(DAY), {}, moved);
    expect(action(both, "steady").reasons).toEqual(["subject changed (commonName: steady.test → steady2.test)", "altNames changed (+steady2.test, -steady.test)", "not signed by the current int certificate"]);
    // When the issuer is reissued anyway, that is the reason given, not both.
    const p = plan(observed(cfg, { steady: (s) => void (s.signedByIssuer = false) }), at(DAY), { rotateCaKeys: new Set(["int"]) });
    expect(action(p, "steady").reasons).toEqual(["issuer int reissued"]);
  });

  it("an issuer that is renewed (same key) does not reissue what it signed; one created or reissued does", () => {
    const renewed = plan(observed(cfg, { int: (s) => void (s.cert!.facts = factsOf(cfg, cfg.identities[1]!, at(-700 * DAY))) }));
    expect(summary(renewed, "int")).toBe("renew/reuse");
    expect(summary(renewed, "web")).toBe("unchanged/none");
    const created = plan(observed(cfg, { int: (s, o) => ((s.cert = null), (s.keyStatus = "missing"), (s.keySha256 = null), o.state.identities.delete("int")) }));
    expect(summary(created, "int")).toBe("create/generate");
    expect(action(created, "web")).toMatchObject({ action: "reissue", key: "generate", reasons: ["issuer int reissued"] });
    expect(action(created, "steady")).toMatchObject({ action: "reissue", key: "reuse" });
  });

  it("a CA's key type changed: refused without --rotate-ca-key, naming the type it has", () => {
    const p384 = config(YAML.replace("commonName: Int,", "commonName: Int, key: ecdsa-p384,"));
    const o = observed(p384, { int: (s) => void (s.cert!.facts = factsOf(cfg, cfg.identities[1]!, T0)) });
    const e = refusal(() => plan(o, at(DAY), {}, p384));
    expect(e).toMatchObject({ code: "ca-key-change", message: "changing the key type of CA int needs a new CA key" });
    expect(e.hint).toBe("run with --rotate-ca-key int to replace the key (everything it signed is re-issued), or restore key: ecdsa-p256");
    expect(summary(plan(o, at(DAY), { rotateCaKeys: new Set(["int"]) }, p384), "int")).toBe("reissue/generate");
    // A CA whose other fields changed keeps its key.
    const renamed = config(YAML.replace("commonName: Int,", "commonName: Int2,"));
    expect(summary(plan(observed(renamed, { int: (s) => void (s.cert!.facts = factsOf(cfg, cfg.identities[1]!, T0)) }), at(DAY), {}, renamed), "int")).toBe("reissue/reuse");
  });

  it("a leaf's new key: rotateKey always, or its key type changed; rotateKey never keeps it", () => {
    const moreNames = config(YAML.replaceAll("altNames: [", "altNames: [extra.test, ").replace("[extra.test, bob@web.test]", "[bob@web.test, extra@web.test]"));
    const old = (name: string) => (s: ObservedIdentity) => void (s.cert!.facts = factsOf(cfg, cfg.identities.find((i) => i.name === name)!, T0));
    const p = plan(observed(moreNames, { web: old("web"), steady: old("steady"), bob: old("bob") }), at(DAY), {}, moreNames);
    expect([summary(p, "web"), summary(p, "steady"), summary(p, "bob")]).toEqual(["reissue/generate", "reissue/reuse", "reissue/generate"]);
    const newType = config(YAML.replace("rotateKey: never,", "rotateKey: never, key: rsa-2048,"));
    expect(summary(plan(observed(newType, { steady: old("steady") }), at(DAY), {}, newType), "steady")).toBe("reissue/generate");
    // The key is reused unless something asks for a new one (a locked key is no reason).
    expect(summary(plan(observed(moreNames, { steady: (s) => (old("steady")(s), (s.keyStatus = "locked")) }), at(DAY), {}, moreNames), "steady")).toBe("reissue/generate");
  });
});

describe("renewal: when, which key, and the words", () => {
  const notAfter = T0.getTime() + 30 * DAY;
  it("expired: how long ago, in days, hours or minutes, singular or plural", () => {
    const reason = (ms: number, name = "web") => action(plan(observed(cfg), new Date(notAfter + ms)), name).reasons[0];
    expect(reason(0)).toBe("expired 0 minutes ago");
    expect(reason(60_000)).toBe("expired 1 minute ago");
    expect(reason(59 * 60_000)).toBe("expired 59 minutes ago");
    expect(reason(3_600_000)).toBe("expired 1 hour ago");
    expect(reason(23 * 3_600_000 + 59 * 60_000)).toBe("expired 23 hours ago");
    expect(reason(DAY)).toBe("expired 1 day ago");
    expect(reason(2 * DAY + 3_600_000)).toBe("expired 2 days ago");
    expect(action(plan(observed(cfg), new Date(notAfter)), "steady")).toMatchObject({ action: "renew", key: "reuse" });
    expect(action(plan(observed(cfg), new Date(notAfter)), "web")).toMatchObject({ action: "renew", key: "generate" });
  });

  it("inside the window: how long is left, and the window as written (a duration) or as computed (a fraction)", () => {
    expect(action(plan(observed(cfg), new Date(notAfter - 7 * DAY)), "steady")).toMatchObject({ action: "renew", key: "reuse", reasons: ["expires in 7 days (window 7d)"] });
    expect(action(plan(observed(cfg), new Date(notAfter - 2 * 3_600_000)), "steady").reasons).toEqual(["expires in 2 hours (window 7d)"]);
    expect(action(plan(observed(cfg), new Date(notAfter - 10 * DAY)), "web").reasons).toEqual(["expires in 10 days (window 1/3 of 30d = 10d)"]);
    expect(summary(plan(observed(cfg), new Date(notAfter - 7 * DAY - 1000)), "steady")).toBe("unchanged/none");
  });

  it("a CA renews with its key; the time is taken to the whole second", () => {
    const int = cfg.identities[1]!;
    const intNotAfter = T0.getTime() + int.validitySeconds * 1000;
    const { startsAt } = renewalWindow(int, factsOf(cfg, int, T0));
    expect(summary(plan(observed(cfg), new Date(startsAt - 1)), "int")).toBe("unchanged/none");
    expect(summary(plan(observed(cfg), new Date(startsAt)), "int")).toBe("renew/reuse");
    expect(summary(plan(observed(cfg), new Date(intNotAfter)), "int")).toBe("renew/reuse");
    // 999 ms before the window's second still counts as the second before it.
    expect(summary(plan(observed(cfg), new Date(notAfter - 7 * DAY - 1)), "steady")).toBe("unchanged/none");
    expect(plan(observed(cfg), new Date(T0.getTime() + 1999)).now).toBe(new Date(T0.getTime() + 1000).toISOString());
  });

  it("renewalWindow: the lifetime as issued plus the skew allowance", () => {
    const web = cfg.identities.find((i) => i.name === "web")!;
    expect(renewalWindow(web, factsOf(cfg, web, T0))).toEqual({ lifetimeSeconds: 30 * 86_400 + 300, window: ((30 * 86_400 + 300) / 3) * 1000, startsAt: notAfter - ((30 * 86_400 + 300) / 3) * 1000 });
  });
});

describe("usableCertificate", () => {
  it("a certificate, a matching key, and not refused by its issuer (unknown is fine)", () => {
    const base = observedAfterRun(cfg, T0).identities.get("web")!;
    expect(usableCertificate(base)).toBe(true);
    expect(usableCertificate({ ...base, signedByIssuer: null })).toBe(true);
    expect(usableCertificate({ ...base, signedByIssuer: false })).toBe(false);
    expect(usableCertificate({ ...base, keyStatus: "locked" })).toBe(false);
    expect(usableCertificate({ ...base, cert: null })).toBe(false);
  });
});

describe("issuers outlive what they sign; issued validity", () => {
  it("an issuer that would end before a new child's certificate is renewed, up the chain, with its key", () => {
    const short = config(YAML.replace("validity: 10y", "validity: 90d, renewBefore: 1d").replace("validity: 2y", "validity: 60d, renewBefore: 1d"));
    // Everything issued 80 days ago: root ends in 10 days, int ended 20 days ago... int is renewed (expired), and
    // its new 60 days outlive the root's 10: the root is renewed so it outlives int's new certificate.
    const p = plan(observed(short, {}, at(-80 * DAY)), T0, {}, short);
    expect(summary(p, "int")).toBe("renew/reuse");
    expect(action(p, "root")).toMatchObject({ action: "renew", key: "reuse", reasons: [`renewed so it outlives int's new certificate (expires ${at(10 * DAY).toISOString().slice(0, 10)})`] });
  });

  it("a child ending exactly when its issuer does needs no renewal; one second later does", () => {
    const c = config(YAML.replace("validity: 2y", "validity: 30d, renewBefore: 1d").replace("web.test], validity: 30d", "web.test], validity: 29d"));
    const gone = (s: ObservedIdentity) => ((s.cert = null), (s.certProblem = "missing"));
    expect(summary(plan(observed(c, { web: gone }), at(DAY), {}, c), "int")).toBe("unchanged/none");
    const later = { ...c, identities: c.identities.map((id) => (id.name === "web" ? { ...id, validitySeconds: 29 * 86_400 + 1 } : id)) };
    expect(summary(plan(observed(later, { web: gone }), at(DAY), {}, later), "int")).toBe("renew/reuse");
  });

  it("below an external CA, a child that would outlive it is refused (provision never renews it)", () => {
    const ext = (id: IdentitySpec) => (id.name === "int" ? { ...id, external: { cert: "ext/int.pem", key: "ext/int.key", chain: null } } : id.name === "web" ? { ...id, validitySeconds: 9 * 365 * 86_400 } : id);
    const c = cfg;
    const external = { ...c, identities: c.identities.map(ext) };
    const o = observed(external, { web: (s) => ((s.cert = null), (s.certProblem = "missing")) });
    const e = refusal(() => buildPlan(external, o, at(DAY)));
    expect(e).toMatchObject({ code: "outlives-issuer", message: `web's new certificate (9y) would outlive external CA int, which expires ${at(730 * DAY).toISOString().slice(0, 10)}` });
    expect(e.hint).toBe("shorten web's validity, or renew int's certificate where it is kept (ext/int.pem); provision never renews an external CA");
    // Located at web's validity: by the caller's locator, or by the YAML path alone without one.
    const message = `validity 9y: web's new certificate would outlive external CA int (ext/int.pem), which expires ${at(730 * DAY).toISOString().slice(0, 10)}`;
    expect(e.diagnostics).toEqual([{ severity: "error", file: "pki.yaml", path: "servers.web.validity", message }]);
    const located = refusal(() => buildPlan(external, o, at(DAY), { locate: (path) => ({ file: "here.yaml", path: path.join("/"), line: 7, col: 3 }) }));
    expect(located.diagnostics).toEqual([{ severity: "error", file: "here.yaml", path: "servers/web/validity", line: 7, col: 3, message }]);
  });

  it("issuing actions: notBefore five minutes back, notAfter after the validity; past 9999-12-31T23:59:59Z is refused", () => {
    const p = plan(nothingObserved(cfg), T0);
    expect(action(p, "web")).toMatchObject({ notBefore: new Date(T0.getTime() - 300_000).toISOString(), notAfter: at(30 * DAY).toISOString() });
    expect(action(plan(observed(cfg), at(DAY)), "web")).toMatchObject({ notBefore: new Date(T0.getTime() - 300_000).toISOString(), notAfter: at(30 * DAY).toISOString() });
    const last = Date.UTC(9999, 11, 31, 23, 59, 59);
    const edge = { ...cfg, identities: cfg.identities.map((id) => ({ ...id, validitySeconds: (last - T0.getTime()) / 1000 })) };
    expect(action(buildPlan(edge, nothingObserved(edge), T0), "root").notAfter).toBe("9999-12-31T23:59:59.000Z");
    const over = { ...cfg, identities: cfg.identities.map((id) => ({ ...id, validitySeconds: (last - T0.getTime()) / 1000 + 1 })) };
    const e = refusal(() => buildPlan(over, nothingObserved(over), T0));
    expect(e.code).toBe("invalid-config");
    expect(e.message).toMatch(/^root: a .* certificate issued at 2027-01-01T00:00:00.000Z would end after 9999-12-31T23:59:59Z, the last time X.509 can express$/);
  });
});
