import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Config, IdentitySpec } from "../../src/config/types.js";
import { buildPlan } from "../../src/plan/build.js";
import type { Plan } from "../../src/plan/types.js";
import type { ExternalCa } from "../../src/store/external.js";
import type { ObservedIdentity, ObservedState } from "../../src/store/read-state.js";
import { nothingObserved } from "../../src/store/read-state.js";
import { refusal } from "../helpers/refusal.js";
import { at, config, DAY, factsOf, observedAfterRun, T0 } from "./builders.js";

/**
 * plan/build.ts around external CAs (decideExternal, awaitSignature, the outlives-issuer refusal) and the
 * cascades and comparisons the scenario tests alone covered: the CRL URL a child must carry, a renewal forced
 * two levels up, a child ending exactly when its external CA does. Plain data in, the plan's words out.
 */

const YAML = `version: 1
cas:
  ext: { commonName: Ext CA, validity: 2y }
servers:
  web: { issuer: ext, altNames: [web.test], validity: 30d }
clients:
  bob: { issuer: ext, altNames: [bob@web.test], validity: 30d }
`;
const plain = config(YAML);
const CERT_FILE = "/pki/ca/ext.pem";
const KEY_FILE = "/pki/ca/ext.key";

/** pki.yaml with `ext` external: with its key (provision signs) or without (what it issues is requested). */
function externalConfig(key: "ca/ext.key" | null, yaml = YAML, edit: (id: IdentitySpec) => IdentitySpec = (id) => id): Config {
  const c = yaml === YAML ? plain : config(yaml);
  return { ...c, identities: c.identities.map((id) => edit(id.name === "ext" ? { ...id, external: { cert: "ca/ext.pem", key, chain: null } } : id)) };
}

type Edit = (seen: ObservedIdentity, observed: ObservedState) => void;
/** The disk after a run at T0 (store/external.ts's view of `ext`), then `edits`. */
function observed(c: Config, edits: Record<string, Edit> = {}, fromNothing = false): ObservedState {
  const after = observedAfterRun(c, T0);
  const o = fromNothing ? nothingObserved(c) : after;
  const ext = c.identities.find((id) => id.name === "ext")!.external!;
  o.identities.set("ext", after.identities.get("ext")!);
  o.bundlePem = after.bundlePem;
  const seen = o.identities.get("ext")!;
  if (ext.key === null) [seen.keyStatus, seen.keySha256] = ["missing", null];
  o.externals = new Map([["ext", { name: "ext", certFile: CERT_FILE, keyFile: ext.key === null ? null : KEY_FILE, upstream: [], roots: ["PEM(ext)\n"] } as unknown as ExternalCa]]);
  for (const [name, edit] of Object.entries(edits)) edit(o.identities.get(name)!, o);
  return o;
}
const action = (p: Plan, name: string) => p.actions.find((a) => a.name === name)!;
const gone: Edit = (s) => ((s.cert = null), (s.certProblem = "missing"), (s.signedByIssuer = null));
const keyGone: Edit = (s) => ((s.keyStatus = "missing"), (s.keySha256 = null));
const extNotAfter = at(730 * DAY).toISOString();
/** web's certificate as issued from the YAML above, before pki.yaml changed. */
const issuedBefore: Edit = (s) => void (s.cert!.facts = factsOf(plain, plain.identities.find((id) => id.name === "web")!, T0));

