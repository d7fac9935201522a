// Name-constraint matching at plan time (RFC 5280 §4.2.1.10), table by table: the fast checks the mutation run
// of src/config/name-constraints.ts leans on (docs/MUTATION.md). Real verifiers judge the same names in
// test/x509/constraints.e2e.test.ts and test/e2e/chain-property.e2e.test.ts.
import { describe, expect, it } from "vitest";
import type { AltName } from "../../src/config/alt-names.js";
import { constraintViolation, dnsWithin, subtreeText, subtreeWithin } from "../../src/config/name-constraints.js";
import { parseConstraint } from "../../src/config/normalize.js";
import type { AltNameConstraint, NameConstraintsSpec } from "../../src/config/types.js";

const subtree = (text: string) => parseConstraint(text) as AltNameConstraint;
const constraints = (permitted: string[], excluded: string[] = []): NameConstraintsSpec => ({ permitted: permitted.map(subtree), excluded: excluded.map(subtree) });
const dns = (value: string): AltName => ({ type: "dns", value });
const ip = (value: string): AltName => ({ type: "ip", value });
const email = (value: string): AltName => ({ type: "email", value });

describe("dnsWithin", () => {
  it("an empty base (as an external CA's certificate may carry) matches every name", () => {
    expect(dnsWithin("a.test", "")).toBe(true);
    expect(dnsWithin("a.test", ".")).toBe(true);
  });
});

describe("constraintViolation", () => {
  it.each<[string, AltName, NameConstraintsSpec, string | null]>([
    // DNS: any permitted subtree will do, not all of them.
    ["second of two DNS subtrees", dns("a.internal"), constraints([".test", ".internal"]), null],
    ["outside two DNS subtrees", dns("a.example"), constraints([".test", ".internal"]), "not within the permitted DNS names (.test, .internal)"],
    // A wildcard is judged as a name one label deeper: *.example.test is below .example.test.
    ["wildcard below a leading-dot subtree", dns("*.example.test"), constraints([".example.test"]), null],
    ["wildcard outside", dns("*.example.org"), constraints([".example.test"]), "not within the permitted DNS names (.example.test)"],
    // IP ranges.
    ["IP inside", ip("10.1.2.3"), constraints(["10.0.0.0/8"]), null],
    ["IP outside", ip("11.1.2.3"), constraints(["10.0.0.0/8", "::1/128"]), "not within the permitted IP ranges (10.0.0.0/8, ::1/128)"],
    ["IP excluded", ip("10.9.0.1"), constraints(["10.0.0.0/8"], ["10.9.0.0/16"]), "excluded (10.9.0.0/16)"],
    ["IPv6 inside", ip("fd12::1"), constraints(["fd00::/8"]), null],
    // Email: a mailbox, a host, or ".domain" for hosts below it.
    ["mailbox at the permitted host", email("bob@Example.TEST"), constraints(["@example.test"]), null],
    ["mailbox below a host-only subtree", email("bob@a.example.test"), constraints(["@example.test"]), "not within the permitted email domains (example.test)"],
    ["mailbox below a domain subtree", email("bob@a.example.test"), constraints(["@.example.test"]), null],
    ["mailbox at the domain itself", email("bob@example.test"), constraints(["@.example.test"]), "not within the permitted email domains (.example.test)"],
    ["the one permitted mailbox", email("bob@Example.test"), constraints(["bob@example.TEST"]), null],
    // A mailbox's local part is case-sensitive (RFC 5280 §7.5; OpenSSL, GnuTLS and Go compare it exactly).
    ["the permitted mailbox in another case", email("Bob@example.test"), constraints(["bob@example.test"]), "not within the permitted email domains (bob@example.test)"],
    ["a mailbox in another case than an excluded one", email("Bob@example.test"), constraints([], ["bob@example.test"]), null],
    ["the excluded mailbox", email("bob@example.test"), constraints([], ["bob@example.test"]), "excluded (bob@example.test)"],
    // Go lets a host constraint cover its subdomains, OpenSSL and GnuTLS do not: the strictest reading both ways
    // (test/x509/email-constraints.e2e.test.ts).
    ["mailbox below an excluded host", email("x@a.ex.test"), constraints([], ["@ex.test"]), "excluded (ex.test)"],
    ["mailbox at an excluded host", email("x@EX.test"), constraints([], ["@ex.test"]), "excluded (ex.test)"],
    ["mailbox at a host that merely ends like an excluded one", email("x@aex.test"), constraints([], ["@ex.test"]), null],
    ["mailbox at an excluded .domain itself", email("x@dot.test"), constraints([], ["@.dot.test"]), null],
    ["mailbox below an excluded .domain", email("x@a.dot.test"), constraints([], ["@.dot.test"]), "excluded (.dot.test)"],
    ["another mailbox at that host", email("eve@example.test"), constraints(["bob@example.test"]), "not within the permitted email domains (bob@example.test)"],
    ["a mailbox whose local part ends like the host", email("example.test@evil.test"), constraints(["@example.test"]), "not within the permitted email domains (example.test)"],
    // A subtree only judges names of its own type, permitted or excluded.
    ["email against a DNS exclusion", email("bob@x.secret.test"), constraints([], ["secret.test"]), null],
    ["IP against DNS subtrees only", ip("10.0.0.1"), constraints([".test"]), null],
    ["URI against DNS subtrees", { type: "uri", value: "https://evil.example/" }, constraints([".test"], ["evil.example"]), null],
  ])("%s", (_what, name, spec, violation) => {
    expect(constraintViolation(name, spec)).toBe(violation);
  });
});

