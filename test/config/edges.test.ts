// Fast, in-process checks of the rules at the edges (names, constraints, durations, times): the unit tests
// the mutation run (npm run mutate) leans on. The e2e twins with real verifiers are in names-and-times.e2e.
import { describe, expect, it } from "vitest";
import { classifyAltName } from "../../src/config/alt-names.js";
import { durationProblem, MAX_DURATION_SECONDS, parseDuration, parseRenewBefore, renewalWindowSeconds } from "../../src/config/duration.js";
import { constraintViolation, dnsWithin } from "../../src/config/name-constraints.js";
import { parseConfig } from "../../src/config/parse.js";
import { commonNameMeaning, constrainedNamesFor, sanFor } from "../../src/config/san.js";
import { parseNow, resolveNow } from "../../src/cli/now.js";
import { encodeTime } from "../../src/x509/encode.js";

const errorsOf = (yaml: string) => parseConfig(yaml, "pki.yaml").diagnostics.filter((d) => d.severity === "error").map((d) => `${d.path}: ${d.message}`);
const warningsOf = (yaml: string) => parseConfig(yaml, "pki.yaml").diagnostics.filter((d) => d.severity === "warning").map((d) => `${d.path}: ${d.message}`);

describe("DNS name constraints: the leading-dot rule (RFC 5280 §4.2.1.10)", () => {
  it("a base matches itself and names with labels added on the left, never a longer label", () => {
    expect(dnsWithin("example.test", "example.test")).toBe(true);
    expect(dnsWithin("a.example.test", "example.test")).toBe(true);
    expect(dnsWithin("A.Example.TEST", "example.test")).toBe(true);
    expect(dnsWithin("badexample.test", "example.test")).toBe(false);
    expect(dnsWithin("example.test.evil", "example.test")).toBe(false);
    expect(dnsWithin("a.example.test", ".example.test")).toBe(true);
    expect(dnsWithin("example.test", ".example.test")).toBe(false);
    expect(dnsWithin("badexample.test", ".example.test")).toBe(false);
  });

  it("plan time: badexample.test is outside example.test, example.test outside .example.test", () => {
    const yaml = (permitted: string, name: string) => `version: 1\ncas:\n  root: { nameConstraints: { permitted: [${permitted}] } }\nservers:\n  web: { issuer: root, altNames: [${name}] }\n`;
    expect(errorsOf(yaml("example.test", "badexample.test"))).toEqual([
      'servers.web.altNames[0]: "badexample.test" is outside the name constraints of CA root (cas.root.nameConstraints, line 3): not within the permitted DNS names (example.test)',
    ]);
    expect(errorsOf(yaml(".example.test", "example.test"))).toHaveLength(1);
    expect(errorsOf(yaml("example.test", "www.example.test"))).toEqual([]);
    expect(errorsOf(yaml("example.test", "example.test"))).toEqual([]);
  });

  it("excluded wins over permitted; other types are not judged by DNS subtrees", () => {
    const constraints = { permitted: [{ type: "dns" as const, value: ".test" }], excluded: [{ type: "dns" as const, value: "secret.test" }] };
    expect(constraintViolation({ type: "dns", value: "a.secret.test" }, constraints)).toMatch(/^excluded/);
    expect(constraintViolation({ type: "dns", value: "a.test" }, constraints)).toBeNull();
    expect(constraintViolation({ type: "ip", value: "10.0.0.1" }, constraints)).toBeNull();
  });
});

