// Defaults and normalisation of each identity (src/config/normalize.ts), in process: what an entry of pki.yaml
// becomes once its defaults are applied, field by field, and the located errors for entries normalisation
// itself refuses (alt names, name-constraint subtrees, a revokedReason without revoked). Fast on purpose: the
// mutation run (docs/MUTATION.md) reaches only what a test computes in its own body.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { parseConstraint } from "../../src/config/normalize.js";
import type { IdentitySpec } from "../../src/config/types.js";

const byName = (yaml: string): Map<string, IdentitySpec> => {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return new Map(config!.identities.map((id) => [id.name, id]));
};
const problems = (yaml: string) =>
  parseConfig(yaml, "pki.yaml").diagnostics.map((d) => `${d.severity === "error" ? "E" : "W"} ${d.line}:${d.col} ${d.path}: ${d.message}`);

const DAY = 86_400;
const YEAR = 365 * DAY;

describe("built-in defaults", () => {
  it("a bare root, intermediate, server and client", () => {
    const ids = byName("version: 1\ncas:\n  root: {}\n  sub: { issuer: root }\nservers:\n  web: { issuer: sub, altNames: [10.0.0.1, Web.Test, other.test] }\nclients:\n  bob: { issuer: sub }\n");
    expect(ids.get("root")).toEqual({
      name: "root",
      kind: "ca",
      issuer: null,
      subject: { commonName: "root" },
      altNames: [],
      key: "ecdsa-p256",
      validitySeconds: 10 * YEAR,
      renewBefore: { kind: "fraction", value: 1 / 3, text: "1/3" },
      pathLength: null,
      nameConstraints: null,
      rotateKey: "never",
      passphraseEnv: null,
      formats: [],
      p12PassphraseEnv: null,
      serve: null,
      afterChange: null,
      external: null,
      revoked: null,
      revokeSuperseded: false,
      crl: { validitySeconds: 7 * DAY, refreshBefore: { kind: "fraction", value: 1 / 2, text: "1/2" }, url: null },
      yamlPath: ["cas", "root"],
    });
    expect(ids.get("sub")).toMatchObject({ issuer: "root", validitySeconds: 5 * YEAR, rotateKey: "never" });
    // A server's commonName is its first DNS alt name (not an IP), as normalised.
    expect(ids.get("web")).toEqual({
      name: "web",
      kind: "server",
      issuer: "sub",
      subject: { commonName: "web.test" },
      altNames: [
        { type: "ip", value: "10.0.0.1" },
        { type: "dns", value: "web.test" },
        { type: "dns", value: "other.test" },
      ],
      key: "ecdsa-p256",
      validitySeconds: 90 * DAY,
      renewBefore: { kind: "fraction", value: 1 / 3, text: "1/3" },
      pathLength: null,
      nameConstraints: null,
      rotateKey: "always",
      passphraseEnv: null,
      formats: [],
      p12PassphraseEnv: null,
      serve: null,
      afterChange: null,
      external: null,
      revoked: null,
      revokeSuperseded: false,
      crl: null,
      yamlPath: ["servers", "web"],
    });
    expect(ids.get("bob")).toMatchObject({ kind: "client", subject: { commonName: "bob" }, altNames: [], validitySeconds: 90 * DAY, rotateKey: "always", crl: null });
  });

  it("a server without a DNS alt name is named after itself; a client after itself even with one", () => {
    const ids = byName("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [127.0.0.1] }\nclients:\n  bob: { issuer: root, altNames: [bob.test] }\n");
    expect(ids.get("web")!.subject).toEqual({ commonName: "web" });
    expect(ids.get("bob")!.subject).toEqual({ commonName: "bob" });
  });
});

