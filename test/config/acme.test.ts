import { describe, expect, it } from "vitest";
import { acmeBaseUrl, acmeDirectoryUrl, acmePublicHost, allowedByRules, identifierName, identifierRefusal, parseAllowRule, resolveOverride, type AllowRule } from "../../src/config/acme.js";
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

describe("acme: every field, at its line (config/acme.ts normalizeAcme)", () => {
  const yaml = (acme: string) => `version: 1\ncas:\n  root: {}\n  int: { issuer: root }\n  ext: { external: { cert: c.pem } }\nservers:\n  web: { issuer: int, altNames: [web.test] }\nacme:\n${acme}\n`;
  const problems = (acme: string) => parseConfig(yaml(acme), "pki.yaml").diagnostics.map((d) => `${d.severity} ${d.line}:${d.col} ${d.path}: ${d.message}`);

  it("every field set, and where the block is", () => {
    const { config, diagnostics } = parseConfig(yaml('  ca: int\n  server: web\n  allow: [.Test, a.test]\n  listen: "[::1]:8443"\n  validity: 1d\n  keyTypes: [rsa-2048]\n  challenges: [http-01, http-01]\n  httpPort: 8080\n  tlsPort: 8443\n  resolve: { "*.W.test": "::1", a.test: 10.0.0.1 }\n  externalAccountBinding: { kid1: HMAC_ONE }'), "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.acme).toEqual({
      ca: "int",
      listen: { host: "::1", port: 8443 },
      server: "web",
      allow: [{ type: "suffix", value: "test" }, { type: "dns", value: "a.test" }],
      validitySeconds: 86_400,
      keyTypes: ["rsa-2048"],
      challenges: ["http-01"],
      httpPort: 8080,
      tlsPort: 8443,
      resolve: [{ pattern: "*.w.test", address: "::1" }, { pattern: "a.test", address: "10.0.0.1" }],
      eab: [{ keyId: "kid1", hmacEnv: "HMAC_ONE" }],
      at: { file: "pki.yaml", line: 8, col: 1, path: "acme" },
    });
  });

  it("the defaults", () => {
    const { config } = parseConfig(yaml("  ca: int\n  allow: [.test]"), "pki.yaml");
    expect(config!.acme).toMatchObject({ listen: { host: "127.0.0.1", port: 14000 }, server: null, validitySeconds: 7 * 86_400, keyTypes: ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"], challenges: ["http-01", "tls-alpn-01"], httpPort: 80, tlsPort: 443, resolve: [], eab: [] });
  });

  it("the CA: a CA, not a root unless allowed, not keyless", () => {
    expect(problems("  ca: web\n  allow: [.test]")).toEqual(['error 9:7 acme.ca: acme.ca names no CA: "web" is not under cas']);
    expect(problems("  ca: ext\n  allow: [.test]")).toEqual(["error 9:7 acme.ca: acme.ca is the root CA ext; name an intermediate, or set allowRoot: true to sign from the root"]);
    expect(problems("  ca: ext\n  allowRoot: true\n  allow: [.test]")).toEqual(["error 9:7 acme.ca: CA ext is external without a key: it cannot sign ACME orders here"]);
    expect(problems("  ca: root\n  allowRoot: false\n  allow: [.test]")).toHaveLength(1);
  });

  it("listen: host:port with a port from 1 to 65535", () => {
    expect(problems('  ca: int\n  allow: [.test]\n  listen: "127.0.0.1:0"')).toEqual(['error 11:11 acme.listen: listen "127.0.0.1:0" is not host:port (such as 127.0.0.1:14000 or [::1]:14000)']);
    expect(problems('  ca: int\n  allow: [.test]\n  listen: "127.0.0.1:65536"')).toHaveLength(1);
    expect(problems('  ca: int\n  allow: [.test]\n  listen: "[::1:1"')).toHaveLength(1);
    expect(problems('  ca: int\n  allow: [.test]\n  listen: "x:1:2"')).toHaveLength(1);
    expect(parseConfig(yaml('  ca: int\n  allow: [.test]\n  listen: "0.0.0.0:65535"'), "pki.yaml").config!.acme!.listen).toEqual({ host: "0.0.0.0", port: 65535 });
    expect(parseConfig(yaml('  ca: int\n  allow: [.test]\n  listen: "localhost:1"'), "pki.yaml").config!.acme!.listen).toEqual({ host: "localhost", port: 1 });
  });

  it("acme.server and allow entries are reported at their own lines; an external CA with a key signs", () => {
    expect(problems("  ca: int\n  server: nope\n  allow: [.test, -x]")).toEqual([
      'error 10:11 acme.server: acme.server names no server: "nope" is not under servers',
      'error 11:18 acme.allow[1]: "-x" is not a name, .suffix or IP range: "-x" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)',
    ]);
    const withKey = "version: 1\ncas:\n  ext: { external: { cert: c.pem, key: k.pem } }\nservers:\n  web: { issuer: ext, altNames: [web.test] }\nacme:\n  ca: ext\n  allowRoot: true\n  allow: [.test]\n";
    expect(parseConfig(withKey, "pki.yaml").diagnostics).toEqual([]);
    // A resolve key may start with one "*." only.
    expect(problems('  ca: int\n  allow: [.test]\n  resolve: { "*.*.test": 127.0.0.1 }')).toEqual([
      'error 11:14 acme.resolve["*.*.test"]: resolve key "*.*.test" is not a name or *.suffix: "*.test": a wildcard is not allowed here',
    ]);
  });

  it("resolve keys and addresses, EAB variable names, each at its entry", () => {
    expect(problems('  ca: int\n  allow: [.test]\n  resolve: { "*.-x": 127.0.0.1, "-y.test": 127.0.0.1, ok.test: nope }')).toEqual([
      'error 11:14 acme.resolve["*.-x"]: resolve key "*.-x" is not a name or *.suffix: "-x" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)',
      'error 11:33 acme.resolve["-y.test"]: resolve key "-y.test" is not a name or *.suffix: "-y.test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)',
      'error 11:64 acme.resolve["ok.test"]: resolve "ok.test": "nope" is not an IP address',
    ]);
    expect(problems('  ca: int\n  allow: [.test]\n  externalAccountBinding: { kid1: "1BAD", kid2: OK_2, kid3: "A-B" }')).toEqual([
      'error 11:35 acme.externalAccountBinding.kid1: "1BAD" is not an environment variable name',
      'error 11:61 acme.externalAccountBinding.kid3: "A-B" is not an environment variable name',
    ]);
  });
});

describe("acme URLs and allow rules", () => {
  it("an unspecified listen address is reached as localhost; IPv6 in brackets; a bound port replaces the configured one", () => {
    expect([acmePublicHost("0.0.0.0"), acmePublicHost("::"), acmePublicHost("::1"), acmePublicHost("a.test")]).toEqual(["localhost", "localhost", "::1", "a.test"]);
    expect(acmeBaseUrl({ listen: { host: "::1", port: 1 } })).toBe("https://[::1]:1");
    expect(acmeBaseUrl({ listen: { host: "::", port: 1 } })).toBe("https://localhost:1");
    expect(acmeBaseUrl({ listen: { host: "a.test", port: 2 } }, 3)).toBe("https://a.test:3");
    expect(acmeDirectoryUrl({ listen: { host: "127.0.0.1", port: 14000 } })).toBe("https://127.0.0.1:14000/directory");
  });

  it.each([
    ["10.0.0.0/33", '"10.0.0.0/33" is not an IP range such as 10.0.0.0/8'],
    ["::/129", '"::/129" is not an IP range such as 10.0.0.0/8'],
    ["x/8", '"x/8" is not an IP range such as 10.0.0.0/8'],
    [".-a", '".-a" is not a name, .suffix or IP range: "-a" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    // A range is the whole entry: text after its prefix makes it no range (and no name).
    ["10.0.0.0/8x", '"10.0.0.0/8x" is not a name, .suffix or IP range: "10.0.0.0/8x" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    // A wildcard is no allow entry: .suffix says "every name below".
    ["*.test", '"*.test" is not a name, .suffix or IP range: "*.test": a wildcard is not allowed here'],
    ["::/128", { type: "ip", value: "::", prefix: 128 }],
    ["10.1.2.3/32", { type: "ip", value: "10.1.2.3", prefix: 32 }],
    ["10.1.2.3/8", { type: "ip", value: "10.0.0.0", prefix: 8 }],
    ["::1", { type: "ip", value: "::1", prefix: 128 }],
    ["1.2.3.4", { type: "ip", value: "1.2.3.4", prefix: 32 }],
    [".Test", { type: "suffix", value: "test" }],
  ])("allow %j", (text, expected) => {
    expect(parseAllowRule(text)).toEqual(expected);
  });

  it("identifiers that are no names", () => {
    expect(identifierName({ type: "ip", value: "web.test" })).toBe('"web.test" is not an IP address');
    expect(identifierName({ type: "dns", value: "-x.test" })).toBe('"-x.test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)');
    expect(identifierName({ type: "dns", value: "*.x.test" })).toBe('"*.x.test": wildcards need dns-01, which this endpoint does not offer');
    expect(identifierName({ type: "dns", value: "::1" })).toBe('"::1" is an IP address in a dns identifier; use an identifier of type ip (RFC 8738)');
    expect(identifierName({ type: "email", value: "a@b.test" })).toBe('identifier type "email" is not supported (dns and ip are)');
    expect(identifierName({ type: "dns", value: "a.*.test" })).toBe('"a.*.test": a wildcard is not allowed here');
  });

  it("an IP is allowed only by an IP rule, a name only by a name rule", () => {
    const rules = ["10.0.0.0/8", "a.test", ".b.test"].map((t) => parseAllowRule(t) as AllowRule);
    expect(allowedByRules({ type: "ip", value: "10.1.1.1" }, rules)).toBe(true);
    expect(allowedByRules({ type: "ip", value: "::1" }, rules)).toBe(false);
    expect(allowedByRules({ type: "dns", value: "a.test" }, rules)).toBe(true);
    expect(allowedByRules({ type: "dns", value: "x.a.test" }, rules)).toBe(false);
    expect(allowedByRules({ type: "dns", value: "x.b.test" }, rules)).toBe(true);
    expect(allowedByRules({ type: "dns", value: "xb.test" }, rules)).toBe(false);
    expect(allowedByRules({ type: "email", value: "x@a.test" }, rules)).toBe(false);
    // A .suffix of digits is a DNS rule: an IP whose text ends the same way is not below it.
    expect(allowedByRules({ type: "ip", value: "10.0.0.1" }, [parseAllowRule(".0.0.1") as AllowRule])).toBe(false);
    expect(allowedByRules({ type: "dns", value: "a.0.0.1" }, [parseAllowRule(".0.0.1") as AllowRule])).toBe(true);
    // An exact resolve entry is no suffix: a name below it is not resolved by it.
    expect(resolveOverride("b.a.test", [{ pattern: "a.test", address: "10.0.0.1" }])).toBeNull();
    expect(resolveOverride("b.a.test", [{ pattern: "*.a.test", address: "10.0.0.2" }])).toBe("10.0.0.2");
    expect(identifierRefusal({ type: "dns", value: "x.b.test" }, { allow: rules }, [{ name: "free", nameConstraints: null } as never])).toBeNull();
  });
});