describe("what a commonName means", () => {
  it.each([
    ["my-site.com", { kind: "name", name: { type: "dns", value: "my-site.com" } }],
    ["My-Site.COM", { kind: "name", name: { type: "dns", value: "my-site.com" } }],
    ["localhost", { kind: "name", name: { type: "dns", value: "localhost" } }],
    ["*.apps.test", { kind: "name", name: { type: "dns", value: "*.apps.test" } }],
    ["127.0.0.1", { kind: "name", name: { type: "ip", value: "127.0.0.1" } }],
    ["0:0::1", { kind: "name", name: { type: "ip", value: "::1" } }],
    ["bob@example.test", { kind: "name", name: { type: "email", value: "bob@example.test" } }],
    ["Secret Squirrels Root CA", { kind: "display" }],
    ["alice", { kind: "display" }],
    ["bob@", { kind: "display" }],
  ])("%s", (cn, meaning) => {
    expect(commonNameMeaning(cn)).toEqual(meaning);
  });

  it.each(["-a.test", "a-.test", "x.-.test", "a..test", "under_score.test", "x.*.test"])("%s looks like a host but is not a valid one", (cn) => {
    const meaning = commonNameMeaning(cn);
    expect(meaning.kind).toBe("invalid");
    expect(meaning).toMatchObject({ lowerCase: cn.toLowerCase() });
  });

  const identity = (kind: "ca" | "server" | "client", commonName: string, altNames: string[] = []) => ({
    kind,
    subject: { commonName },
    altNames: altNames.map((n) => (classifyAltName(n) as { ok: true; name: never }).name),
  });

  it("a server's host or IP commonName goes first in the SAN unless listed; a client's and a CA's never", () => {
    expect(sanFor(identity("server", "127.0.0.1", ["web.test"]))).toEqual([{ type: "ip", value: "127.0.0.1" }, { type: "dns", value: "web.test" }]);
    expect(sanFor(identity("server", "web.test", ["web.test"]))).toEqual([{ type: "dns", value: "web.test" }]);
    expect(sanFor(identity("server", "web@example.test", ["web.test"]))).toEqual([{ type: "dns", value: "web.test" }]);
    expect(sanFor(identity("server", "Web Server", ["web.test"]))).toEqual([{ type: "dns", value: "web.test" }]);
    expect(sanFor(identity("client", "bob.test"))).toEqual([]);
    expect(sanFor(identity("ca", "root.test"))).toEqual([]);
  });

  it("constrained names: the SAN, plus a leaf's name-like commonName (raw when invalid); CAs' commonNames are not judged", () => {
    expect(constrainedNamesFor(identity("client", "bob.evil.com", ["bob@example.test"]))).toEqual([
      { name: { type: "email", value: "bob@example.test" }, fromCommonName: false },
      { name: { type: "dns", value: "bob.evil.com" }, fromCommonName: true },
    ]);
    expect(constrainedNamesFor(identity("client", "Build_Bot.evil.com"))).toEqual([{ name: { type: "dns", value: "build_bot.evil.com" }, fromCommonName: true }]);
    expect(constrainedNamesFor(identity("server", "web.test", ["a.test"]))).toEqual([
      { name: { type: "dns", value: "web.test" }, fromCommonName: true },
      { name: { type: "dns", value: "a.test" }, fromCommonName: false },
    ]);
    expect(constrainedNamesFor(identity("client", "bob.test", ["bob.test"]))).toEqual([{ name: { type: "dns", value: "bob.test" }, fromCommonName: false }]);
    expect(constrainedNamesFor(identity("ca", "evil.com"))).toEqual([]);
    expect(constrainedNamesFor(identity("client", "Bob Smith"))).toEqual([]);
  });

  it("config: a server's invalid host-like commonName is a located error; a client's is judged by the constraints", () => {
    const yaml = `version: 1\ncas:\n  root: { nameConstraints: { permitted: [.test] } }\nservers:\n  web: { issuer: root, commonName: "x.-.test", altNames: [web.test] }\nclients:\n  bot: { issuer: root, commonName: "bot_1.evil.com" }\n  ok: { issuer: root, commonName: "bot_1.ok.test" }\n`;
    const errors = errorsOf(yaml);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^servers\.web\.commonName: commonName looks like a host name but is not a valid one: "x\.-\.test" is not a valid DNS name/);
    expect(errors[1]).toMatch(/^clients\.bot\.commonName: commonName "bot_1\.evil\.com" .* outside the name constraints of CA root/);
  });
});