describe("defaults: and the entry's own fields", () => {
  const yaml = `version: 1
defaults:
  key: rsa-3072
  validity: 30d
  renewBefore: 7d
  rotateKey: never
  revokeSuperseded: true
  subject: { organization: Acme, country: SE }
  passphraseEnv: PASS
  afterChange: [systemctl, reload, nginx]
  afterChangeTimeout: 2m
cas:
  root: { validity: 2y }
  ext: { external: { cert: ca.pem } }
  extkey: { external: { cert: ca.pem, key: ca-key.pem, chain: chain.pem } }
servers:
  web:
    issuer: root
    altNames: [web.test]
    commonName: Web Front
    subject: { organization: Other, locality: Here }
    key: ecdsa-p384
    validity: 10d
    renewBefore: 1/4
    rotateKey: always
    revokeSuperseded: false
    passphraseEnv: WEB_PASS
    p12PassphraseEnv: P12
    formats: [pem, p12, der, p12, combined]
    afterChange: reload-web
clients:
  bob: { issuer: root }
`;

  it("defaults apply to every identity they fit; a CA never rotates or revokes a superseded key", () => {
    const ids = byName(yaml);
    expect(ids.get("root")).toMatchObject({
      key: "rsa-3072",
      validitySeconds: 2 * YEAR,
      renewBefore: { kind: "duration", seconds: 7 * DAY, text: "7d" },
      rotateKey: "never",
      revokeSuperseded: false,
      passphraseEnv: "PASS",
      subject: { organization: "Acme", country: "SE", commonName: "root" },
      afterChange: { command: ["systemctl", "reload", "nginx"], timeoutSeconds: 120 },
    });
    expect(ids.get("bob")).toMatchObject({
      key: "rsa-3072",
      validitySeconds: 30 * DAY,
      rotateKey: "never",
      revokeSuperseded: true,
      passphraseEnv: "PASS",
      subject: { organization: "Acme", country: "SE", commonName: "bob" },
    });
  });

  it("the entry's own fields win, subject fields merge one by one, pem and repeats leave formats", () => {
    const web = byName(yaml).get("web")!;
    expect(web).toMatchObject({
      key: "ecdsa-p384",
      validitySeconds: 10 * DAY,
      renewBefore: { kind: "fraction", value: 1 / 4, text: "1/4" },
      rotateKey: "always",
      revokeSuperseded: false,
      passphraseEnv: "WEB_PASS",
      p12PassphraseEnv: "P12",
      formats: ["p12", "der", "combined"],
      afterChange: { command: "reload-web", timeoutSeconds: 120 },
    });
    expect(web.subject).toEqual({ organization: "Other", country: "SE", locality: "Here", commonName: "Web Front" });
  });

  it("an external CA: its files as written, a placeholder lifetime, and no default passphrase without a key", () => {
    const ids = byName(yaml);
    expect(ids.get("ext")).toMatchObject({ external: { cert: "ca.pem", key: null, chain: null }, validitySeconds: 1000 * YEAR, passphraseEnv: null });
    expect(ids.get("extkey")).toMatchObject({ external: { cert: "ca.pem", key: "ca-key.pem", chain: "chain.pem" }, validitySeconds: 1000 * YEAR, passphraseEnv: "PASS" });
  });

  it("a hook's timeout defaults to 5 minutes; the entry's timeout wins", () => {
    const ids = byName("version: 1\ncas:\n  root: { afterChange: a }\n  two: { afterChange: b, afterChangeTimeout: 1h }\n");
    expect(ids.get("root")!.afterChange).toEqual({ command: "a", timeoutSeconds: 300 });
    expect(ids.get("two")!.afterChange).toEqual({ command: "b", timeoutSeconds: 3600 });
  });
});

