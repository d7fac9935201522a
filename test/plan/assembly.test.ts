import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build.js";
import type { Plan } from "../../src/plan/types.js";
import type { ObservedState } from "../../src/store/read-state.js";
import { at, config, DAY, factsOf, observedAfterRun, T0 } from "./builders.js";

/**
 * plan/build.ts's buildPlan around the per-identity decisions: orphans (moved or gone, kept or pruned), loose
 * private files, retired roots (planRetired, lastExpiryUnder) and their notes, the time, the options it passes
 * through (prune, revokeSerials, pendingHooks) and the refreshed derived files. Plain data in, the plan out.
 */

const YAML = `version: 1
cas:
  root: { commonName: Root, validity: 10y }
  int: { issuer: root, commonName: Int, validity: 2y }
servers:
  web: { issuer: int, altNames: [web.test], validity: 30d, afterChange: "reload web" }
clients:
  bob: { issuer: root, altNames: [bob@web.test], validity: 400d }
`;
const cfg = config(YAML);
const out = (...parts: string[]) => path.join(cfg.outputDir, ...parts);
const action = (p: Plan, name: string) => p.actions.find((a) => a.name === name)!;
const fp = (c: string) => c.repeat(64);
const retiredEntry = (ca: string, c: string, until: number, pem: string | null = `OLD(${c})\n`) => ({ ca, fingerprint: fp(c), notAfter: new Date(until).toISOString(), until: new Date(until).toISOString(), pem });

describe("orphans", () => {
  it("gone from pki.yaml, or moved to another section: said so, kept or deleted, with their old files", () => {
    const orphans: ObservedState["orphans"] = [{ name: "old", kind: "server", notAfter: at(9 * DAY).toISOString() }, { name: "bob", kind: "server", notAfter: null }, { name: "int", kind: "client", notAfter: null }];
    const kept = buildPlan(cfg, observedAfterRun(cfg, T0, {}, { orphans }), at(DAY));
    expect(kept.actions.slice(-3)).toEqual([
      { name: "old", kind: "server", action: "orphaned", reasons: ["not in pki.yaml: files kept (run with --prune to delete them)"], key: "none", issuer: null, notBefore: null, notAfter: at(9 * DAY).toISOString(), files: { cert: out("servers/old/cert.pem"), key: out("servers/old/key.pem"), chain: out("servers/old/chain.pem"), fullchain: out("servers/old/fullchain.pem") } },
      expect.objectContaining({ name: "bob", kind: "server", reasons: ["moved to clients in pki.yaml: old server files kept (run with --prune to delete them)"], notAfter: null }),
      expect.objectContaining({ name: "int", kind: "client", reasons: ["moved to cas in pki.yaml: old client files kept (run with --prune to delete them)"] }),
    ]);
    const pruned = buildPlan(cfg, observedAfterRun(cfg, T0, {}, { orphans }), at(DAY), { prune: true });
    expect(pruned.actions.slice(-3).map((a) => a.reasons[0])).toEqual(["not in pki.yaml: files deleted (--prune)", "moved to clients in pki.yaml: old server files deleted (--prune)", "moved to cas in pki.yaml: old client files deleted (--prune)"]);
    expect([pruned.prune, kept.prune]).toEqual([true, false]);
    // --prune revokes a pruned orphan's certificates; without it (the default) nothing is revoked.
    const withLedger = () => {
      const o = observedAfterRun(cfg, T0, {}, { orphans });
      o.state.issued.push({ name: "old", kind: "server", issuer: "int", serial: "c0ffee", notAfter: at(9 * DAY).toISOString(), revoked: null });
      return o;
    };
    expect(buildPlan(cfg, withLedger(), at(DAY), { prune: true }).revocations).toEqual([expect.objectContaining({ name: "old", serial: "c0ffee", reason: "cessationOfOperation" })]);
    expect(buildPlan(cfg, withLedger(), at(DAY)).revocations).toEqual([]);
    // An orphaned CA's files: no chain files.
    const ca = buildPlan(cfg, observedAfterRun(cfg, T0, {}, { orphans: [{ name: "oldca", kind: "ca", notAfter: null }] }), at(DAY));
    expect(action(ca, "oldca").files).toEqual({ cert: out("cas/oldca/cert.pem"), key: out("cas/oldca/key.pem") });
    expect(action(ca, "web").files).toEqual({ cert: out("servers/web/cert.pem"), key: out("servers/web/key.pem"), chain: out("servers/web/chain.pem"), fullchain: out("servers/web/fullchain.pem") });
  });
});

