import { describe, expect, it } from "vitest";
import type { Config, IdentitySpec } from "../../src/config/types.js";
import { decideRevoked, ledgerAfterRun, normalSerial, planCrls, signsCrl } from "../../src/plan/revocation.js";
import type { IdentityAction } from "../../src/plan/types.js";
import type { ObservedIdentity, ObservedState } from "../../src/store/read-state.js";
import type { IssuedCert } from "../../src/store/state-file.js";
import { refusal } from "../helpers/refusal.js";
import { at, config, DAY, observedAfterRun, T0 } from "./builders.js";

/**
 * plan/revocation.ts called directly with plain data: what a revoked identity's action is (decideRevoked), the
 * ledger of issued certificates after a run (ledgerAfterRun: what is remembered, what each kind of revocation
 * marks, and the refusals), and each CA's CRL (planCrls: when it is re-signed and why, its entries and times).
 * Everything asserted is computed inside the test body (Stryker's mutants are not active in beforeAll).
 */

const YAML = `version: 1
cas:
  root: { commonName: Root, crlValidity: 7d }
  int: { issuer: root, commonName: Int, crlValidity: 4d }
servers:
  web: { issuer: int, altNames: [web.test] }
clients:
  alice: { issuer: int, altNames: [alice@web.test], revokeSuperseded: true }
  bob: { issuer: int, altNames: [bob@web.test], revoked: true, revokedReason: keyCompromise }
`;
const cfg = config(YAML);
const id = (name: string, c: Config = cfg) => c.identities.find((i) => i.name === name)!;
const NOW = at(DAY).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const entry = (over: Partial<IssuedCert>): IssuedCert => ({ name: "web", kind: "server", issuer: "int", serial: "a1", notAfter: iso(NOW + 10 * DAY), revoked: null, ...over });
/** The disk after a run at T0: each certificate with its own serial (the builders give them all one). */
function observed(edit: (o: ObservedState) => void = () => {}): ObservedState {
  const o = observedAfterRun(cfg, T0);
  let n = 0;
  for (const seen of o.identities.values()) seen.cert!.facts = { ...seen.cert!.facts, serial: `0${(++n).toString(16).toUpperCase()}F` };
  edit(o);
  return o;
}
const serialOf = (o: ObservedState, name: string) => normalSerial(o.identities.get(name)!.cert!.facts.serial);
type Act = Pick<IdentityAction, "action" | "key">;
const unchanged = (c: Config = cfg) => new Map<string, Act>(c.identities.map((i) => [i.name, { action: "unchanged", key: "none" }]));

describe("normalSerial", () => {
  it("lowercase, without leading zeros, but a zero stays one zero", () => {
    expect(["00AB", "ab", "0A0", "000", "0", "10"].map(normalSerial)).toEqual(["ab", "ab", "a0", "0", "0", "10"]);
  });
});