describe("CA fields", () => {
  it("pathLength, CRL settings and name constraints as written", () => {
    const ids = byName(`version: 1
cas:
  root:
    pathLength: 0
    crlValidity: 2d
    crlRefreshBefore: 12h
    crlUrl: http://crl.test/root.crl
    nameConstraints: { permitted: [.Example.TEST, 10.1.2.3/8, "@Mail.test", "bob@x.test", "::1", 192.168.0.1], excluded: [secret.example.test] }
`);
    expect(ids.get("root")).toMatchObject({
      pathLength: 0,
      crl: { validitySeconds: 2 * DAY, refreshBefore: { kind: "duration", seconds: 12 * 3600, text: "12h" }, url: "http://crl.test/root.crl" },
      nameConstraints: {
        permitted: [
          { type: "dns", value: ".example.test" },
          { type: "ip", value: "10.0.0.0", prefix: 8 },
          { type: "email", value: "Mail.test" },
          { type: "email", value: "bob@x.test" },
          { type: "ip", value: "::1", prefix: 128 },
          { type: "ip", value: "192.168.0.1", prefix: 32 },
        ],
        excluded: [{ type: "dns", value: "secret.example.test" }],
      },
    });
  });

  it("a list of constraints left out is empty", () => {
    const ids = byName("version: 1\ncas:\n  a: { nameConstraints: { permitted: [.test] } }\n  b: { nameConstraints: { excluded: [.test] } }\n");
    expect(ids.get("a")!.nameConstraints).toEqual({ permitted: [{ type: "dns", value: ".test" }], excluded: [] });
    expect(ids.get("b")!.nameConstraints).toEqual({ permitted: [], excluded: [{ type: "dns", value: ".test" }] });
  });

  it("each subtree that is none is reported at its own entry", () => {
    expect(problems("version: 1\ncas:\n  root:\n    nameConstraints:\n      permitted: [.test, 10.0.0.0/33, -x.test]\n      excluded: [a@-b.test, \"::/129\"]\nservers:\n  web: { issuer: root, altNames: [a.test, 10.0.0.1, x@y.test] }\n")).toEqual([
      'E 5:26 cas.root.nameConstraints.permitted[1]: "10.0.0.0/33" is not a valid IP range (use CIDR such as 127.0.0.0/8 or ::1/128)',
      'E 5:39 cas.root.nameConstraints.permitted[2]: "-x.test" is not a valid DNS name constraint: "-x.test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)',
      'E 6:18 cas.root.nameConstraints.excluded[0]: "a@-b.test" is not a valid email constraint',
      'E 6:29 cas.root.nameConstraints.excluded[1]: "::/129" is not a valid IP range (use CIDR such as 127.0.0.0/8 or ::1/128)',
    ]);
  });
});

describe("parseConstraint", () => {
  it.each([
    ["10.1.2.3/8", { type: "ip", value: "10.0.0.0", prefix: 8 }],
    ["10.1.2.3/32", { type: "ip", value: "10.1.2.3", prefix: 32 }],
    ["10.1.2.3/0", { type: "ip", value: "0.0.0.0", prefix: 0 }],
    ["2001:db8::1/128", { type: "ip", value: "2001:db8::1", prefix: 128 }],
    ["2001:db8::1/32", { type: "ip", value: "2001:db8::", prefix: 32 }],
    ["10.1.2.3", { type: "ip", value: "10.1.2.3", prefix: 32 }],
    ["::1", { type: "ip", value: "::1", prefix: 128 }],
    ["@example.test", { type: "email", value: "example.test" }],
    ["@.example.test", { type: "email", value: ".example.test" }],
    ["bob@example.test", { type: "email", value: "bob@example.test" }],
    ["a@b@example.test", { type: "email", value: "a@b@example.test" }],
    [".Example.Test", { type: "dns", value: ".example.test" }],
    ["Example.Test", { type: "dns", value: "example.test" }],
    ["localhost", { type: "dns", value: "localhost" }],
  ])("%s", (text, expected) => {
    expect(parseConstraint(text)).toEqual(expected);
  });

  it.each([
    ["10.0.0.0/33", "is not a valid IP range"],
    ["::/129", "is not a valid IP range"],
    ["10.0.0.0/1000", "is not a valid DNS name constraint"],
    ["x/8", "is not a valid IP range"],
    ["/8", "is not a valid DNS name constraint"],
    ["bob@", "is not a valid email constraint"],
    ["@-x.test", "is not a valid email constraint"],
    ["a..test", "is not a valid DNS name constraint"],
    ["@*.test", "is not a valid email constraint"],
    ["@a..test", "is not a valid email constraint"],
    ["bob@x..test", "is not a valid email constraint"],
    ["*.test", 'is not a valid DNS name constraint: "*.test": a wildcard is not allowed here'],
  ])("%s is refused", (text, why) => {
    const result = parseConstraint(text);
    expect(typeof result).toBe("string");
    expect(result).toContain(`"${text}" ${why}`);
  });

  it("IPv6 ranges go up to /128, IPv4 ranges to /32", () => {
    expect(parseConstraint("::/128")).toEqual({ type: "ip", value: "::", prefix: 128 });
    expect(parseConstraint("::/33")).toEqual({ type: "ip", value: "::", prefix: 33 });
    expect(typeof parseConstraint("0.0.0.0/33")).toBe("string");
  });
});

