// The cross-identity rules (src/config/rules.ts), in process: each case is a pki.yaml a user could write, and
// each expects the exact located messages (line:col, YAML path, text) the user would see, or none for its
// accepted twin one step inside the limit. These are what the mutation run (docs/MUTATION.md) leans on.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { isSafeName, runRules, sortByIssuer } from "../../src/config/rules.js";
import type { IdentitySpec } from "../../src/config/types.js";

/** Every diagnostic as the CLI would list it: severity, line:col, YAML path, message. */
const problems = (yaml: string) =>
  parseConfig(yaml, "pki.yaml").diagnostics.map((d) => `${({ error: "E", warning: "W" } as const)[d.severity]} ${d.line}:${d.col} ${d.path}: ${d.message}`);
const names = (yaml: string) => {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return config!.identities.map((id) => id.name);
};

describe("names become folder names", () => {
  it.each([
    ["a", true],
    ["A9", true],
    ["web.example_1-x", true],
    ["a".repeat(64), true],
    ["a".repeat(65), false],
    ["_a", false],
    [".a", false],
    ["-a", false],
    ["a/b", false],
    ["a\\b", false],
    ["a b", false],
    ["a..b", false],
    ["a.", true],
    ["", false],
  ])("isSafeName(%j) is %s", (name, safe) => {
    expect(isSafeName(name)).toBe(safe);
  });

  it("a name that is too long, or holds a separator, is refused at its key with the reason", () => {
    const long = "a".repeat(65);
    expect(problems(`version: 1\ncas:\n  ${long}: {}\n  "x/y": {}\n  "${"b".repeat(63)}/": {}\n  ${"c".repeat(64)}: {}\n`)).toEqual([
      `E 3:3 cas.${long}: name "${long}" cannot be used as a folder name: longer than 64 characters`,
      `E 4:3 cas["x/y"]: name "x/y" cannot be used as a folder name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
      `E 5:3 cas["${"b".repeat(63)}/"]: name "${"b".repeat(63)}/" cannot be used as a folder name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
    ]);
  });
});

describe("names are unique across sections, ignoring case", () => {
  it("each later use names the first, at its own key", () => {
    const yaml = `version: 1
cas:
  web: {}
servers:
  WEB: { issuer: web, altNames: [a.test] }
clients:
  Web: { issuer: web }
  other: { issuer: web }
`;
    expect(problems(yaml)).toEqual([
      'E 5:3 servers.WEB: name "WEB" is already used by cas.web; names must be unique, ignoring case',
      'E 7:3 clients.Web: name "Web" is already used by cas.web; names must be unique, ignoring case',
    ]);
  });
});

describe("issuers", () => {
  it("an unknown issuer lists the CAs there are, or says none", () => {
    expect(problems("version: 1\ncas:\n  root: {}\n  sub: { issuer: root }\nservers:\n  web: { issuer: rot, altNames: [a.test] }\n")).toEqual([
      'E 6:18 servers.web.issuer: unknown issuer "rot"; defined CAs: root, sub',
    ]);
    expect(problems("version: 1\nservers:\n  web: { issuer: root, altNames: [a.test] }\n")).toEqual([
      'E 3:18 servers.web.issuer: unknown issuer "root"; defined CAs: none',
    ]);
  });

  it("an issuer that is a server or a client is refused by kind", () => {
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test] }\nclients:\n  bob: { issuer: web }\n  eve: { issuer: bob }\n")).toEqual([
      'E 7:18 clients.bob.issuer: issuer "web" is a server, not a CA',
      'E 8:18 clients.eve.issuer: issuer "bob" is a client, not a CA',
    ]);
  });

  it("a CA issued by a server: that is the one problem, not a cycle through it or a path length counted through it", () => {
    expect(problems("version: 1\ncas:\n  root: { pathLength: 0 }\n  x: { issuer: web }\nservers:\n  web: { issuer: x, altNames: [a.test] }\n")).toEqual([
      'E 4:16 cas.x.issuer: issuer "web" is a server, not a CA',
    ]);
    expect(problems("version: 1\ncas:\n  root: { pathLength: 0 }\n  x: { issuer: web }\nservers:\n  web: { issuer: root, altNames: [a.test] }\n")).toEqual([
      'E 4:16 cas.x.issuer: issuer "web" is a server, not a CA',
    ]);
  });

  it("a cycle is reported once for each CA on it, spelled from that CA; a CA below a cycle is not", () => {
    expect(problems("version: 1\ncas:\n  a: { issuer: b }\n  b: { issuer: a }\n  c: { issuer: a }\n  d: { issuer: d }\n")).toEqual([
      "E 3:16 cas.a.issuer: issuer cycle: a → b → a",
      "E 4:16 cas.b.issuer: issuer cycle: b → a → b",
      "E 6:16 cas.d.issuer: issuer cycle: d → d",
    ]);
  });

  it("a longer cycle names every CA on it, and a CA whose issuer is a server ends the walk", () => {
    expect(problems("version: 1\ncas:\n  a: { issuer: b }\n  b: { issuer: c }\n  c: { issuer: a }\n")).toEqual([
      "E 3:16 cas.a.issuer: issuer cycle: a → b → c → a",
      "E 4:16 cas.b.issuer: issuer cycle: b → c → a → b",
      "E 5:16 cas.c.issuer: issuer cycle: c → a → b → c",
    ]);
  });
});

