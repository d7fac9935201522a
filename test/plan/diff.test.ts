// specDifferences, reason by reason (src/plan/diff.ts): the facts of a certificate as issued, with one field
// changed, give exactly one plan reason. The scenario twins (provision re-run after editing pki.yaml) are in
// idempotency.test.ts.
import { describe, expect, it } from "vitest";
import type { IdentitySpec } from "../../src/config/types.js";
import { specDifferences } from "../../src/plan/diff.js";
import type { CertificateFacts as CertFacts } from "../../src/x509/spec.js";
import { config, factsOf, T0 } from "./builders.js";

const cfg = config(`version: 1
defaults: { subject: { country: US, organization: New } }
cas:
  root: { pathLength: 0, nameConstraints: { permitted: [.test], excluded: [secret.test] } }
  plain: {}
servers:
  web: { issuer: root, altNames: [web.test, new.test], validity: 90d }
`);
const dns = (value: string) => ({ type: "dns" as const, value });
const id = (name: string) => cfg.identities.find((i) => i.name === name)!;
const issuerOf = (identity: IdentitySpec) => ({ subject: id(identity.issuer ?? identity.name).subject, crlUrl: null });
const differences = (name: string, facts: Partial<CertFacts>, options?: { validity?: boolean }) =>
  specDifferences(id(name), issuerOf(id(name)), { ...factsOf(cfg, id(name), T0), ...facts }, options);

describe("specDifferences", () => {
  it("a certificate as issued differs in nothing", () => {
    for (const name of ["root", "plain", "web"]) expect(differences(name, {}), name).toEqual([]);
  });

  it.each<[string, string, Partial<CertFacts>, string[]]>([
    ["subject fields", "web", { subject: { commonName: "web.test", organization: "Old" } }, ["subject changed (country: (none) → US, organization: Old → New)"]],
    ["issuer name", "web", { issuer: { commonName: "other" } }, ["issuer name changed"]],
    ["alt names added and removed", "web", { altNames: [dns("web.test"), dns("old.test")] }, ["altNames changed (+new.test, -old.test)"]],
    ["alt name removed", "web", { altNames: [dns("web.test"), dns("new.test"), { type: "ip", value: "10.0.0.1" }] }, ["altNames changed (-10.0.0.1)"]],
    ["unsupported key", "web", { keyType: null }, ["key type changed (unsupported → ecdsa-p256)"]],
    ["validity", "web", { notAfter: new Date(T0.getTime() + 91 * 86_400_000).toISOString() }, ["validity changed (13w → 90d)"]],
    ["CA flag", "web", { isCa: true }, ["certificate profile changed"]],
    ["extended key usage", "web", { extKeyUsage: ["clientAuth"] }, ["certificate profile changed"]],
    ["pathLength missing", "root", { pathLength: null }, ["pathLength changed (none → 0)"]],
    ["pathLength extra", "plain", { pathLength: 1 }, ["pathLength changed (1 → none)"]],
    ["constraints missing", "root", { nameConstraints: null }, ["nameConstraints changed"]],
    ["constraints narrowed", "root", { nameConstraints: { permitted: [dns(".test")], excluded: [] } }, ["nameConstraints changed"]],
    ["constraints extra", "plain", { nameConstraints: { permitted: [dns(".test")], excluded: [] } }, ["nameConstraints changed"]],
    // A leaf's pathLength and constraints are not compared (a leaf has neither).
    ["a leaf's pathLength", "web", { pathLength: 3 }, []],
    ["a leaf's constraints", "web", { nameConstraints: { permitted: [dns(".x")], excluded: [] } }, []],
  ])("%s", (_what, name, facts, reasons) => {
    expect(differences(name, facts)).toEqual(reasons);
  });

  it("validity: false leaves the lifetime to someone else and compares the rest", () => {
    const facts = { notAfter: new Date(T0.getTime() + 91 * 86_400_000).toISOString(), keyType: null };
    expect(differences("web", facts, { validity: false })).toEqual(["key type changed (unsupported → ecdsa-p256)"]);
  });
});