describe("alt names", () => {
  it("invalid and duplicate entries are reported at their index, the rest kept in order", () => {
    const yaml = "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test, -b.test, A.TEST, 10.0.0.1, 10.0.0.01, c.test] }\n";
    const found = problems(yaml);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^E 5:43 servers\.web\.altNames\[1\]: "-b\.test" is not a valid DNS name/);
    expect(found[1]).toBe('E 5:52 servers.web.altNames[2]: duplicate alt name "A.TEST"');
    expect(found[2]).toMatch(/^E 5:70 servers\.web\.altNames\[4\]: /);
  });

  it("the same text as two types is no duplicate", () => {
    const ids = byName("version: 1\ncas:\n  root: {}\nclients:\n  bob: { issuer: root, altNames: [bob@x.test, x.test, \"https://x.test\"] }\n");
    expect(ids.get("bob")!.altNames.map((n) => n.type)).toEqual(["email", "dns", "uri"]);
  });

  it("a SPIFFE ID beside another URI is reported once, at the second URI", () => {
    const yaml = 'version: 1\ncas:\n  root: {}\nclients:\n  bob: { issuer: root, altNames: ["spiffe://t.test/a", b.test, "https://b.test/", "https://c.test/"] }\n';
    expect(problems(yaml)).toEqual([
      'E 5:64 clients.bob.altNames[2]: "spiffe://t.test/a" is a SPIFFE ID, and a certificate with one must hold no other URI ("https://b.test/"): SPIFFE validators refuse it (X509-SVID §2)',
    ]);
    expect(problems('version: 1\ncas:\n  root: {}\nclients:\n  bob: { issuer: root, altNames: ["https://b.test/", "https://c.test/"] }\n')).toEqual([]);
    // Still once when a name of another type follows.
    expect(problems('version: 1\ncas:\n  root: {}\nclients:\n  bob: { issuer: root, altNames: ["spiffe://t.test/a", "https://b.test/", c.test, d.test] }\n')).toHaveLength(1);
  });
});

describe("revocation and serve", () => {
  it("revoked: true takes a reason, unspecified by default; a reason alone is refused at its line", () => {
    const ids = byName("version: 1\ncas:\n  root: {}\nclients:\n  a: { issuer: root, revoked: true }\n  b: { issuer: root, revoked: true, revokedReason: keyCompromise }\n");
    expect(ids.get("a")!.revoked).toEqual({ reason: "unspecified" });
    expect(ids.get("b")!.revoked).toEqual({ reason: "keyCompromise" });
    expect(problems("version: 1\ncas:\n  root: {}\nclients:\n  a: { issuer: root, revokedReason: superseded }\n  b: { issuer: root, revoked: false, revokedReason: superseded }\n")).toEqual([
      "E 5:37 clients.a.revokedReason: revokedReason is only read with revoked: true",
      "E 6:53 clients.b.revokedReason: revokedReason is only read with revoked: true",
    ]);
  });

  it("serve with its defaults and where it is written", () => {
    const yaml = `version: 1
cas:
  root: {}
servers:
  a:
    issuer: root
    altNames: [a.test]
    serve: {}
  b:
    issuer: root
    altNames: [b.test]
    serve:
      host: 127.0.0.1
      port: 8443
      app: server:app
      clientAuth: required
      clientCa: root
      client: bob
clients:
  bob: { issuer: root }
`;
    const ids = byName(yaml);
    expect(ids.get("a")!.serve).toEqual({ at: { file: "pki.yaml", line: 8, col: 5, path: "servers.a.serve" }, appAt: null, host: "localhost", port: 5683, app: null, clientAuth: "none", clientCa: null, client: null });
    expect(ids.get("b")!.serve).toEqual({
      at: { file: "pki.yaml", line: 12, col: 5, path: "servers.b.serve" },
      appAt: { file: "pki.yaml", line: 15, col: 12, path: "servers.b.serve.app" },
      host: "127.0.0.1",
      port: 8443,
      app: "server:app",
      clientAuth: "required",
      clientCa: "root",
      client: "bob",
    });
  });
});