describe("subtreeText", () => {
  it("writes IP ranges in CIDR and the rest as pki.yaml does", () => {
    expect(subtreeText(subtree("10.0.0.0/8"))).toBe("10.0.0.0/8");
    expect(subtreeText(subtree(".test"))).toBe(".test");
    expect(subtreeText(subtree("@.mail.test"))).toBe(".mail.test");
  });
});

describe("subtreeWithin: a child CA's subtree must lie inside its parent's", () => {
  it.each<[string, string, boolean]>([
    ["10.1.0.0/16", "10.0.0.0/8", true],
    ["10.0.0.0/8", "10.0.0.0/8", true],
    ["10.0.0.0/8", "10.0.0.0/16", false],
    ["11.0.0.0/16", "10.0.0.0/8", false],
    ["10.0.0.0/8", ".test", false],
    [".a.test", ".test", true],
    ["a.test", ".test", true],
    ["test", ".test", false],
    [".test", ".test", true],
    ["Web.Test", "web.test", true],
    [".web.test", "web.test", true],
    ["web.test", ".web.test", false],
    ["@example.test", "@example.test", true],
    ["@EXAMPLE.test", "@example.test", true],
    ["@a.example.test", "@.example.test", true],
    ["@.a.example.test", "@.example.test", true],
    ["bob@a.example.test", "@.example.test", true],
    ["@example.test", "@.example.test", false],
    ["@a.example.org", "@.example.test", false],
    ["@a.example.test", "@example.test", false],
    ["@.example.test", "@example.test", false],
    ["bob@example.test", "@example.test", true],
    ["Bob@example.test", "bob@example.test", false],
    ["bob@example.test", "bob@EXAMPLE.test", true],
    ["@example.test", "bob@example.test", false],
    ["bob@a.example.test", "@example.test", false],
    ["@.example.test", "@example.test", false],
  ])("%s inside %s: %s", (child, parent, inside) => {
    expect(subtreeWithin(subtree(child), subtree(parent))).toBe(inside);
  });
});