describe("an external CA (decideExternal)", () => {
  it("with its key: unchanged, saying it signs with its own key; its files are those pki.yaml names", () => {
    const c = externalConfig("ca/ext.key");
    const o = observed(c);
    const p = buildPlan(c, o, at(DAY));
    const facts = o.identities.get("ext")!.cert!.facts;
    expect(action(p, "ext")).toEqual({
      name: "ext", kind: "ca", issuer: null, action: "unchanged", key: "none",
      reasons: ["external (ca/ext.pem; signs with its own key)"],
      notBefore: facts.notBefore, notAfter: facts.notAfter,
      files: { cert: CERT_FILE, key: KEY_FILE },
    });
    // Not external: a CA provision made, with its folder under the output folder.
    expect(action(buildPlan(plain, observedAfterRun(plain, T0), at(DAY)), "ext")).toMatchObject({ action: "unchanged", reasons: [], files: { cert: path.join(plain.outputDir, "cas/ext/cert.pem") } });
  });

  it("without a key: unchanged, saying what it issues is requested; no key file", () => {
    const c = externalConfig(null);
    expect(action(buildPlan(c, observed(c), at(DAY)), "ext")).toMatchObject({
      action: "unchanged", key: "none", issuer: null,
      reasons: ["external (ca/ext.pem; no key: what it issues is requested with provision csr)"],
      files: { cert: CERT_FILE, key: "" },
    });
  });

  it("never renewed nor re-issued, inside its renewal window or with its certificate unlike pki.yaml", () => {
    const c = externalConfig("ca/ext.key");
    // 600 days in: a provision CA of 2y would renew (window 1/3); web's 30d certificate renews under it.
    const p = buildPlan(c, observed(c), at(600 * DAY));
    expect(action(p, "ext")).toMatchObject({ action: "unchanged", reasons: ["external (ca/ext.pem; signs with its own key)"] });
    expect(action(buildPlan(plain, observedAfterRun(plain, T0), at(600 * DAY)), "ext").action).toBe("renew");
    expect(action(p, "web")).toMatchObject({ action: "renew", key: "generate" });
    const renamed = externalConfig("ca/ext.key", YAML.replace("Ext CA", "Other Name"));
    expect(action(buildPlan(renamed, observed(renamed), at(DAY)), "ext").action).toBe("unchanged");
  });

  it.each([
    ["does not fit its certificate", "mismatch", `${KEY_FILE} is not the key of ${CERT_FILE}`, `the key of external CA ext (ca/ext.key) does not match its certificate: ${KEY_FILE} is not the key of ${CERT_FILE}`],
    ["cannot be read", "unreadable", "not a PKCS#8 key", "the key of external CA ext (ca/ext.key) cannot be read: not a PKCS#8 key"],
  ] as const)("a key that %s stops the run, naming the file to point at", (_what, keyStatus, detail, message) => {
    const c = externalConfig("ca/ext.key");
    const e = refusal(() => buildPlan(c, observed(c, { ext: (s) => ((s.keyStatus = keyStatus), (s.keyDetail = detail)) }), at(DAY)));
    expect(e).toMatchObject({ code: "external-ca", message, hint: "point external.key at the private key of ca/ext.pem, or remove external.key to have its certificates signed elsewhere" });
  });

  it("a locked key stops only a run that signs with it", () => {
    const c = externalConfig("ca/ext.key");
    const locked: Edit = (s) => ((s.keyStatus = "locked"), (s.keyEncrypted = true));
    expect(action(buildPlan(c, observed(c, { ext: locked }), at(DAY)), "ext").action).toBe("unchanged");
    const e = refusal(() => buildPlan(c, observed(c, { ext: locked, web: gone }), at(DAY)));
    expect(e).toMatchObject({ code: "passphrase-missing", message: "the key of ext is encrypted and no passphraseEnv is configured" });
  });
});