describe("lifetimes", () => {
  it("nothing may outlive its issuer; as long as it is allowed", () => {
    expect(problems("version: 1\ncas:\n  root: { validity: 1y }\n  sub: { issuer: root, validity: 366d }\nservers:\n  web: { issuer: root, validity: 365d, altNames: [a.test] }\n")).toEqual([
      "E 4:34 cas.sub.validity: validity 366d is longer than its issuer root's 1y; a certificate cannot outlive its issuer",
    ]);
  });

  it("an identity under a server is judged by its kind, not by the server's validity", () => {
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, validity: 1d, altNames: [a.test] }\nclients:\n  bob: { issuer: web, validity: 2d }\n")).toEqual([
      'E 7:18 clients.bob.issuer: issuer "web" is a server, not a CA',
    ]);
  });

  it("a renewal window as long as the validity is refused; one minute shorter is not", () => {
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, validity: 10m, renewBefore: 10m, altNames: [a.test] }\n")).toEqual([
      "E 5:52 servers.web.renewBefore: renewBefore 10m is not shorter than the validity 10m; the certificate would be renewed on every run",
    ]);
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, validity: 10m, renewBefore: 9m, altNames: [a.test] }\n")).toEqual([]);
  });

  it("a fraction is taken of the lifetime with its 5-minute backdate", () => {
    // (10m + 5m) × 2/3 = 10m: not shorter than 10m. (10m + 5m) × 1/2 = 7.5m: fine.
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, validity: 10m, renewBefore: 2/3, altNames: [a.test] }\n")).toEqual([
      "E 5:52 servers.web.renewBefore: renewBefore 2/3 (10m of a lifetime that starts 5m early) is not shorter than the validity 10m; the certificate would be renewed on every run",
    ]);
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, validity: 10m, renewBefore: 1/2, altNames: [a.test] }\n")).toEqual([]);
  });

  it("a CA lives whole hours; a leaf may live minutes", () => {
    expect(problems("version: 1\ncas:\n  root: { validity: 90m }\n  two: { validity: 60m }\nservers:\n  web: { issuer: two, validity: 50m, altNames: [a.test] }\n")).toEqual([
      "E 3:21 cas.root.validity: validity 90m is in minutes; minutes are for servers and clients, a CA's validity is given in h, d, w or y",
    ]);
  });
});