describe("what buildPlan passes through and adds", () => {
  it("the time, to the second; the revocation requests; the problems read as notes; hooks pending from an earlier run", () => {
    const o = observedAfterRun(cfg, T0);
    o.problems.push("state.json: an entry was ignored");
    const requests = [{ ca: "int", serial: "ab", notAfter: at(5 * DAY).toISOString() }];
    const p = buildPlan(cfg, o, new Date(at(DAY).getTime() + 999), { revokeSerials: requests, pendingHooks: [{ name: "web", action: "renew" }] });
    expect(p.now).toBe(at(DAY).toISOString());
    expect(p.revokeRequests).toEqual(requests);
    expect(p.revokeRequests).not.toBe(requests);
    expect(p.revocations).toEqual([{ name: "int", kind: "server", issuer: "int", serial: "ab", reason: "unspecified", why: "revoked on request" }]);
    expect(p.notes).toEqual(["state.json: an entry was ignored"]);
    expect(p.hooks).toEqual([{ name: "web", kind: "server", action: "retry", command: "reload web", timeoutSeconds: 300 }]);
    const quiet = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY));
    expect([quiet.revokeRequests, quiet.revocations, quiet.hooks, quiet.notes, quiet.refresh, quiet.permissions, quiet.retired, quiet.prune, quiet.version]).toEqual([[], [], [], [], [], [], [], false, 1]);
    // A hook for the identity issued in this run.
    expect(buildPlan(cfg, observedAfterRun(cfg, T0), at(29 * DAY)).hooks).toEqual([{ name: "web", kind: "server", action: "renew", command: "reload web", timeoutSeconds: 300 }]);
  });

  it("private files others may read: set back to 0600, with a note giving the mode they had; not for a revoked identity", () => {
    const o = observedAfterRun(cfg, T0);
    o.identities.get("web")!.loosePrivateFiles = [{ file: out("servers/web/key.pem"), mode: 0o644 }, { file: out("servers/web/identity.p12"), mode: 0o40 }];
    const p = buildPlan(cfg, o, at(DAY));
    expect(p.permissions).toEqual([{ file: out("servers/web/key.pem"), mode: 0o600, was: 0o644 }, { file: out("servers/web/identity.p12"), mode: 0o600, was: 0o40 }]);
    expect(p.notes).toEqual([`${out("servers/web/key.pem")} was readable by others (mode 0644); it is set back to 0600`, `${out("servers/web/identity.p12")} was readable by others (mode 0040); it is set back to 0600`]);
    const revoked = config(YAML.replace('afterChange: "reload web"', "revoked: true"));
    const or = observedAfterRun(revoked, T0);
    or.identities.get("web")!.loosePrivateFiles = [{ file: out("servers/web/key.pem"), mode: 0o644 }];
    expect(buildPlan(revoked, or, at(DAY)).permissions).toEqual([]);
  });

  it("an issuer issued anew: the chain files below it are rewritten with it, not listed to refresh; a damaged chain is", () => {
    const o = observedAfterRun(cfg, T0);
    o.identities.get("web")!.fullchainPem = "damaged";
    o.identities.get("web")!.trusted = false;
    expect(buildPlan(cfg, o, at(DAY)).refresh).toEqual([out("servers/web/fullchain.pem")]);
    o.identities.get("web")!.chainPem = "damaged";
    expect(buildPlan(cfg, o, at(DAY)).refresh).toEqual([out("servers/web/chain.pem"), out("servers/web/fullchain.pem")]);
    // Files as last written beside issuers as last written are trusted without comparing.
    o.identities.get("web")!.trusted = true;
    expect(buildPlan(cfg, o, at(DAY)).refresh).toEqual([]);
    o.identities.get("int")!.trusted = false;
    expect(buildPlan(cfg, o, at(DAY)).refresh).toEqual([out("servers/web/chain.pem"), out("servers/web/fullchain.pem")]);
    // int renewed: web's chain changes with it (listed), web's certificate does not.
    const renewing = observedAfterRun(cfg, T0, { int: { issuedAt: at(-700 * DAY) } });
    const p = buildPlan(cfg, renewing, at(DAY));
    expect(action(p, "int").action).toBe("renew");
    expect(p.refresh).toEqual([out("servers/web/chain.pem"), out("servers/web/fullchain.pem")]);
    // A missing format file of an identity not issued is listed; ca-bundle.pem that does not match, too.
    const missing = observedAfterRun(cfg, T0);
    missing.identities.get("bob")!.missingFormatFiles = [out("clients/bob/identity.p12")];
    missing.bundlePem = "old bundle";
    expect(buildPlan(cfg, missing, at(DAY)).refresh).toEqual([out("clients/bob/identity.p12"), out("ca-bundle.pem")]);
    // A key that is locked (its passphrase not set) leaves the certificate in use: its files are still checked.
    const locked = observedAfterRun(cfg, T0);
    Object.assign(locked.identities.get("web")!, { keyStatus: "locked", trusted: false, chainPem: "damaged", missingFormatFiles: [out("servers/web/key.der")] });
    expect(buildPlan(cfg, locked, at(DAY)).refresh).toEqual([out("servers/web/key.der"), out("servers/web/chain.pem")]);
    // An intermediate issued anew does not rewrite the bundle: a stale one is listed.
    const stale = observedAfterRun(cfg, T0, { int: { issuedAt: at(-700 * DAY) } });
    stale.bundlePem = "old bundle";
    expect(buildPlan(cfg, stale, at(DAY)).refresh).toEqual([out("servers/web/chain.pem"), out("servers/web/fullchain.pem"), out("ca-bundle.pem")]);
    // Two roots, one issued anew: the bundle is rewritten with it.
    const two = config(YAML.replace("cas:\n", "cas:\n  other: { commonName: Other, validity: 10y }\n"));
    const both = observedAfterRun(two, T0);
    both.bundlePem = "old bundle";
    expect(buildPlan(two, both, at(DAY), { rotateCaKeys: new Set(["other"]) }).refresh).toEqual([]);
    // A root issued anew rewrites the bundle anyway: not listed.
    const rotated = buildPlan(cfg, missing, at(DAY), { rotateCaKeys: new Set(["root"]) });
    expect(rotated.refresh).toEqual([]);
  });
});

