import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { buildPlan, type PlanOptions } from "../../src/plan/build.js";
import type { Plan } from "../../src/plan/types.js";
import type { ObservedIdentity, ObservedState } from "../../src/store/read-state.js";
import { nothingObserved } from "../../src/store/read-state.js";
import { at, config, DAY, observedAfterRun, T0 } from "./builders.js";
import { refusal } from "../helpers/refusal.js";

/**
 * plan/build.ts's passphrase checks (checkSignersAreUsable, keysToReencrypt, checkPassphrasesSet): which runs
 * need which variable, which keys are re-encrypted and why, and the error or note the user reads. Only the
 * names of the set variables reach the planner (PlanOptions.setEnvVars), never their values.
 */

const YAML = `version: 1
cas:
  root: { commonName: Root, passphraseEnv: ROOT_PASS }
servers:
  web: { issuer: root, altNames: [web.test], passphraseEnv: WEB_PASS, formats: [p12], p12PassphraseEnv: WEB_P12 }
clients:
  bob: { issuer: root, altNames: [bob@x.test] }
`;
const cfg = config(YAML);

type Edit = (seen: ObservedIdentity, observed: ObservedState) => void;
const encrypted: Edit = (s) => void (s.keyEncrypted = true);
function observed(c: Config, edits: Record<string, Edit> = {}): ObservedState {
  const o = observedAfterRun(c, T0);
  // As a run with these passphraseEnvs wrote them: the encrypted keys, their variables recorded.
  for (const id of c.identities) {
    o.identities.get(id.name)!.keyEncrypted = id.passphraseEnv !== null;
    o.state.identities.get(id.name)!.passphraseEnv = id.passphraseEnv;
  }
  for (const [name, edit] of Object.entries(edits)) edit(o.identities.get(name)!, o);
  return o;
}
const env = (...names: string[]) => new Set(names);
const plan = (o: ObservedState, options: PlanOptions = {}, c: Config = cfg, now = at(DAY)): Plan => buildPlan(c, o, now, options);