describe("pathLength", () => {
  it("pathLength 0 allows no CA below; 1 allows one", () => {
    expect(problems("version: 1\ncas:\n  root: { pathLength: 0 }\n  sub: { issuer: root }\n")).toEqual([
      'E 4:18 cas.sub.issuer: CA "sub" is 1 CA level(s) below "root", whose pathLength 0 allows 0',
    ]);
    expect(problems("version: 1\ncas:\n  root: { pathLength: 1 }\n  sub: { issuer: root }\n")).toEqual([]);
  });

  it("levels are counted through CAs without a pathLength, and only the nearest breach is told", () => {
    expect(problems("version: 1\ncas:\n  root: { pathLength: 1 }\n  mid: { issuer: root, pathLength: 0 }\n  low: { issuer: mid }\n  lower: { issuer: low }\n")).toEqual([
      'E 5:18 cas.low.issuer: CA "low" is 1 CA level(s) below "mid", whose pathLength 0 allows 0',
      'E 6:20 cas.lower.issuer: CA "lower" is 2 CA level(s) below "mid", whose pathLength 0 allows 0',
    ]);
    expect(problems("version: 1\ncas:\n  root: { pathLength: 1 }\n  mid: { issuer: root }\n  low: { issuer: mid }\n")).toEqual([
      'E 5:18 cas.low.issuer: CA "low" is 2 CA level(s) below "root", whose pathLength 1 allows 1',
    ]);
    expect(problems("version: 1\ncas:\n  root: { pathLength: 2 }\n  mid: { issuer: root }\n  low: { issuer: mid }\n")).toEqual([]);
  });

  it("servers and clients are no CA levels", () => {
    expect(problems("version: 1\ncas:\n  root: { pathLength: 0 }\nservers:\n  web: { issuer: root, altNames: [a.test] }\nclients:\n  bob: { issuer: root }\n")).toEqual([]);
  });

  it("a cycle is reported as a cycle, not as an endless path", () => {
    expect(problems("version: 1\ncas:\n  a: { issuer: b, pathLength: 5 }\n  b: { issuer: a, pathLength: 5 }\n")).toEqual([
      "E 3:16 cas.a.issuer: issuer cycle: a → b → a",
      "E 4:16 cas.b.issuer: issuer cycle: b → a → b",
    ]);
  });
});

describe("servers", () => {
  it("a server needs an alt name; an invalid one is reported alone, not again as none", () => {
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [] }\n")).toEqual([
      "E 5:34 servers.web.altNames: a server needs at least one alt name (the host names or IPs clients connect to)",
    ]);
    const [only, ...rest] = problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [-bad.test] }\n");
    expect(rest).toEqual([]);
    expect(only).toMatch(/^E 5:35 servers\.web\.altNames\[0\]: /);
  });

  it("an invalid alt name of another server does not silence the rule", () => {
    const found = problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [] }\n  web2: { issuer: root, altNames: [-bad.test] }\n");
    expect(found).toHaveLength(2);
    expect(found[0]).toBe("E 5:34 servers.web.altNames: a server needs at least one alt name (the host names or IPs clients connect to)");
    expect(found[1]).toMatch(/^E 6:36 servers\.web2\.altNames\[0\]: /);
  });

  it("a server's host-like commonName must be a valid host name; a client's is not judged so", () => {
    expect(problems("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, commonName: -a.test, altNames: [a.test] }\nclients:\n  bob: { issuer: root, commonName: -a.test }\n")).toEqual([
      "E 5:36 servers.web.commonName: commonName looks like a host name but is not a valid one: \"-a.test\" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)",
    ]);
  });
});

describe("serve points at identities", () => {
  const yaml = (serve: string, clients = "clients:\n  bob: { issuer: root }\n") => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test], serve: ${serve} }\n${clients}`;

  it("clientCa must be a CA and client a client", () => {
    expect(problems(yaml("{ clientAuth: required, clientCa: web, client: root }"))).toEqual([
      'E 5:85 servers.web.serve.clientCa: clientCa "web" is not a CA defined under cas',
      'E 5:98 servers.web.serve.client: client "root" is not defined under clients',
    ]);
    expect(problems(yaml("{ clientAuth: required, clientCa: nope, client: nobody }"))).toEqual([
      'E 5:85 servers.web.serve.clientCa: clientCa "nope" is not a CA defined under cas',
      'E 5:99 servers.web.serve.client: client "nobody" is not defined under clients',
    ]);
    expect(problems(yaml("{ clientAuth: required, clientCa: root, client: bob }"))).toEqual([]);
  });

  it("checking clients needs a CA to check them against: a clientCa, or a client whose issuer it takes", () => {
    for (const auth of ["required", "optional"]) {
      expect(problems(yaml(`{ clientAuth: ${auth} }`, ""))).toEqual([
        `E 5:65 servers.web.serve.clientAuth: clientAuth: ${auth} needs a CA to check client certificates against: set serve.clientCa, or define a client under clients`,
      ]);
      expect(problems(yaml(`{ clientAuth: ${auth} }`))).toEqual([]);
      expect(problems(yaml(`{ clientAuth: ${auth}, clientCa: root }`, ""))).toEqual([]);
    }
    expect(problems(yaml("{ clientAuth: none }", ""))).toEqual([]);
  });
});

describe("name constraints across the chain", () => {
  it("every CA above is applied, each located by its own nameConstraints line", () => {
    const yaml = `version: 1