describe("decideRevoked: revoke while something is left, then revoked", () => {
  const bob = id("bob");
  const noFiles = (s: ObservedIdentity) => ((s.stamps = { cert: null, key: null, chain: undefined } as unknown as ObservedIdentity["stamps"]), (s.cert = null));
  const decide = (o: ObservedState, s = o.identities.get("bob")!, spec: IdentitySpec = bob) => decideRevoked(spec, s, o, NOW);

  it("files on disk: revoke, saying why and that its files go", () => {
    const o = observed();
    expect(decide(o)).toEqual({ name: "bob", kind: "client", issuer: "int", key: "none", action: "revoke", reasons: ["revoked in pki.yaml (keyCompromise)", "files removed"] });
  });

  it("no files, nothing in the ledger: revoked, with the day it was, when known", () => {
    const o = observed((o) => noFiles(o.identities.get("bob")!));
    expect(decide(o)).toEqual({ name: "bob", kind: "client", issuer: "int", key: "none", action: "revoked", reasons: ["revoked"] });
    o.state.revokedNames.set("bob", { kind: "client", at: "2027-01-01T10:00:00.000Z" });
    expect(decide(o).reasons).toEqual(["revoked 2027-01-01"]);
  });

  it("no files, but a certificate of its name in the ledger not yet revoked for this reason: revoke", () => {
    const with_ = (e: Partial<IssuedCert>) => observed((o) => (noFiles(o.identities.get("bob")!), o.state.issued.push(entry({ name: "bob", kind: "client", ...e }))));
    expect(decide(with_({}))).toMatchObject({ action: "revoke", reasons: ["revoked in pki.yaml (keyCompromise)"] });
    expect(decide(with_({ revoked: { at: iso(T0.getTime()), reason: "unspecified" } })).action).toBe("revoke");
    expect(decide(with_({ revoked: { at: iso(T0.getTime()), reason: "keyCompromise" } })).action).toBe("revoked");
    // Superseded before the name was revoked: that certificate is in the CRL already.
    expect(decide(with_({ revoked: { at: iso(T0.getTime()), reason: "superseded" } })).action).toBe("revoked");
    // Another name, or the same name of another kind, or an expired certificate: nothing pending.
    expect(decide(with_({ name: "alice" })).action).toBe("revoked");
    expect(decide(with_({ kind: "server" })).action).toBe("revoked");
    expect(decide(with_({ notAfter: iso(NOW) })).action).toBe("revoked");
    expect(decide(with_({ notAfter: iso(NOW + 1) })).action).toBe("revoke");
  });

  it("an expired revoked certificate still listed by the CRL on disk is live: pending when its reason differs", () => {
    const listed = (reason: "unspecified" | "keyCompromise", crlSerial: string, issuer = "int") =>
      observed((o) => {
        noFiles(o.identities.get("bob")!);
        o.state.issued.push(entry({ name: "bob", kind: "client", serial: "b0", notAfter: iso(NOW - DAY), revoked: { at: iso(T0.getTime()), reason }, issuer }));
        o.crls.get("int")!.entries = [{ serial: crlSerial, revokedAt: iso(T0.getTime()), reason }];
      });
    expect(decide(listed("unspecified", "00B0")).action).toBe("revoke");
    expect(decide(listed("unspecified", "b1")).action).toBe("revoked");
    expect(decide(listed("unspecified", "b0", "root")).action).toBe("revoked");
    expect(decide(listed("keyCompromise", "b0")).action).toBe("revoked");
  });

  it("a certificate on disk the ledger does not list as revoked: revoke; listed as revoked (any spelling): revoked", () => {
    const withCert = (ledgerSerial: string | null) =>
      observed((o) => {
        const s = o.identities.get("bob")!;
        s.stamps = {} as ObservedIdentity["stamps"];
        if (ledgerSerial) o.state.issued.push(entry({ name: "bob", kind: "client", serial: ledgerSerial, revoked: { at: iso(T0.getTime()), reason: "keyCompromise" } }));
      });
    expect(decide(withCert(null))).toMatchObject({ action: "revoke", reasons: ["revoked in pki.yaml (keyCompromise)"] });
    const o = withCert("0");
    expect(decide(o).action).toBe("revoke");
    const serial = serialOf(observed(), "bob");
    expect(decide(withCert(serial)).action).toBe("revoked");
    // An unrevoked entry of that serial (here under bob's name as a server) does not vouch for it either.
    expect(decide(observed((o) => ((o.identities.get("bob")!.stamps = {} as ObservedIdentity["stamps"]), o.state.issued.push(entry({ name: "bob", kind: "server", serial }))))).action).toBe("revoke");
    // A ledger entry of that serial under another name does not vouch for it.
    expect(decide(observed((o) => ((o.identities.get("bob")!.stamps = {} as ObservedIdentity["stamps"]), o.state.issued.push(entry({ name: "alice", kind: "client", serial, revoked: { at: iso(T0.getTime()), reason: "keyCompromise" } }))))).action).toBe("revoke");
  });

  it("a CA: its crl.pem on disk counts as a file; a missing one does not", () => {
    const revokedCa = config(`version: 1\ncas:\n  root: { commonName: Root }\n  int: { issuer: root, commonName: Int, revoked: true }\n`);
    const o = observedAfterRun(revokedCa, T0);
    const s = o.identities.get("int")!;
    noFiles(s);
    expect(decideRevoked(id("int", revokedCa), s, o, NOW).reasons).toEqual(["revoked in pki.yaml (unspecified)", "files removed"]);
    o.crls.get("int")!.pem = null;
    expect(decideRevoked(id("int", revokedCa), s, o, NOW).action).toBe("revoked");
    o.crls.delete("int");
    expect(decideRevoked(id("int", revokedCa), s, o, NOW).action).toBe("revoked");
  });
});