describe("signing needs the issuer's key (checkSignersAreUsable)", () => {
  it("a quiet run needs no passphrase at all", () => {
    expect(plan(observed(cfg), { setEnvVars: env() }).actions.map((a) => a.action)).toEqual(["unchanged", "unchanged", "unchanged"]);
  });

  it("a leaf to sign under an encrypted CA key: the CA's variable must be set; the recorded (old) name does too", () => {
    const bobGone: Edit = (s) => ((s.cert = null), (s.certProblem = "missing"));
    const e = refusal(() => plan(observed(cfg, { bob: bobGone }), { setEnvVars: env("WEB_PASS") }));
    expect(e).toMatchObject({ code: "passphrase-missing", message: "the key of root is encrypted and ROOT_PASS is not set or wrong", hint: "export ROOT_PASS=<passphrase> and run again" });
    expect(plan(observed(cfg, { bob: bobGone }), { setEnvVars: env("ROOT_PASS") }).actions.find((a) => a.name === "bob")!.action).toBe("reissue");
    const renamed: Edit = (_s, o) => void (o.state.identities.get("root")!.passphraseEnv = "OLD_ROOT_PASS");
    expect(() => plan(observed(cfg, { bob: bobGone, root: renamed }), { setEnvVars: env("OLD_ROOT_PASS", "ROOT_PASS") })).not.toThrow();
    // Without setEnvVars (a library caller that does not say), nothing is checked here.
    expect(() => plan(observed(cfg, { bob: bobGone }))).not.toThrow();
  });

  it("a locked key (its passphrase did not decrypt it) stops the plan whatever is set; an encrypted key without passphraseEnv says to add one", () => {
    const bobGone: Edit = (s) => ((s.cert = null), (s.certProblem = "missing"));
    expect(refusal(() => plan(observed(cfg, { bob: bobGone, root: (s) => void (s.keyStatus = "locked") }), { setEnvVars: env("ROOT_PASS") })).message).toBe("the key of root is encrypted and ROOT_PASS is not set or wrong");
    expect(refusal(() => plan(observed(cfg, { bob: bobGone, root: (s) => void (s.keyStatus = "locked") }))).code).toBe("passphrase-missing");
    const plain = config(YAML.replace(", passphraseEnv: ROOT_PASS", ""));
    const e = refusal(() => plan(observed(plain, { bob: bobGone, root: encrypted }), { setEnvVars: env("WEB_PASS") }, plain));
    expect(e.message).toBe("the key of root is encrypted and no passphraseEnv is configured");
    expect(e.hint).toBe("add passphraseEnv: <VARIABLE> to cas.root in pki.yaml");
  });

  it("a leaf renewed with its own encrypted key needs its variable; one with a new key does not (but writing it does)", () => {
    const web = cfg.identities.find((i) => i.name === "web")!;
    const expiring = at(Date.parse(new Date(T0.getTime() + web.validitySeconds * 1000).toISOString()) - T0.getTime());
    const keepKey = config(YAML.replace("passphraseEnv: WEB_PASS,", "passphraseEnv: WEB_PASS, rotateKey: never,"));
    expect(refusal(() => plan(observed(keepKey), { setEnvVars: env("ROOT_PASS", "WEB_P12") }, keepKey, expiring)).message).toBe("the key of web is encrypted and WEB_PASS is not set or wrong");
    expect(plan(observed(keepKey), { setEnvVars: env("ROOT_PASS", "WEB_PASS", "WEB_P12") }, keepKey, expiring).actions.find((a) => a.name === "web")).toMatchObject({ action: "renew", key: "reuse" });
    // A new key: the old one is not read, but the new one is written encrypted: WEB_PASS is needed for that.
    expect(refusal(() => plan(observed(cfg), { setEnvVars: env("ROOT_PASS", "WEB_P12") }, cfg, expiring)).message).toBe("WEB_PASS is not set: it holds the passphrase for the key of web");
  });

  it("a CRL to re-sign needs its CA's key; a CA whose key is new needs nothing to sign with", () => {
    const crlDue = (_s: ObservedIdentity, o: ObservedState) => void (o.crls.get("root")!.nextUpdate = at(-DAY).toISOString());
    const e = refusal(() => plan(observed(cfg, { root: crlDue }), { setEnvVars: env() }));
    expect(e.message).toBe("the key of root is encrypted and ROOT_PASS is not set or wrong (its CRL must be re-signed: root's crl.pem)");
    expect(() => plan(observed(cfg, { root: crlDue }), { setEnvVars: env("ROOT_PASS") })).not.toThrow();
    expect(refusal(() => plan(observed(cfg), { setEnvVars: env("WEB_PASS", "WEB_P12"), rotateCaKeys: new Set(["root"]) })).message).toBe("ROOT_PASS is not set: it holds the passphrase for the key of root");
    expect(() => plan(observed(cfg), { setEnvVars: env("ROOT_PASS", "WEB_PASS", "WEB_P12"), rotateCaKeys: new Set(["root"]) })).not.toThrow();
  });
});