cas:
  root:
    nameConstraints: { permitted: [.test] }
  sub:
    issuer: root
    nameConstraints: { permitted: [.a.test], excluded: [b.a.test] }
servers:
  web: { issuer: sub, altNames: [x.a.test, y.b.a.test, z.example] }
`;
    expect(problems(yaml)).toEqual([
      'E 9:44 servers.web.altNames[1]: "y.b.a.test" is outside the name constraints of CA sub (cas.sub.nameConstraints, line 7): excluded (b.a.test)',
      'E 9:56 servers.web.altNames[2]: "z.example" is outside the name constraints of CA sub (cas.sub.nameConstraints, line 7): not within the permitted DNS names (.a.test)',
      'E 9:56 servers.web.altNames[2]: "z.example" is outside the name constraints of CA root (cas.root.nameConstraints, line 4): not within the permitted DNS names (.test)',
    ]);
  });

  it("a CA between without constraints is passed over; a host-like commonName is judged and named as one", () => {
    const yaml = `version: 1
cas:
  root: { nameConstraints: { permitted: [.test] } }
  sub: { issuer: root }
clients:
  bob: { issuer: sub, commonName: bob.example.com }
  carol: { issuer: sub, commonName: carol.test }
  dave: { issuer: sub, commonName: Dave Example }
`;
    expect(problems(yaml)).toEqual([
      'E 6:35 clients.bob.commonName: commonName "bob.example.com" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of CA root (cas.root.nameConstraints, line 3): not within the permitted DNS names (.test)',
    ]);
  });

  it("a server's commonName copied into the SAN is reported at its alt name when listed, else at commonName", () => {
    const yaml = `version: 1
cas:
  root: { nameConstraints: { permitted: [.test] } }
servers:
  a: { issuer: root, commonName: a.example, altNames: [a.test, a.example] }
  b: { issuer: root, commonName: b.example, altNames: [b.test] }
`;
    expect(problems(yaml)).toEqual([
      'E 5:64 servers.a.altNames[1]: "a.example" is outside the name constraints of CA root (cas.root.nameConstraints, line 3): not within the permitted DNS names (.test)',
      'E 6:34 servers.b.commonName: commonName "b.example" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of CA root (cas.root.nameConstraints, line 3): not within the permitted DNS names (.test)',
    ]);
  });

  it("the first alt name is reported at altNames[0], not at commonName", () => {
    expect(problems("version: 1\ncas:\n  root: { nameConstraints: { permitted: [.test] } }\nservers:\n  web: { issuer: root, altNames: [a.example, b.test] }\n")).toEqual([
      'E 5:35 servers.web.altNames[0]: "a.example" is outside the name constraints of CA root (cas.root.nameConstraints, line 3): not within the permitted DNS names (.test)',
    ]);
  });

  it("inside one of several permitted subtrees of its issuer is narrowing", () => {
    expect(problems("version: 1\ncas:\n  root: { nameConstraints: { permitted: [.a.test, .b.test] } }\n  sub: { issuer: root, nameConstraints: { permitted: [.b.test] } }\n")).toEqual([]);
  });

  it("a CA's own constraints may only narrow its issuers', of the same type, and never into what they exclude", () => {
    const yaml = `version: 1
cas:
  root: { nameConstraints: { permitted: [.test, 10.0.0.0/8], excluded: [secret.test] } }
  mid: { issuer: root }
  sub:
    issuer: mid
    nameConstraints: { permitted: [.a.test, .other, a.secret.test, 10.1.0.0/16, 11.0.0.0/8, "@a.test"] }