describe("ledgerAfterRun: the certificates provision knows of", () => {
  const ledger = (o: ObservedState, c: Config = cfg, actions = unchanged(c), prune = false, requests: Parameters<typeof ledgerAfterRun>[5] = []) => ledgerAfterRun(c, o, actions, NOW, prune, requests);
  const noBob = config(YAML.replace(/\n {2}bob:.*/, ""));

  it("every unexpired certificate on disk with an issuer, its serial normalised; roots and expired ones are not", () => {
    const o = observed();
    const { ledger: l, revocations } = ledger(o, noBob);
    expect(l).toEqual([
      { name: "int", kind: "ca", issuer: "root", serial: serialOf(o, "int"), notAfter: o.identities.get("int")!.cert!.facts.notAfter, revoked: null },
      { name: "web", kind: "server", issuer: "int", serial: serialOf(o, "web"), notAfter: o.identities.get("web")!.cert!.facts.notAfter, revoked: null },
      { name: "alice", kind: "client", issuer: "int", serial: serialOf(o, "alice"), notAfter: o.identities.get("alice")!.cert!.facts.notAfter, revoked: null },
    ]);
    expect(revocations).toEqual([]);
    const webNotAfter = Date.parse(o.identities.get("web")!.cert!.facts.notAfter);
    expect(ledgerAfterRun(noBob, o, unchanged(noBob), webNotAfter, false).ledger.map((e) => e.name)).toEqual(["int"]);
    expect(ledgerAfterRun(noBob, o, unchanged(noBob), webNotAfter - 1, false).ledger.map((e) => e.name)).toEqual(["int", "web", "alice"]);
  });

  it("an external CA is not recorded; a recorded entry is kept as it is, not replaced", () => {
    const ext = { ...noBob, identities: noBob.identities.map((i) => (i.name === "int" ? { ...i, external: { cert: "int.pem", key: "int.key", chain: null } } : i)) };
    const o = observed((o) => o.state.issued.push(entry({ serial: "02f", notAfter: iso(NOW + 5 * DAY), revoked: { at: "2027-01-01T05:00:00.000Z", reason: "unspecified" } })));
    const l = ledger(o, ext).ledger;
    expect(l.map((e) => e.name)).toEqual(["web", "web", "alice"]);
    expect(l[0]).toMatchObject({ serial: "02f", revoked: { reason: "unspecified" } });
  });

  it("state.json entries: expired ones leave, unless revoked and still listed by their CA's signed CRL", () => {
    const o = observed((o) => {
      o.state.issued.push(entry({ serial: "e1", notAfter: iso(NOW), revoked: { at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" } }));
      o.state.issued.push(entry({ serial: "e2", notAfter: iso(NOW - 1) }));
      o.state.issued.push(entry({ serial: "e3", notAfter: iso(NOW - 1), revoked: { at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" } }));
      o.crls.get("int")!.entries = [{ serial: "00E1", revokedAt: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" }];
      o.crls.get("root")!.entries = [{ serial: "e3", revokedAt: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" }];
    });
    expect(ledger(o, noBob).ledger.filter((e) => e.serial.startsWith("e")).map((e) => e.serial)).toEqual(["e1"]);
  });

  it("an orphan issued before the ledger: recorded under the CA whose subject its issuer names; never a self-signed one", () => {
    const orphan = (name: string, issuerCn: string | null, subjectCn: string, notAfter = iso(NOW + DAY), more: Record<string, string> = {}) =>
      observed((o) => {
        o.orphans.push({ name, kind: "server", notAfter });
        o.state.identities.set(name, { kind: "server", certSha256: "", keySha256: "", passphraseEnv: null, issuerFingerprint: null, facts: { serial: "0C0", notAfter, subject: { commonName: subjectCn }, ...(issuerCn === null ? {} : { issuer: { commonName: issuerCn, ...more } }) } as never });
      });
    const names = (o: ObservedState) => ledger(o, noBob).ledger.filter((e) => e.name === "old").map((e) => `${e.issuer}:${e.serial}`);
    expect(names(orphan("old", "Int", "old.test"))).toEqual(["int:c0"]);
    expect(names(orphan("old", "Root", "old.test"))).toEqual(["root:c0"]);
    expect(names(orphan("old", "Int", "Int"))).toEqual([]);
    expect(names(orphan("old", "Gone", "old.test"))).toEqual([]);
    // Only a CA can have issued it: a server whose subject the issuer names is not taken for its issuer.
    expect(names(orphan("old", id("web").subject.commonName!, "old.test"))).toEqual([]);
    expect(names(orphan("old", "Int", "old.test", iso(NOW)))).toEqual([]);
    expect(names(orphan("old", null, "old.test"))).toEqual([]);
    // Every subject field counts: an issuer with an organization the CA does not have is another CA.
    expect(names(orphan("old", "Int", "old.test", iso(NOW + DAY), { organization: "Acme" }))).toEqual([]);
    const noSubject = observed((o) => {
      o.orphans.push({ name: "old", kind: "server", notAfter: null });
      o.state.identities.set("old", { kind: "server", certSha256: "", keySha256: "", passphraseEnv: null, issuerFingerprint: null, facts: { serial: "c0", notAfter: iso(NOW + DAY), issuer: { commonName: "Int" } } as never });
    });
    expect(names(noSubject)).toEqual([]);
  });

  it("revoked: true marks every unexpired certificate of that name and kind, at this run's time, once", () => {
    const o = observed((o) => {
      o.state.issued.push(entry({ name: "bob", kind: "client", serial: "b1" }));
      o.state.issued.push(entry({ name: "bob", kind: "server", serial: "b2" }));
      o.state.issued.push(entry({ name: "bob", kind: "client", serial: "b3", revoked: { at: "2026-12-01T00:00:00.000Z", reason: "superseded" } }));
      o.state.issued.push(entry({ name: "bob", kind: "client", serial: "b4", revoked: { at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" } }));
      o.state.issued.push(entry({ name: "bob", kind: "client", serial: "b5", revoked: { at: "2026-12-01T00:00:00.000Z", reason: "unspecified" } }));
    });
    const { ledger: l, revocations } = ledger(o);
    const bobSerial = serialOf(o, "bob");
    expect(revocations).toEqual([
      { name: "bob", kind: "client", issuer: "int", serial: "b1", reason: "keyCompromise", why: "revoked in pki.yaml" },
      { name: "bob", kind: "client", issuer: "int", serial: "b5", reason: "keyCompromise", why: "revoked in pki.yaml" },
      { name: "bob", kind: "client", issuer: "int", serial: bobSerial, reason: "keyCompromise", why: "revoked in pki.yaml" },
    ]);
    const by = (serial: string) => l.find((e) => e.serial === serial)!.revoked;
    expect(by("b1")).toEqual({ at: iso(NOW), reason: "keyCompromise" });
    // A changed reason keeps the first revocation's time.
    expect(by("b5")).toEqual({ at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" });
    expect(by("b2")).toBeNull();
    expect(by("b3")).toEqual({ at: "2026-12-01T00:00:00.000Z", reason: "superseded" });
  });

  it("--prune revokes a pruned orphan's certificates (cessationOfOperation); without it, or once revoked, nothing", () => {
    const o = observed((o) => {
      o.orphans.push({ name: "old", kind: "server", notAfter: null });
      o.state.issued.push(entry({ name: "old", kind: "server", serial: "d1" }));
      o.state.issued.push(entry({ name: "old", kind: "client", serial: "d2" }));
      o.state.issued.push(entry({ name: "old", kind: "server", serial: "d3", revoked: { at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" } }));
    });
    expect(ledger(o, noBob, unchanged(noBob), true).revocations).toEqual([{ name: "old", kind: "server", issuer: "int", serial: "d1", reason: "cessationOfOperation", why: "removed from pki.yaml (--prune)" }]);
    expect(ledger(o, noBob, unchanged(noBob), false).revocations).toEqual([]);
  });

  it("revokeSuperseded: the current certificate, when this run replaces it under a new key", () => {
    const o = observed();
    const alice = serialOf(o, "alice");
    const run = (a: Act, c = noBob) => ledger(o, c, new Map([...unchanged(c), ["alice", a], ["web", a]])).revocations;
    expect(run({ action: "renew", key: "generate" })).toEqual([{ name: "alice", kind: "client", issuer: "int", serial: alice, reason: "superseded", why: "superseded by a certificate with a new key (revokeSuperseded)" }]);
    expect(run({ action: "reissue", key: "generate" })).toHaveLength(1);
    expect(run({ action: "create", key: "generate" })).toHaveLength(1);
    expect(run({ action: "renew", key: "reuse" })).toEqual([]);
    expect(run({ action: "unchanged", key: "generate" } as Act)).toEqual([]);
    expect(run({ action: "waiting", key: "generate" } as Act)).toEqual([]);
    expect(ledger(o, noBob, new Map([...unchanged(noBob)].filter(([n]) => n !== "alice"))).revocations).toEqual([]);
    // An older certificate of alice's in the ledger is not the one replaced.
    const older = observed((o) => o.state.issued.push(entry({ name: "alice", kind: "client", serial: "a0" })));
    expect(ledger(older, noBob, new Map([...unchanged(noBob), ["alice", { action: "renew", key: "generate" }]])).revocations.map((r) => r.serial)).toEqual([serialOf(older, "alice")]);
    // Without a certificate on disk there is nothing to supersede.
    const gone = observed((o) => ((o.identities.get("alice")!.cert = null), o.state.issued.push(entry({ name: "alice", kind: "client", serial: "a0" }))));
    expect(ledger(gone, noBob, new Map([...unchanged(noBob), ["alice", { action: "renew", key: "generate" }]])).revocations).toEqual([]);
  });

  it("revoked names: recorded at this run's time, kept from earlier runs; an unrevoked name that was revoked is refused", () => {
    const o = observed();
    expect([...ledger(o).revokedNames]).toEqual([["bob", { kind: "client", at: iso(NOW) }]]);
    o.state.revokedNames.set("bob", { kind: "client", at: "2026-06-01T00:00:00.000Z" });
    expect([...ledger(o).revokedNames]).toEqual([["bob", { kind: "client", at: "2026-06-01T00:00:00.000Z" }]]);
    o.state.revokedNames.set("web", { kind: "server", at: "2026-06-01T00:00:00.000Z" });
    const e = refusal(() => ledger(o));
    expect(e).toMatchObject({ code: "revoked-identity", message: "web was revoked on 2026-06-01; a revoked name cannot be used again", hint: "keep revoked: true on servers.web (its certificates stay in the CRL until they expire), and give the new identity another name" });
  });
});

describe("ledgerAfterRun: revocation by serial (revokeSerials)", () => {
  const noBob = config(YAML.replace(/\n {2}bob:.*/, ""));
  const run = (requests: Parameters<typeof ledgerAfterRun>[5], o = observed()) => ledgerAfterRun(noBob, o, unchanged(noBob), NOW, false, requests);
  const notAfter = iso(NOW + DAY);

  it("a serial unknown to the ledger: added under the CA (named after it unless a name is given), reason unspecified by default", () => {
    const { ledger: l, revocations } = run([{ ca: "int", serial: "00ABC", notAfter: "2027-01-03T00:00:00Z" }, { ca: "root", serial: "F", notAfter, reason: "keyCompromise", name: "gone" }]);
    expect(l.slice(-2)).toEqual([
      { name: "int", kind: "server", issuer: "int", serial: "abc", notAfter: "2027-01-03T00:00:00.000Z", revoked: { at: iso(NOW), reason: "unspecified" } },
      { name: "gone", kind: "server", issuer: "root", serial: "f", notAfter, revoked: { at: iso(NOW), reason: "keyCompromise" } },
    ]);
    expect(revocations).toEqual([
      { name: "int", kind: "server", issuer: "int", serial: "abc", reason: "unspecified", why: "revoked on request" },
      { name: "gone", kind: "server", issuer: "root", serial: "f", reason: "keyCompromise", why: "revoked on request" },
    ]);
  });

  it("a serial the ledger has: that entry is revoked; one revoked already is left as it is; an expired request is ignored", () => {
    const o = observed();
    const web = serialOf(o, "web");
    const { ledger: l, revocations } = run([{ ca: "int", serial: web.toUpperCase(), notAfter }], o);
    expect(l.filter((e) => e.serial === web)).toEqual([expect.objectContaining({ name: "web", kind: "server", revoked: { at: iso(NOW), reason: "unspecified" } })]);
    expect(revocations).toHaveLength(1);
    const revoked = observed((o) => o.state.issued.push(entry({ serial: "77", revoked: { at: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" } })));
    expect(run([{ ca: "int", serial: "77", notAfter, reason: "affiliationChanged" }], revoked).revocations).toEqual([]);
    expect(run([{ ca: "int", serial: "78", notAfter: iso(NOW) }]).revocations).toEqual([]);
    expect(run([{ ca: "int", serial: "78", notAfter: iso(NOW + 1) }]).revocations).toHaveLength(1);
  });

  it.each([
    [{ ca: "nope", serial: "1", notAfter: "2028-01-01T00:00:00Z" }, "cannot revoke serial 1 of nope: no CA of that name"],
    [{ ca: "web", serial: "1", notAfter: "2028-01-01T00:00:00Z" }, "cannot revoke serial 1 of web: no CA of that name"],
    [{ ca: "int", serial: "xyz", notAfter: "2028-01-01T00:00:00Z" }, "cannot revoke serial xyz of int: malformed serial, notAfter or name"],
    [{ ca: "int", serial: "", notAfter: "2028-01-01T00:00:00Z" }, "cannot revoke serial  of int: malformed serial, notAfter or name"],
    [{ ca: "int", serial: "1".repeat(129), notAfter: "2028-01-01T00:00:00Z" }, `cannot revoke serial ${"1".repeat(129)} of int: malformed serial, notAfter or name`],
    [{ ca: "int", serial: "1 2", notAfter: "2028-01-01T00:00:00Z" }, "cannot revoke serial 1 2 of int: malformed serial, notAfter or name"],
    [{ ca: "int", serial: "1", notAfter: "soon" }, "cannot revoke serial 1 of int: malformed serial, notAfter or name"],
    [{ ca: "int", serial: "1", notAfter: "2028-01-01T00:00:00Z", name: "../x" }, "cannot revoke serial 1 of int: malformed serial, notAfter or name"],
  ])("refused: %j", (request, message) => {
    expect(refusal(() => run([request]))).toMatchObject({ code: "bad-flag", message });
  });

  it("accepted at the limits: 128 hex digits, a safe name", () => {
    expect(run([{ ca: "int", serial: "F".repeat(128), notAfter, name: "old-web" }]).revocations).toEqual([expect.objectContaining({ name: "old-web", serial: "f".repeat(128) })]);
  });
});

describe("signsCrl: provision signs a CA's CRL when it holds the key and the CA has a certificate", () => {
  it("CAs only, with a CRL, not revoked, not keyless external; with a certificate or one being issued", () => {
    const o = observedAfterRun(cfg, T0);
    const int = id("int");
    expect(signsCrl(int, o.identities.get("int"), { action: "unchanged" })).toBe(true);
    expect(signsCrl(int, { ...o.identities.get("int")!, cert: null }, { action: "unchanged" })).toBe(false);
    expect(signsCrl(int, undefined, undefined)).toBe(false);
    for (const action of ["create", "reissue", "renew"] as const) expect(signsCrl(int, undefined, { action })).toBe(true);
    expect(signsCrl(int, undefined, { action: "waiting" })).toBe(false);
    expect(signsCrl(id("web"), o.identities.get("web"), { action: "create" })).toBe(false);
    expect(signsCrl({ ...int, crl: null }, o.identities.get("int"), { action: "create" })).toBe(false);
    expect(signsCrl({ ...int, revoked: { reason: "unspecified" } }, o.identities.get("int"), { action: "create" })).toBe(false);
    expect(signsCrl({ ...int, external: { cert: "c", key: null, chain: null } }, o.identities.get("int"), { action: "unchanged" })).toBe(false);
    expect(signsCrl({ ...int, external: { cert: "c", key: "k", chain: null } }, o.identities.get("int"), { action: "unchanged" })).toBe(true);
  });
});

describe("planCrls: each CA's CRL after the run", () => {
  const HOUR = 3_600_000;
  const acts = (over: Record<string, IdentityAction["action"]> = {}) => new Map(cfg.identities.map((i) => [i.name, { action: over[i.name] ?? "unchanged", key: "none" } as IdentityAction]));
  const plan = (o: ObservedState, now = NOW, ledger: IssuedCert[] = [], actions = acts()) => planCrls(cfg, o, actions, ledger, now);
  const crl = (r: ReturnType<typeof plan>, ca: string) => r.crls.find((c) => c.ca === ca)!;
  const revokedEntry = (serial: string, reason: "keyCompromise" | "superseded" = "keyCompromise", at = "2027-01-01T12:00:00.000Z", issuer = "int") => entry({ name: "web", serial, issuer, revoked: { at, reason } });

  it("as last signed and outside its window: unchanged, with its number, times and the time it will be refreshed", () => {
    const o = observedAfterRun(cfg, T0);
    const r = plan(o);
    expect(crl(r, "int")).toEqual({
      ca: "int", action: "unchanged", reasons: [], number: 1, revoked: [],
      thisUpdate: iso(T0.getTime() - 300_000), nextUpdate: iso(T0.getTime() - 300_000 + 4 * DAY), refreshAt: iso(T0.getTime() - 300_000 + 2 * DAY),
      files: { pem: `${cfg.outputDir}/cas/int/crl.pem`, der: `${cfg.outputDir}/cas/int/crl.der` },
    });
    expect(r.bundleStale).toBe(false);
    o.crls.get("int")!.number = null;
    expect(crl(plan(o), "int").number).toBe(0);
  });

  it("none on disk: created (number 1, thisUpdate five minutes back); one recorded but missing: refreshed above the recorded number", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.delete("int");
    expect(crl(plan(o), "int")).toMatchObject({ action: "create", reasons: ["new"], number: 1, thisUpdate: iso(NOW - 300_000), nextUpdate: iso(NOW - 300_000 + 4 * DAY), refreshAt: iso(NOW - 300_000 + 2 * DAY) });
    o.state.crls.set("int", { number: 6, thisUpdate: "", nextUpdate: "" });
    expect(crl(plan(o), "int")).toMatchObject({ action: "refresh", reasons: ["crl.pem missing"], number: 1 });
    o.crls.set("int", { ca: "int", pem: null, problem: "missing", number: 6, thisUpdate: null, nextUpdate: null, entries: [] });
    expect(crl(plan(o), "int")).toMatchObject({ action: "refresh", reasons: ["crl.pem missing"], number: 7 });
    o.state.crls.delete("int");
    expect(crl(plan(o), "int")).toMatchObject({ action: "create", reasons: ["new"], number: 7 });
  });

  it("not what it should be: refreshed with the problem as the reason", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.get("int")!.problem = "crl.der differs from crl.pem";
    expect(crl(plan(o), "int")).toMatchObject({ action: "refresh", reasons: ["crl.der differs from crl.pem"], number: 2 });
  });

  it("its CA certificate created or re-issued: refreshed; renewed (same key): not", () => {
    const o = observedAfterRun(cfg, T0);
    expect(crl(plan(o, NOW, [], acts({ int: "reissue" })), "int").reasons).toEqual(["CA certificate re-issued"]);
    expect(crl(plan(o, NOW, [], acts({ int: "create" })), "int").reasons).toEqual(["CA certificate re-issued"]);
    expect(crl(plan(o, NOW, [], acts({ int: "renew" })), "int").action).toBe("unchanged");
    o.crls.delete("int");
    expect(crl(plan(o, NOW, [], acts({ int: "create" })), "int").reasons).toEqual(["new"]);
  });

  it("entries: the ledger's unexpired revoked certificates of this CA, plus what the signed CRL lists that the ledger lacks, in serial order", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.get("int")!.entries = [{ serial: "00FF", revokedAt: "2026-12-24T00:00:00.000Z", reason: "cessationOfOperation" }, { serial: "A2", revokedAt: "2027-01-01T12:00:00.000Z", reason: "keyCompromise" }];
    const ledger = [revokedEntry("a2"), revokedEntry("1b"), revokedEntry("a10"), revokedEntry("c3", "keyCompromise", "2027-01-01T12:00:00.000Z", "root"), entry({ serial: "d4" }), { ...revokedEntry("e5"), notAfter: iso(NOW) }];
    const c = crl(plan(o, NOW, ledger), "int");
    expect(c.revoked).toEqual([
      { serial: "1b", name: "web", reason: "keyCompromise", revokedAt: "2027-01-01T12:00:00.000Z" },
      { serial: "a2", name: "web", reason: "keyCompromise", revokedAt: "2027-01-01T12:00:00.000Z" },
      { serial: "ff", name: null, reason: "cessationOfOperation", revokedAt: "2026-12-24T00:00:00.000Z" },
      { serial: "a10", name: "web", reason: "keyCompromise", revokedAt: "2027-01-01T12:00:00.000Z" },
    ]);
    expect(c).toMatchObject({ action: "refresh", reasons: ["entries changed (+2 revoked)"], number: 2 });
    // An entry the ledger knows (even unrevoked) is the ledger's to decide.
    const known = crl(plan(o, NOW, [entry({ serial: "ff" }), revokedEntry("a2")]), "int");
    expect(known.revoked.map((e) => e.serial)).toEqual(["a2"]);
    expect(known.reasons).toEqual(["entries changed (-1 expired or updated)"]);
  });

  it("entries compared by serial, reason and time (however spelled): added, removed, both", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.get("int")!.entries = [{ serial: "0A1", revokedAt: "2027-01-01T12:00:00Z", reason: "keyCompromise" }];
    expect(crl(plan(o, NOW, [revokedEntry("a1", "keyCompromise", "2027-01-01T12:00:00.000Z")]), "int").action).toBe("unchanged");
    expect(crl(plan(o, NOW, [revokedEntry("a1", "superseded")]), "int").reasons).toEqual(["entries changed (+1 revoked, -1 expired or updated)"]);
    expect(crl(plan(o, NOW, [revokedEntry("a1", "keyCompromise", "2027-01-01T12:00:01.000Z")]), "int").reasons).toEqual(["entries changed (+1 revoked, -1 expired or updated)"]);
    expect(crl(plan(o, NOW, [revokedEntry("a1"), revokedEntry("b1"), revokedEntry("b2")]), "int").reasons).toEqual(["entries changed (+2 revoked)"]);
  });

  it("crlValidity changed: refreshed, saying from what to what", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.get("int")!.nextUpdate = iso(T0.getTime() - 300_000 + 3 * DAY);
    expect(crl(plan(o), "int").reasons).toEqual(["crlValidity changed (3d → 4d)"]);
  });

  it("inside its refresh window (a fraction, or a duration as written) or expired: refreshed, saying so", () => {
    const o = observedAfterRun(cfg, T0);
    const next = T0.getTime() - 300_000 + 4 * DAY;
    expect(crl(plan(o, next - 2 * DAY - 1), "int").action).toBe("unchanged");
    expect(crl(plan(o, next - 2 * DAY), "int").reasons).toEqual(["expires in 2d (window 1/2 of 4d = 2d)"]);
    expect(crl(plan(o, next - 1), "int").reasons).toEqual(["expires in 1m (window 1/2 of 4d = 2d)"]);
    expect(crl(plan(o, next), "int").reasons).toEqual(["expired 1m ago"]);
    expect(crl(plan(o, next + 3 * HOUR), "int").reasons).toEqual(["expired 3h ago"]);
    const hours = config(YAML.replace("crlValidity: 4d }", "crlValidity: 4d, crlRefreshBefore: 12h }"));
    const oh = observedAfterRun(hours, T0);
    const p = (now: number) => planCrls(hours, oh, new Map(hours.identities.map((i) => [i.name, { action: "unchanged", key: "none" } as IdentityAction])), [], now).crls.find((c) => c.ca === "int")!;
    expect(p(next - 12 * HOUR - 1)).toMatchObject({ action: "unchanged", refreshAt: iso(next - 12 * HOUR) });
    expect(p(next - 12 * HOUR).reasons).toEqual(["expires in 12h (window 12h)"]);
    expect(p(NOW).refreshAt).toBe(iso(next - 12 * HOUR));
    // A new CRL's refresh time, with the duration.
    oh.crls.delete("int");
    expect(p(NOW).refreshAt).toBe(iso(NOW - 300_000 + 4 * DAY - 12 * HOUR));
  });

  it("no CRL for a CA provision does not sign for; crl-bundle.pem stale only when every CRL is kept and it differs", () => {
    const o = observedAfterRun(cfg, T0);
    expect(plan(o).crls.map((c) => c.ca)).toEqual(["root", "int"]);
    const noCert = observedAfterRun(cfg, T0);
    noCert.identities.get("int")!.cert = null;
    expect(plan(noCert).crls.map((c) => c.ca)).toEqual(["root"]);
    o.crlBundlePem = "CRL(int)\nCRL(root)\n";
    expect(plan(o).bundleStale).toBe(true);
    o.crlBundlePem = "CRL(root)\nCRL(int)\n";
    expect(plan(o).bundleStale).toBe(false);
    o.crlBundlePem = "stale";
    expect(plan(o, NOW, [], acts({ int: "reissue" })).bundleStale).toBe(false);
    const none = { ...cfg, identities: cfg.identities.map((i) => ({ ...i, crl: null })) };
    expect(planCrls(none, { ...o, crlBundlePem: "x" }, acts(), [], NOW)).toEqual({ crls: [], bundleStale: false });
  });
});

// Survivors of the mutation run of revocation.ts (docs/MUTATION.md), each a way the ledger or a CRL could quietly
// lose or change a revocation.
describe("what a run must not change in the ledger or a CRL", () => {
  const noBob = config(YAML.replace(/\n {2}bob:.*/, ""));

  it("normalSerial strips leading zeros only: zeros inside a serial stay", () => {
    expect(["A00B", "100a", "0A00"].map(normalSerial)).toEqual(["a00b", "100a", "a00"]);
  });

  it("an expired, unrevoked entry leaves the ledger even when a CRL still lists its serial", () => {
    const o = observed((o) => {
      o.state.issued.push(entry({ serial: "e4", notAfter: iso(NOW - 1) }));
      o.crls.get("int")!.entries = [{ serial: "E4", revokedAt: "2026-12-01T00:00:00.000Z", reason: "keyCompromise" }];
    });
    expect(ledgerAfterRun(noBob, o, unchanged(noBob), NOW, false).ledger.map((e) => e.serial)).not.toContain("e4");
  });

  it("the current certificate revoked in an earlier run (by serial) stays revoked, with its reason and time", () => {
    const o = observed();
    const web = serialOf(o, "web");
    o.state.issued.push(entry({ serial: web, notAfter: o.identities.get("web")!.cert!.facts.notAfter, revoked: { at: "2027-01-01T05:00:00.000Z", reason: "keyCompromise" } }));
    const { ledger, revocations } = ledgerAfterRun(noBob, o, unchanged(noBob), NOW, false);
    expect(ledger.find((e) => e.serial === web)!.revoked).toEqual({ at: "2027-01-01T05:00:00.000Z", reason: "keyCompromise" });
    expect(revocations).toEqual([]);
  });

  it("revokeSuperseded does not turn a certificate already revoked for another reason into 'superseded'", () => {
    const o = observed();
    const alice = serialOf(o, "alice");
    o.state.issued.push(entry({ name: "alice", kind: "client", serial: alice, notAfter: o.identities.get("alice")!.cert!.facts.notAfter, revoked: { at: "2027-01-01T05:00:00.000Z", reason: "keyCompromise" } }));
    const { ledger, revocations } = ledgerAfterRun(noBob, o, new Map([...unchanged(noBob), ["alice", { action: "renew", key: "generate" }]]), NOW, false);
    expect(ledger.find((e) => e.serial === alice)!.revoked).toEqual({ at: "2027-01-01T05:00:00.000Z", reason: "keyCompromise" });
    expect(revocations).toEqual([]);
  });

  it("a CRL keeps an entry its own CA's ledger lacks, even when another CA's ledger has that serial", () => {
    const o = observedAfterRun(cfg, T0);
    o.crls.get("int")!.entries = [{ serial: "F1", revokedAt: "2026-12-24T00:00:00.000Z", reason: "keyCompromise" }];
    const c = planCrls(cfg, o, new Map(cfg.identities.map((i) => [i.name, { action: "unchanged", key: "none" } as IdentityAction])), [entry({ issuer: "root", serial: "f1" })], NOW).crls.find((c) => c.ca === "int")!;
    expect(c.revoked).toEqual([{ serial: "f1", name: null, reason: "keyCompromise", revokedAt: "2026-12-24T00:00:00.000Z" }]);
  });
});
