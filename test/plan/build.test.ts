import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build.js";
import { hasChanges, type Plan } from "../../src/plan/types.js";
import { nothingObserved } from "../../src/store/read-state.js";
import { at, config, DAY, factsOf, observedAfterRun, T0 } from "./builders.js";

const YAML = `version: 1
cas:
  root: { commonName: Root, validity: 10y }
  intermediate: { issuer: root, commonName: Intermediate, validity: 2y }
servers:
  web: { issuer: intermediate, altNames: [web.test], validity: 30d }
  steady: { issuer: intermediate, altNames: [steady.test], validity: 30d, rotateKey: never, renewBefore: 7d }
clients:
  alice: { issuer: intermediate, altNames: [alice@web.test], validity: 30d }
`;
const cfg = config(YAML);
const SKEW = 300_000;

/** name → "action/key" for a compact, readable table. */
function summary(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.actions.map((a) => [a.name, `${a.action}/${a.key}`]));
}
const reasonsOf = (plan: Plan, name: string) => plan.actions.find((a) => a.name === name)!.reasons;

describe("buildPlan: nothing on disk, nothing changed", () => {
  it("an empty output folder: everything is created with a new key", () => {
    const plan = buildPlan(cfg, nothingObserved(cfg), T0);
    expect(Object.values(summary(plan))).toEqual(Array(5).fill("create/generate"));
    expect(plan.actions.map((a) => a.name).sort()).toEqual(["alice", "intermediate", "root", "steady", "web"]);
  });

  it("right after a run: everything unchanged, and no changes pending", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY));
    expect(Object.values(summary(plan))).toEqual(Array(5).fill("unchanged/none"));
    expect(plan.refresh).toEqual([]);
    expect(hasChanges(plan)).toBe(false);
  });
});

describe("buildPlan: renewal edges (web: 30d, renewBefore 1/3; steady: 30d, renewBefore 7d)", () => {
  // The lifetime includes the 5-minute skew allowance, as issued: the window is a third of 30d + 5min.
  const notAfter = T0.getTime() + 30 * DAY;
  const windowStart = notAfter - (30 * DAY + SKEW) / 3;
  it.each([
    ["1 s before the window", windowStart - 1000, "unchanged/none", "unchanged/none"],
    ["exactly at the window start", windowStart, "renew/generate", "unchanged/none"],
    ["1 s before steady's 7d window", notAfter - 7 * DAY - 1000, "renew/generate", "unchanged/none"],
    ["exactly at steady's 7d window", notAfter - 7 * DAY, "renew/generate", "renew/reuse"],
    ["1 s before expiry", notAfter - 1000, "renew/generate", "renew/reuse"],
    ["exactly at expiry", notAfter, "renew/generate", "renew/reuse"],
    ["long after expiry", notAfter + 40 * DAY, "renew/generate", "renew/reuse"],
  ])("%s", (_when, nowMs, web, steady) => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), new Date(nowMs));
    expect(summary(plan)).toMatchObject({ web, steady, root: "unchanged/none", intermediate: "unchanged/none" });
  });

  it("says why: the window, or how long ago it expired", () => {
    expect(reasonsOf(buildPlan(cfg, observedAfterRun(cfg, T0), new Date(windowStart)), "web")).toEqual([expect.stringMatching(/^expires in 10 days \(window 1\/3 of/)]);
    expect(reasonsOf(buildPlan(cfg, observedAfterRun(cfg, T0), new Date(notAfter + 3 * DAY)), "steady")).toEqual(["expired 3 days ago"]);
  });
});