`;
    expect(problems(yaml)).toEqual([
      'E 7:45 cas.sub.nameConstraints.permitted[1]: ".other" widens the name constraints of its issuer root; a CA\'s constraints may only narrow its issuer\'s',
      'E 7:53 cas.sub.nameConstraints.permitted[2]: "a.secret.test" widens the name constraints of its issuer root; a CA\'s constraints may only narrow its issuer\'s',
      'E 7:81 cas.sub.nameConstraints.permitted[4]: "11.0.0.0/8" widens the name constraints of its issuer root; a CA\'s constraints may only narrow its issuer\'s',
    ]);
  });
});

describe("lint: leaf lifetimes", () => {
  const yaml = (validity: string, kind = "servers", lint = "") =>
    `version: 1\n${lint}cas:\n  root: { validity: 10y }\n${kind}:\n  x: { issuer: root, validity: ${validity}, altNames: [a.test] }\n`;

  it("a server living 825 days and the backdate is over Apple's cap; 824d is not; a client is not judged by it", () => {
    expect(problems(yaml("825d"))).toEqual([
      "W 5:32 servers.x.validity: validity 825d makes a certificate that lives longer than 825 days (notBefore is backdated 5 minutes for clock skew), the most Apple platforms accept for TLS server certificates (also from private roots); use 824d or less (browsers cap publicly trusted ones at 398 days)",
    ]);
    expect(problems(yaml("824d"))).toEqual([]);
    expect(problems(yaml("900d", "clients"))).toEqual([]);
  });

  it("under 5 minutes is a warning; 5 minutes is not", () => {
    expect(problems(yaml("4m"))).toEqual([
      "W 5:32 servers.x.validity: validity 4m is under 5 minutes: a server may hand out a certificate that expires before a client has finished using it",
    ]);
    expect(problems(yaml("4m", "clients"))).toHaveLength(1);
    expect(problems(yaml("5m"))).toEqual([]);
  });

  it("lint.maxLeafValidity is judged with the backdate, for clients too, and says the longest that fits", () => {
    const lint = "lint: { maxLeafValidity: 90d }\n";
    expect(problems(yaml("90d", "clients", lint))).toEqual([
      "W 6:32 clients.x.validity: validity 90d makes a certificate that lives longer than lint.maxLeafValidity 90d (notBefore is backdated 5 minutes for clock skew); use 89d or less",
    ]);
    expect(problems(yaml("89d", "clients", lint))).toEqual([]);
    // 10d less the 5-minute backdate lives exactly 10d: not longer than the limit.
    expect(problems(yaml("14395m", "clients", "lint: { maxLeafValidity: 10d }\n"))).toEqual([]);
    expect(problems(yaml("14396m", "clients", "lint: { maxLeafValidity: 10d }\n"))).toHaveLength(1);
    // Over the lint's limit, the Apple warning is not given as well: one problem, one message.
    expect(problems(yaml("900d", "servers", lint))).toHaveLength(1);
    expect(problems(`version: 1\n${lint}cas:\n  root: { validity: 10y }\n`)).toEqual([]);
  });
});

describe("revocation", () => {
  it("a root cannot be revoked; what a revoked CA issued must be revoked too", () => {
    const yaml = `version: 1
cas:
  root: { revoked: true }
  sub: { issuer: root }
servers:
  web: { issuer: sub, altNames: [a.test], revoked: true }
`;
    expect(problems(yaml)).toEqual([
      "E 3:20 cas.root.revoked: root root cannot be revoked: no CA above it signs a CRL; remove it from pki.yaml and from every trust store (provision trust uninstall)",
      "E 4:18 cas.sub.issuer: issuer root is revoked: revoke sub too (revoked: true), or give it another issuer",
    ]);
  });

  it("an external CA cannot be revoked here", () => {
    expect(problems("version: 1\ncas:\n  ext: { external: { cert: ca.pem }, revoked: true }\n")).toEqual([
      "E 3:47 cas.ext.revoked: external CA ext cannot be revoked by provision: its CRL is kept by whoever holds its key; remove it from pki.yaml and from the trust stores",
    ]);
  });

  it("serve may not name a revoked client or CA, and warns when every client it would present is revoked", () => {
    const yaml = (serve: string) => `version: 1
cas:
  root: {}
  sub: { issuer: root, revoked: true }
  other: {}
servers:
  web: { issuer: root, altNames: [a.test], serve: ${serve} }
clients:
  bob: { issuer: root, revoked: true }
  eve: { issuer: other, revoked: true }
  amy: { issuer: other }
