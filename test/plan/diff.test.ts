// specDifferences, reason by reason (src/plan/diff.ts): the facts of a certificate as issued, with one field
// changed, give exactly one plan reason. The scenario twins (provision re-run after editing pki.yaml) are in
// idempotency.test.ts.
import { describe, expect, it } from "vitest";
import type { IdentitySpec } from "../../src/config/types.js";
import { issuedValiditySeconds, specDifferences } from "../../src/plan/diff.js";
import type { CertificateFacts as CertFacts } from "../../src/x509/spec.js";
import { config, factsOf, T0 } from "./builders.js";

const cfg = config(`version: 1
defaults: { subject: { country: US, organization: New } }
cas:
  root: { pathLength: 0, nameConstraints: { permitted: [.test], excluded: [secret.test] } }
  plain: {}
  open: { nameConstraints: { permitted: [], excluded: [] } }
  net: { nameConstraints: { permitted: [10.0.0.0/8, .net.test], excluded: [] } }
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
    ["constraints reordered", "net", { nameConstraints: { permitted: [dns(".net.test"), { type: "ip", value: "10.0.0.0", prefix: 8 }], excluded: [] } }, ["nameConstraints changed"]],
    ["an IP subtree's prefix", "net", { nameConstraints: { permitted: [{ type: "ip", value: "10.0.0.0", prefix: 16 }, dns(".net.test")], excluded: [] } }, ["nameConstraints changed"]],
    ["an IP subtree's network", "net", { nameConstraints: { permitted: [{ type: "ip", value: "11.0.0.0", prefix: 8 }, dns(".net.test")], excluded: [] } }, ["nameConstraints changed"]],
    ["a subtree's type", "root", { nameConstraints: { permitted: [dns(".test")], excluded: [{ type: "email", value: "secret.test" }] } }, ["nameConstraints changed"]],
    ["a subtree's value", "root", { nameConstraints: { permitted: [dns(".test")], excluded: [dns("other.test")] } }, ["nameConstraints changed"]],
    ["an excluded subtree added", "net", { nameConstraints: { permitted: [{ type: "ip", value: "10.0.0.0", prefix: 8 }, dns(".net.test")], excluded: [dns("x.net.test")] } }, ["nameConstraints changed"]],
    ["constraints as written", "net", { nameConstraints: { permitted: [{ type: "ip", value: "10.0.0.0", prefix: 8 }, dns(".net.test")], excluded: [] } }, []],
    ["an alt name's type, same text", "web", { altNames: [dns("web.test"), { type: "uri", value: "new.test" }] }, ["altNames changed (+new.test, -new.test)"]],
    ["alt names reordered", "web", { altNames: [dns("new.test"), dns("web.test")] }, []],
    ["key type", "web", { keyType: "ecdsa-p384" }, ["key type changed (ecdsa-p384 → ecdsa-p256)"]],
    ["a subject field the spec does not have", "web", { subject: { commonName: "web.test", country: "US", organization: "New", locality: "Oslo" } }, ["subject changed (locality: Oslo → (none))"]],
    ["a CA that lost its CA flag", "plain", { isCa: false }, ["certificate profile changed"]],
    // An empty NameConstraints is never written (RFC 5280 asks for a subtree): none on disk is what was asked.
    ["empty constraints, none written", "open", { nameConstraints: null }, []],
    ["no constraints, an empty extension read", "plain", { nameConstraints: { permitted: [], excluded: [] } }, []],
    ["constraints extra", "plain", { nameConstraints: { permitted: [dns(".test")], excluded: [] } }, ["nameConstraints changed"]],
    // A leaf's pathLength and constraints are not compared (a leaf has neither).
    ["a leaf's pathLength", "web", { pathLength: 3 }, []],
    ["a leaf's constraints", "web", { nameConstraints: { permitted: [dns(".x")], excluded: [] } }, []],
  ])("%s", (_what, name, facts, reasons) => {
    expect(differences(name, facts)).toEqual(reasons);
  });

  it("the CRL distribution point follows the issuer's crlUrl (a root points to none)", () => {
    const web = id("web");
    const facts = factsOf(cfg, web, T0);
    const url = "http://crl.test/root.crl";
    const issuer = (crlUrl: string | null) => ({ subject: id("root").subject, crlUrl });
    expect(specDifferences(web, issuer(url), facts)).toEqual([`CRL distribution point changed (none → ${url})`]);
    expect(specDifferences(web, issuer(null), { ...facts, crlUrls: [url] })).toEqual([`CRL distribution point changed (${url} → none)`]);
    expect(specDifferences(web, issuer(url), { ...facts, crlUrls: ["http://old.test/root.crl"] })).toEqual([`CRL distribution point changed (http://old.test/root.crl → ${url})`]);
    expect(specDifferences(web, issuer(url), { ...facts, crlUrls: [url] })).toEqual([]);
    expect(specDifferences(web, issuer(null), { ...facts, crlUrls: [] })).toEqual([]);
    expect(specDifferences(web, issuer(url), { ...facts, crlUrls: ["http://a.test/1.crl", "http://b.test/2.crl"] })).toEqual([`CRL distribution point changed (http://a.test/1.crl, http://b.test/2.crl → ${url})`]);
    // A state.json record from before CRL URLs were kept reads as none.
    const { crlUrls: _, ...older } = facts;
    expect(specDifferences(web, issuer(null), older)).toEqual([]);
    expect(specDifferences(web, issuer(url), older)).toEqual([`CRL distribution point changed (none → ${url})`]);
    // Whoever signs with validity: false (a keyless external CA) also picks the extensions.
    expect(specDifferences(web, issuer(url), facts, { validity: false })).toEqual([]);
  });

  it("issuedValiditySeconds: notAfter − notBefore as issued, without the skew allowance, to the second", () => {
    expect(issuedValiditySeconds({ notBefore: "2027-01-01T00:00:00Z", notAfter: "2027-01-02T00:05:00Z" })).toBe(86_400);
    expect(issuedValiditySeconds({ notBefore: "2027-01-01T00:00:00Z", notAfter: "2027-01-02T00:05:00.600Z" })).toBe(86_401);
    expect(issuedValiditySeconds({ notBefore: "2027-01-01T00:00:00Z", notAfter: "2027-01-02T00:05:00.400Z" })).toBe(86_400);
  });

  it("validity: false leaves the lifetime to someone else and compares the rest", () => {
    const facts = { notAfter: new Date(T0.getTime() + 91 * 86_400_000).toISOString(), keyType: null };
    expect(differences("web", facts, { validity: false })).toEqual(["key type changed (unsupported → ecdsa-p256)"]);
  });
});