describe("below an external CA without a key (awaitSignature)", () => {
  const keyless = externalConfig(null);
  const plan = (o: ObservedState, now = at(DAY), c = keyless) => buildPlan(c, o, now);

  it("nothing on disk: each leaf waits for a certificate signed by the CA; nothing is issued, no validity is set", () => {
    const p = plan(observed(keyless, {}, true));
    for (const name of ["web", "bob"]) {
      expect(action(p, name)).toMatchObject({ action: "waiting", key: "none", reasons: ["waiting for a certificate signed by ext"], notBefore: null, notAfter: null });
    }
    expect(p.hooks).toEqual([]);
    // With its key, provision signs them itself.
    const signing = externalConfig("ca/ext.key");
    expect(action(buildPlan(signing, observed(signing, {}, true), at(DAY)), "web")).toMatchObject({ action: "create", key: "generate", reasons: ["new"], notAfter: at(31 * DAY).toISOString() });
  });

  it("certificate missing (key there or not): a first certificate is awaited; a missing key stays a reason", () => {
    expect(action(plan(observed(keyless, { web: gone })), "web").reasons).toEqual(["waiting for a certificate signed by ext"]);
    expect(action(plan(observed(keyless, { web: (s, o) => (gone(s, o), keyGone(s, o)) })), "web")).toMatchObject({ action: "waiting", key: "none", reasons: ["key missing", "waiting for a certificate signed by ext"] });
  });

  it("a certificate there, or one that cannot be read: a new certificate is awaited, after the reason it is needed", () => {
    const unreadable: Edit = (s) => ((s.cert = null), (s.certProblem = "unreadable (not PEM)"), (s.signedByIssuer = null));
    expect(action(plan(observed(keyless, { web: unreadable })), "web").reasons).toEqual(["certificate unreadable (not PEM)", "waiting for a new certificate signed by ext"]);
    // A key missing beside its certificate, or unreadable beside a missing one: not a first certificate either.
    expect(action(plan(observed(keyless, { web: keyGone })), "web").reasons).toEqual(["key missing", "waiting for a new certificate signed by ext"]);
    expect(action(plan(observed(keyless, { web: (s, o) => (gone(s, o), (s.keyStatus = "unreadable")) })), "web").reasons).toEqual(["key unreadable", "waiting for a new certificate signed by ext"]);
    const p = plan(observed(keyless), at(25 * DAY));
    expect(action(p, "web")).toMatchObject({ action: "waiting", key: "none", reasons: ["expires in 5 days (window 1/3 of 30d = 10d)", "waiting for a new certificate signed by ext"] });
    // The certificate it has stays in use, with its own validity.
    expect(action(p, "web")).toMatchObject({ notBefore: new Date(T0.getTime() - 300_000).toISOString(), notAfter: at(30 * DAY).toISOString() });
    const more = externalConfig(null, YAML.replace("[web.test]", "[web.test, extra.test]"));
    expect(action(plan(observed(more, { web: issuedBefore }), at(DAY), more), "web").reasons).toEqual(["altNames changed (+extra.test)", "waiting for a new certificate signed by ext"]);
  });

  it("whoever signs picks the lifetime and the CRL URL: neither is compared; below a CA with its key, both are", () => {
    const longer = (key: "ca/ext.key" | null) => externalConfig(key, YAML.replace("[web.test], validity: 30d", "[web.test], validity: 60d"));
    expect(action(plan(observed(longer(null), { web: issuedBefore }), at(DAY), longer(null)), "web").action).toBe("unchanged");
    expect(action(plan(observed(longer("ca/ext.key"), { web: issuedBefore }), at(DAY), longer("ca/ext.key")), "web")).toMatchObject({ action: "reissue", reasons: ["validity changed (30d → 60d)"] });
    const withUrl = (key: "ca/ext.key" | null) => externalConfig(key, YAML, (id) => (id.name === "ext" ? { ...id, crl: { ...id.crl!, url: "http://crl.test/ext.crl" } } : id));
    expect(action(plan(observed(withUrl(null)), at(DAY), withUrl(null)), "web").action).toBe("unchanged");
    expect(action(plan(observed(withUrl("ca/ext.key")), at(DAY), withUrl("ca/ext.key")), "web").reasons).toEqual(["CRL distribution point changed (none → http://crl.test/ext.crl)"]);
  });

  it("a request made by provision csr is named with its pending key", () => {
    const pending: Edit = (s) => void (s.pendingKey = path.join(keyless.outputDir, "servers/web/next-key.pem"));
    expect(action(plan(observed(keyless, { web: pending }), at(25 * DAY)), "web").reasons).toEqual(["expires in 5 days (window 1/3 of 30d = 10d)", "waiting for a new certificate signed by ext", "request pending (its key: servers/web/next-key.pem)"]);
    expect(action(plan(observed(keyless, { web: (s) => void (s.pendingKey = null) }), at(25 * DAY)), "web").reasons).toHaveLength(2);
  });

  it("a leaf that only waits is not refused for outliving the CA; one provision would sign is", () => {
    const long = (key: "ca/ext.key" | null) => externalConfig(key, YAML, (id) => (id.name === "web" ? { ...id, validitySeconds: 9 * 365 * 86_400 } : id));
    expect(action(plan(observed(long(null), { web: gone }), at(DAY), long(null)), "web").action).toBe("waiting");
    expect(refusal(() => plan(observed(long("ca/ext.key"), { web: gone }), at(DAY), long("ca/ext.key"))).code).toBe("outlives-issuer");
  });

  it("a waiting leaf's chain files are refreshed from a certificate it can use, never from a missing one", () => {
    const chain = path.join(keyless.outputDir, "servers/web/chain.pem");
    const damaged: Edit = (s) => ((s.chainPem = "damaged"), (s.trusted = false));
    expect(plan(observed(keyless, { web: damaged }), at(25 * DAY)).refresh).toEqual([chain]);
    expect(plan(observed(keyless, { web: (s, o) => (damaged(s, o), gone(s, o)) }), at(25 * DAY)).refresh).toEqual([]);
    expect(plan(observed(keyless, { web: (s, o) => (damaged(s, o), (s.signedByIssuer = false)) }), at(25 * DAY)).refresh).toEqual([]);
  });
});

