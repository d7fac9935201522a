import { describe, expect, it } from "vitest";
import { allowedByRules, identifierName, identifierRefusal, parseAllowRule, resolveOverride, type AllowRule } from "../../src/config/acme.js";
import { parseConfig } from "../../src/config/parse.js";

const base = (acme: string) => `version: 1
cas:
  root:
    nameConstraints: { permitted: [.test, 127.0.0.0/8] }
  intermediate:
    issuer: root
servers:
  web:
    issuer: intermediate
    altNames: [web.test]
acme:
${acme}
`;

function errors(acme: string): string[] {
  return parseConfig(base(acme), "pki.yaml").diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}: ${d.message}`);
}

describe("pki.yaml acme:", () => {
  it("normalises a valid block with its defaults", () => {
    const { config, diagnostics } = parseConfig(base("  ca: intermediate\n  allow: [.test, 127.0.0.1, 10.0.0.0/8]\n  resolve: { '*.web.test': 127.0.0.1 }"), "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.acme).toMatchObject({
      ca: "intermediate",
      listen: { host: "127.0.0.1", port: 14000 },
      server: null,
      validitySeconds: 7 * 86400,
      challenges: ["http-01", "tls-alpn-01"],
      httpPort: 80,
      tlsPort: 443,
      allow: [{ type: "suffix", value: "test" }, { type: "ip", value: "127.0.0.1", prefix: 32 }, { type: "ip", value: "10.0.0.0", prefix: 8 }],
      resolve: [{ pattern: "*.web.test", address: "127.0.0.1" }],
    });
  });

  it("reports each mistake at its line", () => {
    expect(errors("  ca: nope\n  allow: [.test]")).toEqual([`12: acme.ca names no CA: "nope" is not under cas`]);
    expect(errors("  ca: root\n  allow: [.test]")[0]).toContain("acme.ca is the root CA root; name an intermediate, or set allowRoot: true");
    expect(errors("  ca: root\n  allowRoot: true\n  allow: [.test]")).toEqual([]);
    expect(errors("  ca: intermediate\n  server: intermediate\n  allow: [.test]")[0]).toContain(`acme.server names no server`);
    expect(errors("  ca: intermediate\n  allow: [.test, 'bad name', 10.0.0.0/99]")).toEqual([
      expect.stringContaining(`"bad name" is not a name, .suffix or IP range`),
      expect.stringContaining(`"10.0.0.0/99" is not an IP range`),
    ]);
    expect(errors("  ca: intermediate\n  allow: [.test]\n  listen: localhost")[0]).toContain(`listen "localhost" is not host:port`);
    expect(errors("  ca: intermediate\n  allow: [.test]\n  resolve: { web.test: not-an-ip }")[0]).toContain(`"not-an-ip" is not an IP address`);
    expect(errors("  ca: intermediate\n  allow: [.test]\n  challenge: [http-01]")[0]).toContain(`unknown field "challenge"; did you mean challenges?`);
    expect(errors("  ca: intermediate")[0]).toContain(`missing required field "allow"`);
  });
});

describe("what the endpoint issues for", () => {
  const rules = [".squirrels.test", "localhost", "127.0.0.0/8", "example.com"].map((t) => parseAllowRule(t) as AllowRule);
  const dns = (value: string) => ({ type: "dns" as const, value });

  it("matches exact names, names below a .suffix and addresses in a range", () => {
    expect(allowedByRules(dns("a.squirrels.test"), rules)).toBe(true);
    expect(allowedByRules(dns("a.b.squirrels.test"), rules)).toBe(true);
    expect(allowedByRules(dns("squirrels.test"), rules)).toBe(false);
    expect(allowedByRules(dns("localhost"), rules)).toBe(true);
    expect(allowedByRules(dns("x.localhost"), rules)).toBe(false);
    expect(allowedByRules(dns("x.example.com"), rules)).toBe(false);
    expect(allowedByRules({ type: "ip", value: "127.9.9.9" }, rules)).toBe(true);
    expect(allowedByRules({ type: "ip", value: "10.0.0.1" }, rules)).toBe(false);
  });

  it("intersects allow with the name constraints of every CA on the path", () => {
    const ca = (name: string, permitted: string[]) => ({ name, nameConstraints: { permitted: permitted.map((value) => ({ type: "dns" as const, value })), excluded: [] } }) as never;
    expect(identifierRefusal(dns("example.com"), { allow: rules }, [ca("intermediate", []), ca("root", [".test"])])).toContain("outside the name constraints of CA root");
    expect(identifierRefusal(dns("a.squirrels.test"), { allow: rules }, [ca("intermediate", []), ca("root", [".test"])])).toBeNull();
    expect(identifierRefusal(dns("a.other.test"), { allow: rules }, [])).toContain("not in the acme allow list");
  });

  it("reads identifiers: dns, ip, and refuses wildcards and IPs typed as dns", () => {
    expect(identifierName({ type: "dns", value: "Web.Squirrels.TEST" })).toEqual(dns("web.squirrels.test"));
    expect(identifierName({ type: "ip", value: "::1" })).toEqual({ type: "ip", value: "::1" });
    expect(identifierName({ type: "dns", value: "*.squirrels.test" })).toContain("wildcards need dns-01");
    expect(identifierName({ type: "dns", value: "127.0.0.1" })).toContain("use an identifier of type ip");
    expect(identifierName({ type: "email", value: "a@b.test" })).toContain("not supported");
  });

  it("resolves exact names before the longest *.suffix", () => {
    const resolve = [{ pattern: "*.test", address: "10.0.0.1" }, { pattern: "*.web.test", address: "10.0.0.2" }, { pattern: "api.web.test", address: "10.0.0.3" }];
    expect(resolveOverride("api.web.test", resolve)).toBe("10.0.0.3");
    expect(resolveOverride("x.web.test", resolve)).toBe("10.0.0.2");
    expect(resolveOverride("x.test", resolve)).toBe("10.0.0.1");
    expect(resolveOverride("web.test.example", resolve)).toBeNull();
  });
});