describe("buildPlan: cascades", () => {
  it("a CA whose spec changed is reissued, and so is everything it signed; its issuer is not", () => {
    const changed = config(YAML.replace("commonName: Intermediate", "commonName: Intermediate G2"));
    const plan = buildPlan(changed, observedAfterRun(changed, T0, { intermediate: { facts: factsOf(cfg, cfg.identities[1]!, T0) } }), at(DAY));
    expect(summary(plan)).toEqual({ root: "unchanged/none", intermediate: "reissue/reuse", web: "reissue/generate", steady: "reissue/reuse", alice: "reissue/generate" });
    expect(reasonsOf(plan, "intermediate")).toEqual([expect.stringMatching(/^subject changed \(commonName: Intermediate → Intermediate G2\)/)]);
    expect(reasonsOf(plan, "web")).toContain("issuer intermediate reissued");
  });

  it("a CA inside its renewal window renews with the same key; what it signed stays unchanged", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0, { intermediate: { issuedAt: at(-700 * DAY) } }), at(DAY));
    expect(summary(plan)).toEqual({ root: "unchanged/none", intermediate: "renew/reuse", web: "unchanged/none", steady: "unchanged/none", alice: "unchanged/none" });
  });

  it("a CA that would expire before a new leaf is renewed first (same key); the rest stays", () => {
    const short = config(YAML.replace("validity: 2y", "validity: 60d, renewBefore: 1d"));
    const plan = buildPlan(short, observedAfterRun(short, T0, { intermediate: { issuedAt: at(-40 * DAY) }, web: { certMissing: true } }), at(DAY));
    expect(summary(plan)).toEqual({ root: "unchanged/none", intermediate: "renew/reuse", web: "reissue/generate", steady: "unchanged/none", alice: "unchanged/none" });
    expect(reasonsOf(plan, "intermediate")).toEqual([expect.stringMatching(/^renewed so it outlives web's new certificate/)]);
  });

  it("--rotate-ca-key: a new CA key, and everything below is reissued", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY), { rotateCaKeys: new Set(["intermediate"]) });
    expect(summary(plan)).toEqual({ root: "unchanged/none", intermediate: "reissue/generate", web: "reissue/generate", steady: "reissue/reuse", alice: "reissue/generate" });
    expect(reasonsOf(plan, "intermediate")).toEqual(["key rotation requested (--rotate-ca-key)"]);
  });
});

describe("buildPlan: spec changes, files, orphans", () => {
  it.each([
    ["altNames", YAML.replace("altNames: [web.test]", "altNames: [web.test, api.test]"), "reissue/generate", /^altNames changed \(\+api\.test\)$/],
    ["validity", YAML.replace("altNames: [web.test], validity: 30d", "altNames: [web.test], validity: 60d"), "reissue/generate", /^validity changed \(30d → 60d\)$/],
    ["key type", YAML.replace("altNames: [web.test], validity: 30d", "altNames: [web.test], validity: 30d, key: ecdsa-p384"), "reissue/generate", /^key type changed \(ecdsa-p256 → ecdsa-p384\)$/],
  ])("%s changed: the server is reissued and says why", (_field, yaml, expected, reason) => {
    const changed = config(yaml);
    const web = cfg.identities.find((i) => i.name === "web")!;
    const plan = buildPlan(changed, observedAfterRun(changed, T0, { web: { facts: factsOf(cfg, web, T0) } }), at(DAY));
    expect(summary(plan).web).toBe(expected);
    expect(reasonsOf(plan, "web")).toEqual([expect.stringMatching(reason)]);
    expect(summary(plan).alice).toBe("unchanged/none");
  });

  it("renewBefore is declared renew-only: changing it reissues nothing", () => {
    const changed = config(YAML.replace("renewBefore: 7d", "renewBefore: 5d"));
    expect(hasChanges(buildPlan(changed, observedAfterRun(changed, T0), at(DAY)))).toBe(false);
  });

  it("a leaf whose key is gone is reissued with a new key, even with rotateKey: never", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0, { steady: { keyStatus: "missing" } }), at(DAY));
    expect(summary(plan).steady).toBe("reissue/generate");
    expect(reasonsOf(plan, "steady")).toEqual(["key missing"]);
  });

  it("a CA whose key is gone stops the plan instead of replacing it silently", () => {
    expect(() => buildPlan(cfg, observedAfterRun(cfg, T0, { intermediate: { keyStatus: "missing" } }), at(DAY))).toThrow(/key of CA intermediate is missing/);
  });

  it("an identity no longer in pki.yaml is orphaned; --prune deletes it", () => {
    const orphans = [{ name: "old", kind: "server" as const, notAfter: at(20 * DAY).toISOString() }];
    const kept = buildPlan(cfg, observedAfterRun(cfg, T0, {}, { orphans }), at(DAY));
    expect(kept.actions.at(-1)).toMatchObject({ name: "old", action: "orphaned", key: "none" });
    expect(hasChanges(kept)).toBe(false);
    const pruned = buildPlan(cfg, observedAfterRun(cfg, T0, {}, { orphans }), at(DAY), { prune: true });
    expect(pruned.actions.at(-1)!.reasons[0]).toMatch(/deleted \(--prune\)/);
    expect(hasChanges(pruned)).toBe(true);
  });

  it("issuing actions carry the validity they will be issued with", () => {
    const plan = buildPlan(cfg, nothingObserved(cfg), T0);
    expect(plan.actions.find((a) => a.name === "web")).toMatchObject({ notBefore: new Date(T0.getTime() - SKEW).toISOString(), notAfter: at(30 * DAY).toISOString() });
  });
});