describe("an issuer must outlive a new certificate (ensureIssuersOutliveChildren)", () => {
  it("below an external CA: a child ending exactly when the CA does is issued; one second later is refused", () => {
    const withValidity = (seconds: number) => externalConfig("ca/ext.key", YAML, (id) => (id.name === "web" ? { ...id, validitySeconds: seconds } : id));
    // The CA was issued at T0 for 2y (730 days): a 730d child planned at T0 ends with it, planned a second later does not.
    const c = withValidity(730 * 86_400);
    expect(action(buildPlan(c, observed(c, { web: gone }), T0), "web")).toMatchObject({ action: "reissue", notAfter: extNotAfter });
    expect(refusal(() => buildPlan(c, observed(c, { web: gone }), at(1000))).message).toBe(`web's new certificate (2y) would outlive external CA ext, which expires ${extNotAfter.slice(0, 10)}`);
  });

  it("a cascade: a leaf's new certificate renews its intermediate, whose renewal then renews the root", () => {
    const c = config(`version: 1
cas:
  root: { commonName: Root, validity: 90d, renewBefore: 1d }
  int: { issuer: root, commonName: Int, validity: 60d, renewBefore: 1d }
servers:
  web: { issuer: int, altNames: [web.test], validity: 15d }
`);
    // Now (T0): the root ends in 20 days, the intermediate in 10, neither inside its renewal window.
    const o = observedAfterRun(c, T0, { root: { issuedAt: at(-70 * DAY) }, int: { issuedAt: at(-50 * DAY) }, web: { certMissing: true } });
    const p = buildPlan(c, o, T0);
    expect(p.actions.map((a) => `${a.name}:${a.action}/${a.key}`)).toEqual(["root:renew/reuse", "int:renew/reuse", "web:reissue/generate"]);
    expect(action(p, "int").reasons).toEqual([`renewed so it outlives web's new certificate (expires ${at(10 * DAY).toISOString().slice(0, 10)})`]);
    expect(action(p, "root").reasons).toEqual([`renewed so it outlives int's new certificate (expires ${at(20 * DAY).toISOString().slice(0, 10)})`]);
    // A leaf that fits inside the intermediate renews nothing above it.
    const fits = buildPlan(c, observedAfterRun(c, T0, { root: { issuedAt: at(-70 * DAY) }, int: { issuedAt: at(-50 * DAY) }, web: { certMissing: true, issuedAt: at(-10 * DAY) } }), at(-6 * DAY));
    expect(fits.actions.map((a) => `${a.name}:${a.action}`)).toEqual(["root:unchanged", "int:unchanged", "web:reissue"]);
  });
});