describe("re-encryption (keysToReencrypt)", () => {
  const refreshed = (p: Plan) => p.refresh.filter((f) => f.endsWith("key.pem")).map((f) => f.split("/").slice(-2, -1)[0]);
  it("passphraseEnv added, removed or renamed: the key is rewritten with the same key material", () => {
    const added = config(YAML.replace("altNames: [bob@x.test]", "altNames: [bob@x.test], passphraseEnv: BOB_PASS"));
    const o = observed(added, { bob: (s, ob) => ((s.keyEncrypted = false), void (ob.state.identities.get("bob")!.passphraseEnv = null)) });
    expect(refreshed(plan(o, { setEnvVars: env("BOB_PASS") }, added))).toEqual(["bob"]);
    expect(refusal(() => plan(o, { setEnvVars: env() }, added)).message).toBe("BOB_PASS is not set: it holds the passphrase for the key of bob");
    const removed = config(YAML.replace(", passphraseEnv: WEB_PASS", ""));
    const o2 = observed(removed, { web: (s, ob) => ((s.keyEncrypted = true), void (ob.state.identities.get("web")!.passphraseEnv = "WEB_PASS")) });
    expect(refreshed(plan(o2, {}, removed))).toEqual(["web"]);
    const renamed = observed(cfg, { web: (_s, ob) => void (ob.state.identities.get("web")!.passphraseEnv = "WEB_OLD") });
    expect(refreshed(plan(renamed, { setEnvVars: env("WEB_OLD", "WEB_PASS", "WEB_P12") }))).toEqual(["web"]);
    // Encrypted as pki.yaml says, under the name it says, with no record of another: nothing to do.
    expect(refreshed(plan(observed(cfg, { web: (_s, ob) => void (ob.state.identities.get("web")!.passphraseEnv = null) })))).toEqual([]);
    expect(refreshed(plan(observed(cfg)))).toEqual([]);
  });

  it("a renamed variable whose key cannot be decrypted: stopped, naming both variables", () => {
    const o = observed(cfg, { web: (s, ob) => ((s.keyStatus = "locked"), void (ob.state.identities.get("web")!.passphraseEnv = "WEB_OLD")) });
    const e = refusal(() => plan(o, {}));
    expect(e).toMatchObject({ code: "passphrase-missing", message: "the key of web must be re-encrypted, but cannot be decrypted", hint: "set WEB_OLD or WEB_PASS to the passphrase the key was written with" });
    const plain = config(YAML.replace(", passphraseEnv: WEB_PASS", ""));
    const o2 = observed(plain, { web: (s, ob) => ((s.keyEncrypted = true), (s.keyStatus = "locked"), void (ob.state.identities.get("web")!.passphraseEnv = null)) });
    expect(refusal(() => plan(o2, {}, plain)).hint).toBe("set  to the passphrase the key was written with");
  });

  it("a key encrypted with the old weak scheme: re-encrypted when its passphrase is there, else a note", () => {
    const weak: Edit = (s) => void (s.keyEncryptionWeak = true);
    const now = plan(observed(cfg, { web: weak }), { setEnvVars: env("WEB_PASS", "WEB_P12") });
    expect(refreshed(now)).toEqual(["web"]);
    expect(now.notes).toContain("the key of web is re-encrypted with PBKDF2-HMAC-SHA256 at 600,000 iterations (it was written with a weaker scheme)");
    const later = plan(observed(cfg, { web: weak }), { setEnvVars: env() });
    expect(refreshed(later)).toEqual([]);
    expect(later.notes).toContain("the key of web is encrypted with an older, weaker scheme; it is re-encrypted on the next run with WEB_PASS set");
    expect(refreshed(plan(observed(cfg, { web: (s) => ((s.keyEncryptionWeak = true), (s.keyStatus = "locked")) }), {}))).toEqual([]);
    // Without setEnvVars the planner assumes the variable is there.
    expect(refreshed(plan(observed(cfg, { web: weak }), {}))).toEqual(["web"]);
    // Under the recorded old name, too.
    expect(refreshed(plan(observed(cfg, { web: (s, o) => (weak(s, o), void (o.state.identities.get("web")!.passphraseEnv = "WEB_OLD")) }), { setEnvVars: env("WEB_OLD", "WEB_P12", "WEB_PASS") }))).toEqual(["web"]);
  });

  it("keys that are not kept are never re-encrypted: a new key, a missing one, a revoked identity", () => {
    const renamed: Edit = (_s, o) => void (o.state.identities.get("web")!.passphraseEnv = "WEB_OLD");
    expect(refreshed(plan(observed(cfg, { web: (s, o) => (renamed(s, o), (s.keyStatus = "missing"), (s.keySha256 = null)) }), {}))).toEqual([]);
    const web = cfg.identities.find((i) => i.name === "web")!;
    expect(refreshed(plan(observed(cfg, { web: renamed }), {}, cfg, new Date(T0.getTime() + web.validitySeconds * 1000)))).toEqual([]);
  });
});

describe("writing a .p12 needs its password variable (checkPassphrasesSet)", () => {
  it("when the certificate is issued, or identity.p12 is missing; not on a quiet run", () => {
    const e = refusal(() => buildPlan(cfg, nothingObserved(cfg), T0, { setEnvVars: env("ROOT_PASS", "WEB_PASS") }));
    expect(e).toMatchObject({ code: "passphrase-missing", message: "WEB_P12 is not set: it holds the password of web's identity.p12", hint: "export WEB_P12=<password>" });
    expect(() => buildPlan(cfg, nothingObserved(cfg), T0, { setEnvVars: env("ROOT_PASS", "WEB_PASS", "WEB_P12") })).not.toThrow();
    expect(() => plan(observed(cfg), { setEnvVars: env() })).not.toThrow();
    const p12Gone: Edit = (s) => void (s.missingFormatFiles = ["/out/servers/web/identity.p12"]);
    expect(refusal(() => plan(observed(cfg, { web: p12Gone }), { setEnvVars: env("WEB_PASS") })).message).toBe("WEB_P12 is not set: it holds the password of web's identity.p12");
    // A key re-encrypted rewrites the .p12 too.
    const renamed: Edit = (_s, o) => void (o.state.identities.get("web")!.passphraseEnv = "WEB_OLD");
    expect(refusal(() => plan(observed(cfg, { web: renamed }), { setEnvVars: env("WEB_OLD", "WEB_PASS") })).message).toBe("WEB_P12 is not set: it holds the password of web's identity.p12");
    const noP12Env = config(YAML.replace(", p12PassphraseEnv: WEB_P12", ""));
    expect(() => buildPlan(noP12Env, nothingObserved(noP12Env), T0, { setEnvVars: env("ROOT_PASS", "WEB_PASS") })).not.toThrow();
  });

  it("a key written encrypted needs its variable, with the hint that it is read only from the environment", () => {
    const e = refusal(() => buildPlan(cfg, nothingObserved(cfg), T0, { setEnvVars: env("WEB_PASS", "WEB_P12") }));
    expect(e).toMatchObject({ message: "ROOT_PASS is not set: it holds the passphrase for the key of root", hint: "export ROOT_PASS=<passphrase> (the passphrase is read only from the environment, never from pki.yaml)" });
  });
});