describe("buildPlan compares typed names: the type is part of the value", () => {
  const constrained = (permitted: string) => `version: 1
cas:
  root: { commonName: Root, validity: 10y, nameConstraints: { permitted: [${permitted}] } }
servers:
  web: { issuer: root, altNames: [web.test], validity: 30d }
`;
  /** The plan after pki.yaml changed from `before` to `after` since the run at T0. */
  function planAfterEdit(before: string, after: string): Plan {
    const old = config(constrained(before));
    const changed = config(constrained(after));
    const rootWas = factsOf(old, old.identities.find((i) => i.name === "root")!, T0);
    return buildPlan(changed, observedAfterRun(changed, T0, { root: { facts: rootWas } }), at(DAY));
  }

  it.each([
    ["a DNS constraint becomes an email-domain one with the same text", "web.test", '"@web.test"'],
    ["an IP range gets a longer prefix", "10.0.0.0/8", "10.0.0.0/16"],
    ["two subtrees swap places", "web.test, api.test", "api.test, web.test"],
  ])("%s: the CA is reissued, and what it signed with it", (_case, before, after) => {
    const plan = planAfterEdit(before, after);
    expect(summary(plan)).toEqual({ root: "reissue/reuse", web: "reissue/generate" });
    expect(reasonsOf(plan, "root")).toEqual(["nameConstraints changed"]);
  });

  it("the same constraints, as the certificate holds them, change nothing", () => {
    for (const same of ["web.test", '"@web.test"', "10.0.0.0/8", "web.test, api.test", '"::1/128", .test']) {
      expect(hasChanges(planAfterEdit(same, same)), same).toBe(false);
    }
  });

  it("an alt name compares by type and value: a URI with a host's text is not that host", () => {
    const yaml = (name: string) => `version: 1
cas:
  root: { commonName: Root, validity: 10y }
servers:
  web: { issuer: root, altNames: [${name}], validity: 30d }
`;
    const changed = config(yaml('"spiffe://web.test/w"'));
    const webNow = factsOf(changed, changed.identities.find((i) => i.name === "web")!, T0);
    const uriAsDns = { ...webNow, altNames: webNow.altNames.map((n) => ({ type: "dns" as const, value: n.value })) };
    const plan = buildPlan(changed, observedAfterRun(changed, T0, { web: { facts: uriAsDns } }), at(DAY));
    expect(reasonsOf(plan, "web")).toEqual(["altNames changed (+spiffe://web.test/w, -spiffe://web.test/w)"]);
    const same = buildPlan(changed, observedAfterRun(changed, T0, { web: { facts: webNow } }), at(DAY));
    expect(summary(same).web).toBe("unchanged/none");
  });
});

describe("buildPlan: a replaced root stays in ca-bundle.pem for a while, and the plan says until when", () => {
  const YEAR = 365 * DAY;
  const rootOf = (plan: Plan) => plan.retired.filter((r) => r.ca === "root");

  it("a renewed root (same key) is published until the old certificate expires", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(7 * YEAR));
    expect(summary(plan).root).toBe("renew/reuse");
    const old = factsOf(cfg, cfg.identities[0]!, T0);
    expect(rootOf(plan)).toEqual([expect.objectContaining({ action: "add", fingerprint: old.fingerprint, until: old.notAfter, reason: expect.stringMatching(/^renewed/) })]);
  });

  it("a root whose key is rotated is published until the last certificate under the old key expires", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY), { rotateCaKeys: new Set(["root"]) });
    const intermediate = factsOf(cfg, cfg.identities.find((i) => i.name === "intermediate")!, T0);
    expect(rootOf(plan)).toEqual([expect.objectContaining({ action: "add", until: intermediate.notAfter, reason: expect.stringMatching(/^key rotated/) })]);
  });

  it("a root that is not re-issued adds nothing", () => {
    expect(buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY)).retired).toEqual([]);
  });

  it.each([
    ["inside its overlap", at(30 * DAY), "PEM", "keep", /^published until/],
    ["at the end of its overlap", at(60 * DAY), "PEM", "drop", /^its overlap ended/],
    ["whose file is missing", at(30 * DAY), null, "drop", /file is missing/],
  ] as const)("a retired root %s", (_case, now, pem, action, reason) => {
    const retired = [{ ca: "root", fingerprint: "ab".repeat(32), notAfter: at(60 * DAY).toISOString(), until: at(60 * DAY).toISOString(), pem }];
    const plan = buildPlan(cfg, { ...observedAfterRun(cfg, T0), retired }, now);
    expect(rootOf(plan)).toEqual([expect.objectContaining({ action, reason: expect.stringMatching(reason), file: expect.stringMatching(/cas\/root\/retired\/(ab){8}\.pem$/) })]);
  });
});