`;
    expect(problems(yaml("{ clientAuth: optional, client: bob }"))).toEqual(['E 7:83 servers.web.serve.client: client "bob" is revoked; name another client']);
    expect(problems(yaml("{ clientAuth: optional, clientCa: sub }"))).toEqual(['E 7:85 servers.web.serve.clientCa: CA "sub" is revoked; name another CA']);
    expect(problems(yaml("{ clientAuth: required, clientCa: root }"))).toEqual([
      "W 7:65 servers.web.serve.clientAuth: every client web accepts is revoked (bob): its client config (client.env, client.curlrc, provision exec web) presents no certificate, and the server refuses it; add a client, or set serve.clientAuth",
    ]);
    expect(problems(yaml("{ clientAuth: required, clientCa: root }").replace("  amy:", "  carl: { issuer: root, revoked: true }\n  amy:"))).toEqual([
      "W 7:65 servers.web.serve.clientAuth: every client web accepts is revoked (bob, carl): its client config (client.env, client.curlrc, provision exec web) presents no certificate, and the server refuses it; add a client, or set serve.clientAuth",
    ]);
    // optional: the server still answers without a certificate; another CA's client is presented.
    expect(problems(yaml("{ clientAuth: optional, clientCa: root }"))).toEqual([]);
    expect(problems(yaml("{ clientAuth: required }"))).toEqual([]);
    expect(problems(yaml("{ clientAuth: required, clientCa: root, client: amy }"))).toEqual([]);
  });
});

describe("order", () => {
  it("issuers come first; then CAs, servers, clients; then names", () => {
    const yaml = `version: 1
cas:
  z-root: {}
  a-sub: { issuer: z-root }
  b-root: {}
servers:
  n: { issuer: a-sub, altNames: [n.test] }
  m: { issuer: a-sub, altNames: [m.test] }
  c: { issuer: z-root, altNames: [c.test] }
clients:
  a: { issuer: z-root }
`;
    expect(names(yaml)).toEqual(["b-root", "z-root", "a-sub", "c", "a", "m", "n"]);
  });

  it("names of one kind at one depth in order, however they were written", () => {
    const yaml = "version: 1\ncas:\n  root: {}\nclients:\n" + ["d", "b", "f", "a", "e", "c", "g"].map((n) => `  ${n}: { issuer: root }\n`).join("");
    expect(names(yaml)).toEqual(["root", "a", "b", "c", "d", "e", "f", "g"]);
  });

  it("only an error at an entry of a list silences the rule about the list; a warning there, or an error elsewhere, does not", () => {
    const { config } = parseConfig("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test] }\n", "pki.yaml");
    const web = { ...config!.identities[1]!, altNames: [] };
    const diagnostics: Parameters<typeof runRules>[2] = [
      { severity: "warning", file: "pki.yaml", path: "servers.web.altNames[0]", message: "a warning" },
      { severity: "error", file: "pki.yaml", message: "an error of the whole file" },
    ];
    runRules([config!.identities[0]!, web], (path) => ({ file: "pki.yaml", path: path.join(".") }), diagnostics);
    expect(diagnostics.slice(2)).toEqual([{ severity: "error", file: "pki.yaml", path: "servers.web.altNames", message: "a server needs at least one alt name (the host names or IPs clients connect to)" }]);
    runRules([config!.identities[0]!, web], (path) => ({ file: "pki.yaml", path: path.join(".") }), [{ severity: "error", file: "pki.yaml", path: "servers.web.altNames[0]", message: "x" }]);
    const silenced: Parameters<typeof runRules>[2] = [{ severity: "error", file: "pki.yaml", path: "servers.web.altNames[0]", message: "x" }];
    runRules([config!.identities[0]!, web], (path) => ({ file: "pki.yaml", path: path.join(".") }), silenced);
    expect(silenced).toHaveLength(1);
  });

  it("sortByIssuer ends on a missing issuer or a cycle", () => {
    const id = (name: string, kind: IdentitySpec["kind"], issuer: string | null) => ({ name, kind, issuer }) as IdentitySpec;
    const sorted = sortByIssuer([id("s", "server", "gone"), id("b", "ca", "a"), id("a", "ca", "b"), id("r", "ca", null)]);
    expect(sorted.map((i) => i.name)).toEqual(["r", "s", "a", "b"]);
  });

  it("runRules with no lint given applies no maxLeafValidity", () => {
    const { config } = parseConfig("version: 1\ncas:\n  root: { validity: 10y }\nclients:\n  bob: { issuer: root, validity: 5y }\n", "pki.yaml");
    const diagnostics: Parameters<typeof runRules>[2] = [];
    runRules(config!.identities, () => ({ file: "pki.yaml" }), diagnostics);
    expect(diagnostics).toEqual([]);
  });
});