describe("what a child's certificate must carry from its issuer", () => {
  const c = config(`version: 1
cas:
  root: { commonName: Root, validity: 10y }
  int: { issuer: root, commonName: Int, validity: 2y, crlUrl: http://crl.test/int.crl }
servers:
  web: { issuer: int, altNames: [web.test], validity: 30d }
`);
  const WITH = { crlUrls: ["http://crl.test/int.crl"] };

  it("the issuer's CRL URL: the same is unchanged (with empty reasons); none, or another, re-issues", () => {
    const same = buildPlan(c, observedAfterRun(c, T0, { web: { facts: WITH } }), at(DAY));
    expect(same.actions.map((a) => [a.name, a.action, a.reasons])).toEqual([["root", "unchanged", []], ["int", "unchanged", []], ["web", "unchanged", []]]);
    expect(action(buildPlan(c, observedAfterRun(c, T0), at(DAY)), "web")).toMatchObject({ action: "reissue", reasons: ["CRL distribution point changed (none → http://crl.test/int.crl)"] });
    const other = buildPlan(c, observedAfterRun(c, T0, { web: { facts: { crlUrls: ["http://old.test/int.crl"] } } }), at(DAY));
    expect(action(other, "web").reasons).toEqual(["CRL distribution point changed (http://old.test/int.crl → http://crl.test/int.crl)"]);
    // A root is its own issuer and points to no CRL, whatever its own crlUrl.
    const rootUrl = config(`version: 1\ncas:\n  root: { commonName: Root, crlUrl: http://crl.test/root.crl }\n`);
    expect(action(buildPlan(rootUrl, observedAfterRun(rootUrl, T0), at(DAY)), "root")).toMatchObject({ action: "unchanged", reasons: [] });
  });
});

describe("derived files and keys below an external CA", () => {
  it("chains and the bundle composed with the certificates above it: as on disk, nothing to refresh; composed without them, all stale", () => {
    const c = externalConfig("ca/ext.key");
    const o = observed(c, { web: (s) => ((s.trusted = false), (s.chainPem = "PEM(ext)\nUPROOT\n"), (s.fullchainPem = "PEM(web)\nPEM(ext)\n")) });
    o.externals = new Map([["ext", { ...o.externals.get("ext")!, upstream: ["UPROOT\n"], roots: ["UPROOT\n"] }]]);
    o.bundlePem = "UPROOT\n";
    expect(buildPlan(c, o, at(DAY)).refresh).toEqual([]);
    o.identities.get("web")!.chainPem = "PEM(ext)\n";
    o.bundlePem = "PEM(ext)\n";
    expect(buildPlan(c, o, at(DAY)).refresh).toEqual([path.join(c.outputDir, "servers/web/chain.pem"), path.join(c.outputDir, "ca-bundle.pem")]);
  });

  it("a waiting leaf whose key is missing is not re-encrypted (nothing to rewrite), whatever its passphraseEnv", () => {
    const c = externalConfig(null, YAML, (id) => (id.name === "web" ? { ...id, passphraseEnv: "WEB_PASS" } : id));
    const o = observed(c, { web: (s, o) => (gone(s, o), keyGone(s, o), void (o.state.identities.get("web")!.passphraseEnv = "WEB_PASS")) });
    const p = buildPlan(c, o, at(DAY), { setEnvVars: new Set() });
    expect(action(p, "web")).toMatchObject({ action: "waiting", key: "none" });
    expect(p.refresh).toEqual([]);
  });
});
