import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build.js";
import { hasChanges } from "../../src/plan/types.js";
import { nothingObserved } from "../../src/store/read-state.js";
import { at, config, DAY, observedAfterRun, T0 } from "./builders.js";

const YAML = `version: 1
cas:
  root: { commonName: Root }
  intermediate: { issuer: root, commonName: Intermediate, crlValidity: 4d }
servers:
  web: { issuer: intermediate, altNames: [web.test] }
clients:
  alice: { issuer: intermediate, altNames: [alice@web.test] }
`;
const cfg = config(YAML);
const HOUR = 3_600_000;
const crlOf = (plan: ReturnType<typeof buildPlan>, ca: string) => plan.crls.find((c) => c.ca === ca)!;

describe("buildPlan: CRLs (fixed clock)", () => {
  it("an empty folder: every CA's CRL is created, number 1, thisUpdate backdated 5 minutes, nextUpdate one crlValidity later", () => {
    const plan = buildPlan(cfg, nothingObserved(cfg), T0);
    expect(plan.crls.map((c) => `${c.ca}:${c.action}:${c.number}`)).toEqual(["root:create:1", "intermediate:create:1"]);
    expect(crlOf(plan, "intermediate")).toMatchObject({ thisUpdate: "2026-12-31T23:55:00.000Z", nextUpdate: "2027-01-04T23:55:00.000Z", revoked: [] });
    expect(crlOf(plan, "root").nextUpdate).toBe("2027-01-07T23:55:00.000Z");
  });

  it("refreshed exactly from half its lifetime on (crlRefreshBefore 1/2), with the reason; unchanged before", () => {
    const observed = observedAfterRun(cfg, T0);
    const before = buildPlan(cfg, observed, at(2 * DAY - 5 * 60_000 - 1000));
    expect(crlOf(before, "intermediate").action).toBe("unchanged");
    expect(hasChanges(before)).toBe(false);
    const inside = buildPlan(cfg, observed, at(2 * DAY - 5 * 60_000));
    expect(crlOf(inside, "intermediate")).toMatchObject({ action: "refresh", number: 2, reasons: ["expires in 2d (window 1/2 of 4d = 2d)"] });
    expect(crlOf(inside, "root").action).toBe("unchanged");
    expect(hasChanges(inside)).toBe(true);
    expect(crlOf(buildPlan(cfg, observed, at(5 * DAY)), "intermediate").reasons[0]).toMatch(/^expired /);
  });

  it("revoked: true revokes the current certificate into its issuer's CRL; the identity's action is revoke", () => {
    const revoked = config(YAML.replace("alice: { issuer: intermediate,", "alice: { issuer: intermediate, revoked: true, revokedReason: keyCompromise,"));
    // The builders give every certificate the same serial; alice's is her own here.
    const observed = observedAfterRun(cfg, T0, { alice: { facts: { serial: "4a11ce" } } });
    const plan = buildPlan(revoked, observed, at(HOUR));
    expect(plan.actions.find((a) => a.name === "alice")).toMatchObject({ action: "revoke", key: "none" });
    const serial = observed.identities.get("alice")!.cert!.facts.serial;
    expect(plan.revocations).toEqual([{ name: "alice", kind: "client", issuer: "intermediate", serial, reason: "keyCompromise", why: "revoked in pki.yaml" }]);
    expect(crlOf(plan, "intermediate")).toMatchObject({ action: "refresh", reasons: ["entries changed (+1 revoked)"], revoked: [{ serial, name: "alice", reason: "keyCompromise" }] });
    expect(crlOf(plan, "root").action).toBe("unchanged");
  });

  it("an encrypted CA key whose passphrase is not set stops only a run that must re-sign its CRL", () => {
    const encrypted = config(YAML.replace("crlValidity: 4d", "crlValidity: 4d, passphraseEnv: CA_PASS"));
    const observed = observedAfterRun(encrypted, T0);
    observed.identities.get("intermediate")!.keyEncrypted = true;
    expect(() => buildPlan(encrypted, observed, at(HOUR), { setEnvVars: new Set() })).not.toThrow();
    expect(() => buildPlan(encrypted, observed, at(3 * DAY), { setEnvVars: new Set() })).toThrow(/CA_PASS is not set or wrong \(its CRL must be re-signed/);
  });
});