describe("retired roots (planRetired)", () => {
  const retiredOf = (p: Plan) => p.retired.map((r) => `${r.ca}:${r.fingerprint.slice(0, 2)}:${r.action}:${r.reason}`);

  it("kept while inside the overlap, its certificate in the bundle; dropped at its end, with a note", () => {
    const until = at(30 * DAY).getTime();
    const o = { ...observedAfterRun(cfg, T0), retired: [retiredEntry("root", "a", until)] };
    o.bundlePem = "PEM(root)\nOLD(a)\n";
    const kept = buildPlan(cfg, o, new Date(until - 1000));
    expect(kept.retired).toEqual([{ ca: "root", fingerprint: fp("a"), notAfter: new Date(until).toISOString(), until: new Date(until).toISOString(), action: "keep", reason: `published until ${new Date(until).toISOString()}`, file: out("cas/root/retired/aaaaaaaaaaaaaaaa.pem") }]);
    expect(kept.refresh).toEqual([]);
    expect(kept.notes).toEqual([]);
    const dropped = buildPlan(cfg, o, new Date(until));
    expect(retiredOf(dropped)).toEqual([`root:aa:drop:its overlap ended ${new Date(until).toISOString()}`]);
    expect(dropped.notes).toEqual([`retired certificate aaaaaaaaaaaaaaaa of root leaves ca-bundle.pem: its overlap ended ${new Date(until).toISOString()}`]);
    expect(dropped.refresh).toEqual([out("ca-bundle.pem")]);
    // Two retired certificates of one root inside their overlaps (two rollovers): each publishes its own PEM.
    const two = { ...observedAfterRun(cfg, T0), retired: [retiredEntry("root", "a", until), retiredEntry("root", "b", until)] };
    two.bundlePem = "PEM(root)\nOLD(a)\nOLD(b)\n";
    expect(buildPlan(cfg, two, new Date(until - 1000)).refresh).toEqual([]);
  });

  it("dropped when its CA is no longer a root (or gone) or its file is not that certificate; listed once", () => {
    const until = at(30 * DAY).getTime();
    const o = { ...observedAfterRun(cfg, T0), retired: [retiredEntry("int", "b", until), retiredEntry("gone", "c", until), retiredEntry("root", "d", until, null), retiredEntry("root", "e", until), retiredEntry("root", "e", until), retiredEntry("bob", "f", until)] };
    expect(retiredOf(buildPlan(cfg, o, at(DAY)))).toEqual([
      "int:bb:drop:int is no longer a root in pki.yaml",
      "gone:cc:drop:gone is no longer a root in pki.yaml",
      "root:dd:drop:its file is missing or is not that certificate",
      `root:ee:keep:published until ${new Date(until).toISOString()}`,
      "bob:ff:drop:bob is no longer a root in pki.yaml",
    ]);
  });

  it("a renewed root: its old certificate added until it expires; not when it has expired; not twice", () => {
    const root = factsOf(cfg, cfg.identities[0]!, T0);
    const renewedAt = at(8 * 365 * DAY);
    const p = buildPlan(cfg, observedAfterRun(cfg, T0), renewedAt);
    expect(action(p, "root").action).toBe("renew");
    expect(p.retired).toEqual([{ ca: "root", fingerprint: root.fingerprint, notAfter: root.notAfter, until: root.notAfter, action: "add", reason: "renewed: published until the old certificate expires", file: out("cas/root/retired", `${root.fingerprint.slice(0, 16)}.pem`) }]);
    // Expired: nothing to keep publishing.
    const expired = buildPlan(cfg, observedAfterRun(cfg, T0), new Date(Date.parse(root.notAfter)));
    expect(action(expired, "root").action).toBe("renew");
    expect(expired.retired).toEqual([]);
    expect(buildPlan(cfg, observedAfterRun(cfg, T0), new Date(Date.parse(root.notAfter) - 1000)).retired).toHaveLength(1);
    // Already retired under that fingerprint: not added again.
    const again = { ...observedAfterRun(cfg, T0), retired: [{ ca: "root", fingerprint: root.fingerprint, notAfter: root.notAfter, until: root.notAfter, pem: "OLD\n" }] };
    expect(retiredOf(buildPlan(cfg, again, renewedAt))).toEqual([`root:${root.fingerprint.slice(0, 2)}:keep:published until ${root.notAfter}`]);
    // An older retired certificate of the same root, still kept, does not stop this one from being added.
    const older = { ...observedAfterRun(cfg, T0), retired: [retiredEntry("root", "a", Date.parse(root.notAfter))] };
    expect(retiredOf(buildPlan(cfg, older, renewedAt))).toEqual([`root:aa:keep:published until ${root.notAfter}`, `root:${root.fingerprint.slice(0, 2)}:add:renewed: published until the old certificate expires`]);
    // Another CA's retired certificate of the same fingerprint does not count.
    const other = { ...observedAfterRun(cfg, T0), retired: [{ ca: "int", fingerprint: root.fingerprint, notAfter: root.notAfter, until: root.notAfter, pem: "OLD\n" }] };
    expect(buildPlan(cfg, other, renewedAt).retired.map((r) => `${r.ca}:${r.action}`)).toEqual(["int:drop", "root:add"]);
  });

  it("a root whose key is rotated: kept until the last certificate under it expires, never past its own end", () => {
    const p = buildPlan(cfg, observedAfterRun(cfg, T0, { bob: { issuedAt: at(-10 * DAY) } }), at(DAY), { rotateCaKeys: new Set(["root"]) });
    const int = factsOf(cfg, cfg.identities[1]!, T0);
    expect(p.retired).toEqual([expect.objectContaining({ action: "add", until: int.notAfter, reason: "key rotated: published until the last certificate under the old key expires" })]);
    // The latest end under it wins: bob issued at day 400 for 400 days ends after int (T0 + 730d).
    const late = buildPlan(cfg, observedAfterRun(cfg, T0, { bob: { issuedAt: at(400 * DAY) } }), at(DAY), { rotateCaKeys: new Set(["root"]) });
    expect(late.retired[0]!.until).toBe(at(800 * DAY).toISOString());
    // A certificate below it that would end after the root itself: the root's end.
    const root = factsOf(cfg, cfg.identities[0]!, T0);
    const beyond = buildPlan(cfg, observedAfterRun(cfg, T0, { int: { issuedAt: at(9 * 365 * DAY) } }), at(DAY), { rotateCaKeys: new Set(["root"]) });
    expect(beyond.retired[0]!.until).toBe(root.notAfter);
    // Nothing under it on disk: until the epoch, i.e. not kept at all beyond this run.
    const alone = observedAfterRun(cfg, T0);
    for (const name of ["int", "web", "bob"]) alone.identities.get(name)!.cert = null;
    expect(buildPlan(cfg, alone, at(DAY), { rotateCaKeys: new Set(["root"]) }).retired[0]!.until).toBe(new Date(0).toISOString());
  });

  it("a second root's certificates do not stretch the rotated root's overlap", () => {
    const two = config(YAML.replace("servers:", "  root2: { commonName: Root2, validity: 10y }\nservers:").replace("clients:", "clients:\n  far: { issuer: root2, altNames: [far@web.test], validity: 3y }"));
    const p = buildPlan(two, observedAfterRun(two, T0), at(DAY), { rotateCaKeys: new Set(["root"]) });
    const int = factsOf(two, two.identities.find((i) => i.name === "int")!, T0);
    const far = factsOf(two, two.identities.find((i) => i.name === "far")!, T0);
    expect(Date.parse(far.notAfter)).toBeGreaterThan(Date.parse(int.notAfter));
    expect(p.retired).toEqual([expect.objectContaining({ ca: "root", action: "add", until: int.notAfter })]);
  });
});