// URI subtrees come only from an external CA's certificate (pki.yaml cannot write one); the verifiers' answers
// for each row are in test/e2e/uri-constraints.e2e.test.ts.
describe("constraintViolation: URI names against URI subtrees", () => {
  const uri = (value: string): AltName => ({ type: "uri", value });
  const uriTrees = (permitted: string[], excluded: string[] = [], extra: AltNameConstraint[] = []): NameConstraintsSpec => ({
    permitted: [...permitted.map((value) => ({ type: "uri" as const, value })), ...extra],
    excluded: excluded.map((value) => ({ type: "uri" as const, value })),
  });
  it.each<[string, string, NameConstraintsSpec, string | null]>([
    ["the permitted host", "https://Example.test:8443/x?y", uriTrees(["example.test"]), null],
    ["below a permitted host: OpenSSL refuses", "https://a.example.test/", uriTrees(["example.test"]), "not within the permitted URI hosts (example.test)"],
    ["below a permitted .domain", "spiffe://a.svc.test/ns/x", uriTrees([".svc.test"]), null],
    ["the .domain itself", "https://svc.test/", uriTrees([".svc.test"]), "not within the permitted URI hosts (.svc.test)"],
    ["another host", "https://evil.example/", uriTrees(["example.test", ".svc.test"]), "not within the permitted URI hosts (example.test, .svc.test)"],
    ["no host", "urn:x:y", uriTrees([".svc.test"]), "a URI without a host name (or with an IP address) under URI constraints, which OpenSSL and Go refuse"],
    ["an IP host", "https://10.0.0.1/", uriTrees([], ["evil.example"]), "a URI without a host name (or with an IP address) under URI constraints, which OpenSSL and Go refuse"],
    ["an IPv6 host", "https://[::1]/", uriTrees([".svc.test"]), "a URI without a host name (or with an IP address) under URI constraints, which OpenSSL and Go refuse"],
    ["the excluded host", "https://evil.example/", uriTrees([], ["evil.example"]), "excluded (evil.example)"],
    ["below an excluded host: Go refuses", "https://a.evil.example/", uriTrees([], ["evil.example"]), "excluded (evil.example)"],
    ["a host merely ending like an excluded one: GnuTLS refuses any URI there", "https://notevil.example/", uriTrees([".example"], ["evil.example"]), "a URI under an excluded URI subtree (evil.example), which GnuTLS refuses whatever its host"],
    // Without URI subtrees a URI is free, whatever the DNS, IP and email subtrees say (all three verifiers agree).
    ["no host, DNS subtrees only", "urn:x:y", constraints([".test"], ["evil.example"]), null],
    ["a host outside DNS subtrees", "https://evil.example/", constraints([".test"], ["evil.example"]), null],
    ["URI subtrees do not judge DNS names", "https://a.svc.test/", uriTrees([".svc.test"], [], [{ type: "dns", value: ".test" }]), null],
  ])("%s: %s", (_what, value, spec, violation) => {
    expect(constraintViolation(uri(value), spec)).toBe(violation);
  });
  it("a DNS name is not judged by URI subtrees", () => {
    expect(constraintViolation(dns("evil.example"), uriTrees([".svc.test"]))).toBeNull();
  });
});

describe("name constraints: cases the re-run's survivors pointed at", () => {
  const sub = (type: "dns" | "email" | "uri", value: string) => ({ type, value });
  it("a mailbox base matches that mailbox at that host only", () => {
    expect(constraintViolation({ type: "email", value: "bob@y.test" }, { permitted: [sub("email", "bob@x.test")], excluded: [] })).toBe("not within the permitted email domains (bob@x.test)");
    expect(constraintViolation({ type: "email", value: "bob@X.test" }, { permitted: [sub("email", "bob@x.test")], excluded: [] })).toBeNull();
  });

  it("a URI without a host is refused under any URI subtree, even beside subtrees of other types", () => {
    expect(constraintViolation({ type: "uri", value: "urn:x:y" }, { permitted: [sub("dns", ".test"), sub("uri", ".x.test")], excluded: [] })).toBe(
      "a URI without a host name (or with an IP address) under URI constraints, which OpenSSL and Go refuse",
    );
  });

  it("an excluded URI subtree refuses URIs only, not DNS names", () => {
    expect(constraintViolation({ type: "dns", value: "a.x.test" }, { permitted: [], excluded: [sub("uri", ".x.test")] })).toBeNull();
  });

  it("a subtree of one type is never within one of another: a DNS subtree under an excluded email domain narrows", () => {
    expect(subtreeWithin(sub("dns", ".x.a.test"), sub("email", "a.test"))).toBe(false);
    expect(subtreeWithin(sub("email", ".test"), sub("email", ".test"))).toBe(true);
    expect(subtreeWithin(sub("email", ".a.test"), sub("email", ".test"))).toBe(true);
  });
});