describe("the recorded variable, and records that do not count (Stryker survivors of build.ts's passphrase checks)", () => {
  const bobGone: Edit = (s) => ((s.cert = null), (s.certProblem = "missing"));
  it("signing with a key whose variable was renamed: the old name decrypts it, then the new one is needed to re-encrypt it", () => {
    const renamed: Edit = (_s, o) => void (o.state.identities.get("root")!.passphraseEnv = "OLD_ROOT_PASS");
    // Not "ROOT_PASS is not set or wrong" (signing): the old variable opens the key; writing it under the new one needs ROOT_PASS.
    expect(refusal(() => plan(observed(cfg, { bob: bobGone, root: renamed }), { setEnvVars: env("OLD_ROOT_PASS", "WEB_PASS", "WEB_P12") })).message).toBe("ROOT_PASS is not set: it holds the passphrase for the key of root");
    // passphraseEnv removed from pki.yaml: the recorded variable still opens the key to sign (and the key is written plain).
    const plainRoot = config(YAML.replace(", passphraseEnv: ROOT_PASS", ""));
    const recorded: Edit = (s, o) => ((s.keyEncrypted = true), void (o.state.identities.get("root")!.passphraseEnv = "ROOT_PASS"));
    const p = plan(observed(plainRoot, { bob: bobGone, root: recorded }), { setEnvVars: env("ROOT_PASS", "WEB_PASS", "WEB_P12") }, plainRoot);
    expect(p.refresh.filter((f) => f.endsWith("key.pem"))).toEqual([p.actions[0]!.files.key]);
    expect(refusal(() => plan(observed(plainRoot, { bob: bobGone, root: recorded }), { setEnvVars: env("WEB_PASS", "WEB_P12") }, plainRoot)).message).toBe("the key of root is encrypted and no passphraseEnv is configured");
  });

  it("a record of another kind (the name moved between sections) says nothing about the key's variable; no record at all, neither", () => {
    const moved: Edit = (_s, o) => {
      const r = o.state.identities.get("web")!;
      o.state.identities.set("web", { ...r, kind: "client", passphraseEnv: "WEB_OLD" });
    };
    expect(plan(observed(cfg, { web: moved }), { setEnvVars: env("WEB_PASS", "WEB_P12") }).refresh).toEqual([]);
    const lost: Edit = (_s, o) => void o.state.identities.delete("web");
    expect(plan(observed(cfg, { web: lost }), { setEnvVars: env("WEB_PASS", "WEB_P12") }).refresh).toEqual([]);
    // Signing under a CA whose record is lost: its own variable is what counts.
    const rootLost: Edit = (_s, o) => void o.state.identities.delete("root");
    expect(plan(observed(cfg, { bob: bobGone, root: rootLost }), { setEnvVars: env("ROOT_PASS") }).actions[2]!.action).toBe("reissue");
  });

  it("a weak key whose record names no variable: re-encrypted when pki.yaml's variable is set", () => {
    const weakNoRecord: Edit = (s, o) => ((s.keyEncryptionWeak = true), void (o.state.identities.get("web")!.passphraseEnv = null));
    const p = plan(observed(cfg, { web: weakNoRecord }), { setEnvVars: env("WEB_PASS", "WEB_P12") });
    expect(p.refresh.filter((f) => f.endsWith("key.pem")).length).toBe(1);
    expect(p.notes).toEqual(["the key of web is re-encrypted with PBKDF2-HMAC-SHA256 at 600,000 iterations (it was written with a weaker scheme)"]);
  });

  it("the refusal of a missing key variable carries its code", () => {
    expect(refusal(() => buildPlan(cfg, nothingObserved(cfg), T0, { setEnvVars: env("WEB_PASS", "WEB_P12") })).code).toBe("passphrase-missing");
  });
});