describe("durations", () => {
  it("parses h, d, w, y and m; caps at 1000y with its own message", () => {
    expect(parseDuration("12h")).toBe(12 * 3600);
    expect(parseDuration("2y")).toBe(2 * 365 * 86_400);
    expect(parseDuration("1000y")).toBe(MAX_DURATION_SECONDS);
    expect(parseDuration("365000d")).toBe(MAX_DURATION_SECONDS);
    expect(parseDuration("365001d")).toBeUndefined();
    expect(parseDuration("1001y")).toBeUndefined();
    expect(parseDuration("0d")).toBeUndefined();
    expect(parseDuration("1.5d")).toBeUndefined();
    expect(durationProblem("1000y")).toBeUndefined();
    expect(durationProblem("1001y")).toBe("duration 1001y is longer than 1000y, the longest provision accepts (a certificate cannot end after the year 9999)");
    expect(durationProblem("90 days")).toMatch(/^malformed duration "90 days": expected a duration such as/);
  });

  it("renewal windows: a duration as is, a fraction of the lifetime rounded down", () => {
    expect(renewalWindowSeconds(parseRenewBefore("30d")!, 90 * 86_400)).toBe(30 * 86_400);
    expect(renewalWindowSeconds(parseRenewBefore("1/3")!, 100)).toBe(33);
    expect(parseRenewBefore("3/3")).toBeUndefined();
  });

  it("the lifetime lint counts the 5-minute backdate: 825d warns, 824d and 19799h do not", () => {
    const yaml = (validity: string) => `version: 1\ncas:\n  root: { validity: 10y }\nservers:\n  web: { issuer: root, altNames: [web.test], validity: ${validity} }\n`;
    expect(warningsOf(yaml("825d"))).toHaveLength(1);
    expect(warningsOf(yaml("824d"))).toEqual([]);
    expect(warningsOf(yaml("19799h"))).toEqual([]);
    expect(warningsOf(yaml("19800h"))).toHaveLength(1);
  });
});

describe("--now", () => {
  it.each([
    ["2027-03-01T09:00:00Z", "2027-03-01T09:00:00.000Z"],
    ["2027-03-01T09:00Z", "2027-03-01T09:00:00.000Z"],
    ["2027-03-01T09:00:00.250Z", "2027-03-01T09:00:00.250Z"],
    ["2027-03-01t09:00:00z", "2027-03-01T09:00:00.000Z"],
    ["2027-03-01T11:00:00+02:00", "2027-03-01T09:00:00.000Z"],
    ["2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"],
    ["1950-01-01T00:00:00Z", "1950-01-01T00:00:00.000Z"],
    ["8999-12-31T23:59:59Z", "8999-12-31T23:59:59.000Z"],
  ])("%s is %s", (text, iso) => {
    expect(resolveNow(parseNow(text), () => new Date(0)).toISOString()).toBe(iso);
  });

  it.each(["0", "1", "2027", "2027-03-01", "2027-03-01T09:00:00", "2027-02-29T00:00:00Z", "2027-04-31T00:00:00Z", "2027-13-01T00:00:00Z", "2027-01-01T24:00:00Z", "2027-01-01T00:60:00Z", "1949-12-31T23:59:59Z", "9000-01-01T00:00:00Z", "+", "+1.5d", "+1001y", "now"])("%s is refused", (text) => {
    expect(() => parseNow(text)).toThrow(/^--now /);
  });

  it("+duration moves the clock; no --now is the clock", () => {
    const clock = () => new Date("2027-03-01T00:00:00Z");
    expect(resolveNow(parseNow("+36h"), clock).toISOString()).toBe("2027-03-02T12:00:00.000Z");
    expect(resolveNow(null, clock).toISOString()).toBe("2027-03-01T00:00:00.000Z");
  });
});

describe("certificate times (RFC 5280 §4.1.2.5)", () => {
  const encoded = (iso: string) => {
    const der = encodeTime(new Date(iso));
    expect(der[1]).toBe(der.length - 2);
    return `${der[0] === 23 ? "UTCTime" : der[0] === 24 ? "GeneralizedTime" : der[0]} ${der.subarray(2).toString("latin1")}`;
  };
  it.each([
    ["1949-12-31T23:59:59Z", "GeneralizedTime 19491231235959Z"],
    ["1950-01-01T00:00:00Z", "UTCTime 500101000000Z"],
    ["2000-02-29T01:02:03Z", "UTCTime 000229010203Z"],
    ["2049-12-31T23:59:59Z", "UTCTime 491231235959Z"],
    ["2050-01-01T00:00:00Z", "GeneralizedTime 20500101000000Z"],
    ["9999-12-31T23:59:59Z", "GeneralizedTime 99991231235959Z"],
    ["0999-01-01T00:00:00Z", "GeneralizedTime 09990101000000Z"],
  ])("%s → %s", (iso, expected) => {
    expect(encoded(iso)).toBe(expected);
  });

  it("refuses a time after 9999 instead of writing five digits", () => {
    expect(() => encodeTime(new Date("+010000-01-01T00:00:00Z"))).toThrow(/cannot be encoded/);
    expect(() => encodeTime(new Date(Number.NaN))).toThrow(/cannot be encoded/);
  });
});
