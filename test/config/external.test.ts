// External CAs in config (src/config/external.ts) and issuer chains (src/config/issuers.ts), in process: which
// fields an external CA may carry, what its certificate's facts (as store/external.ts reads them) allow below it,
// and the chain walk the rules share. The e2e twins with real certificates are in test/e2e/external-ca.e2e.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { resolveExternalSpecs, signsElsewhere, type ExternalCertFacts } from "../../src/config/external.js";
import { identitiesByName, indexByName, issuerChain } from "../../src/config/issuers.js";
import type { Config, IdentitySpec } from "../../src/config/types.js";

const problems = (yaml: string) =>
  parseConfig(yaml, "pki.yaml").diagnostics.map((d) => `${d.severity === "error" ? "E" : "W"} ${d.line}:${d.col} ${d.path}: ${d.message}`);
const config = (yaml: string): Config => {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml", { cwd: "/nonexistent" });
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return config!;
};

describe("the fields of an external CA", () => {
  it("each field its certificate decides is refused at that field, issuer with its own fix", () => {
    const yaml = `version: 1
cas:
  ext:
    external: { cert: ca.pem, key: ca-key.pem }
    issuer: other
    commonName: X
    subject: { organization: O }
    key: rsa-2048
    validity: 1y
    renewBefore: 30d
    pathLength: 1
    nameConstraints: { permitted: [.test] }
    formats: [der]
    p12PassphraseEnv: P12
    afterChange: reload
    afterChangeTimeout: 1m
    passphraseEnv: PASS
  other: {}
`;
    const decided = (line: number, col: number, field: string) => `E ${line}:${col} cas.ext.${field}: ${field} cannot be set on an external CA: its certificate (external.cert) decides it`;
    expect(problems(yaml)).toEqual([
      "E 5:13 cas.ext.issuer: issuer cannot be set on an external CA: give the certificates above it with external.chain",
      decided(6, 17, "commonName"),
      decided(7, 14, "subject"),
      decided(8, 10, "key"),
      decided(9, 15, "validity"),
      decided(10, 18, "renewBefore"),
      decided(11, 17, "pathLength"),
      decided(12, 22, "nameConstraints"),
      decided(13, 14, "formats"),
      decided(14, 23, "p12PassphraseEnv"),
      "E 15:18 cas.ext.afterChange: afterChange cannot be set on an external CA: provision never changes it, so the hook would never run",
      "E 16:25 cas.ext.afterChangeTimeout: afterChangeTimeout cannot be set on an external CA: provision never changes it, so the hook would never run",
    ]);
  });

  it("passphraseEnv decrypts a key: without external.key it is refused; on a CA of its own it is fine", () => {
    expect(problems("version: 1\ncas:\n  ext: { external: { cert: ca.pem }, passphraseEnv: PASS }\n")).toEqual([
      "E 3:53 cas.ext.passphraseEnv: passphraseEnv decrypts external.key, and this external CA has no key",
    ]);
    expect(problems("version: 1\ncas:\n  ext: { external: { cert: ca.pem, key: k.pem }, passphraseEnv: PASS }\n  own: { passphraseEnv: PASS, commonName: Own, pathLength: 1 }\n")).toEqual([]);
  });

  it("a CA cannot stand below a keyless external CA; servers and clients can, and below one with a key a CA can", () => {
    expect(problems("version: 1\ncas:\n  ext: { external: { cert: ca.pem } }\n  sub: { issuer: ext }\nservers:\n  web: { issuer: ext, altNames: [a.test] }\n")).toEqual([
      'E 4:18 cas.sub.issuer: CA "sub" cannot be issued by ext: it is external without a key, and provision sign makes only server and client certificates; add external.key, or make sub external too',
    ]);
    expect(problems("version: 1\ncas:\n  ext: { external: { cert: ca.pem, key: k.pem } }\n  sub: { issuer: ext }\n")).toEqual([]);
  });

  it("signsElsewhere: only an external CA without a key", () => {
    expect(signsElsewhere(null)).toBe(false);
    expect(signsElsewhere(undefined)).toBe(false);
    expect(signsElsewhere({ external: null })).toBe(false);
    expect(signsElsewhere({ external: { cert: "c", key: "k", chain: null } })).toBe(false);
    expect(signsElsewhere({ external: { cert: "c", key: null, chain: null } })).toBe(true);
  });
});

const facts = (over: Partial<ExternalCertFacts> = {}): ExternalCertFacts => ({
  subject: { commonName: "Corp Root", organization: "Corp" },
  keyType: "ecdsa-p384",
  lifetimeSeconds: 3 * 365 * 86_400,
  isCa: true,
  canSign: true,
  pathLength: null,
  nameConstraints: null,
  upstream: [],
  certFile: "corp/ca.pem",
  ...over,
});

const PKI = `version: 1
cas:
  ext: { external: { cert: corp/ca.pem, key: corp/ca-key.pem } }
  sub: { issuer: ext, nameConstraints: { permitted: [.corp.test, 10.0.0.0/8] } }
  subsub: { issuer: sub }
  own: {}
servers:
  web: { issuer: sub, altNames: [a.corp.test, 10.1.1.1] }
  edge: { issuer: ext, altNames: [b.example] }
  lone: { issuer: own, altNames: [b.example] }
clients:
  bob: { issuer: ext, commonName: bob.corp.test }
`;

const run = (f: ExternalCertFacts) => {
  const result = resolveExternalSpecs(config(PKI), new Map([["ext", f]]));
  return { config: result.config, messages: result.diagnostics.map((d) => `${d.severity === "error" ? "" : `${d.severity} `}${d.file} ${d.path}: ${d.message}`) };
};

describe("resolveExternalSpecs: what an external CA's certificate allows", () => {
  it("its spec is filled from its certificate; nothing else changes", () => {
    const before = config(PKI);
    const { config: resolved, diagnostics } = resolveExternalSpecs(before, new Map([["ext", facts({ pathLength: 3 })]]));
    expect(diagnostics).toEqual([]);
    const ext = resolved.identities.find((i) => i.name === "ext")!;
    expect(ext).toMatchObject({ subject: { commonName: "Corp Root", organization: "Corp" }, key: "ecdsa-p384", validitySeconds: 3 * 365 * 86_400, pathLength: 3, nameConstraints: null });
    expect(resolved.identities.filter((i) => i.name !== "ext")).toEqual(before.identities.filter((i) => i.name !== "ext"));
    expect(resolved.file).toBe("pki.yaml");
  });

  it("a certificate without a commonName, of a key type provision cannot use, keeps the spec's key", () => {
    const { config: resolved } = resolveExternalSpecs(config(PKI), new Map([["ext", facts({ subject: { organization: "Corp" }, keyType: null })]]));
    expect(resolved.identities.find((i) => i.name === "ext")).toMatchObject({ subject: { organization: "Corp", commonName: "" }, key: "ecdsa-p256" });
  });

  it("an external CA with no facts (not read yet) is left as written", () => {
    const before = config(PKI);
    const result = resolveExternalSpecs(before, new Map());
    expect(result).toEqual({ config: before, diagnostics: [] });
  });

  it("a certificate that is no CA's is refused, and nothing below it judged", () => {
    expect(run(facts({ isCa: false, pathLength: 0 })).messages).toEqual([
      "pki.yaml cas.ext.external.cert: corp/ca.pem is not a CA certificate (basicConstraints has no CA:TRUE); point external.cert at the CA's certificate",
    ]);
    expect(run(facts({ canSign: false, pathLength: 0 })).messages).toEqual([
      "pki.yaml cas.ext.external.cert: corp/ca.pem is not a CA certificate (keyUsage lacks keyCertSign); point external.cert at the CA's certificate",
    ]);
  });

  it("a key of an unusable type is refused only when provision is to sign with it", () => {
    expect(run(facts({ keyType: null })).messages).toEqual([
      "pki.yaml cas.ext.external.key: the key of corp/ca.pem is of a type provision cannot sign with; supported: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096",
    ]);
    const keyless = resolveExternalSpecs(config("version: 1\ncas:\n  ext: { external: { cert: corp/ca.pem } }\n"), new Map([["ext", facts({ keyType: null })]]));
    expect(keyless.diagnostics).toEqual([]);
  });

  it("pathLength: its own, and each one above less the levels between", () => {
    expect(run(facts({ pathLength: 1 })).messages).toEqual([
      'pki.yaml cas.subsub.issuer: CA "subsub" would stand 2 CA level(s) below external CA ext, whose certificates allow 1 (pathLength in corp/ca.pem)',
    ]);
    expect(run(facts({ pathLength: 2 })).messages).toEqual([]);
    expect(run(facts({ pathLength: 0 })).messages).toEqual([
      'pki.yaml cas.sub.issuer: CA "sub" would stand 1 CA level(s) below external CA ext, whose certificates allow 0 (pathLength in corp/ca.pem)',
      'pki.yaml cas.subsub.issuer: CA "subsub" would stand 2 CA level(s) below external CA ext, whose certificates allow 0 (pathLength in corp/ca.pem)',
    ]);
    // The root above allows 2 below itself: ext is one of them, so 1 is left below ext.
    const upstream = (pathLength: number | null) => ({ subject: "CN=Corp Top", pathLength, nameConstraints: null, file: "corp/chain.pem" });
    expect(run(facts({ upstream: [upstream(2)] })).messages).toEqual([
      'pki.yaml cas.subsub.issuer: CA "subsub" would stand 2 CA level(s) below external CA ext, whose certificates allow 1 (pathLength in corp/ca.pem and above)',
    ]);
    expect(run(facts({ upstream: [upstream(3)] })).messages).toEqual([]);
    expect(run(facts({ upstream: [upstream(null), upstream(3)] })).messages).toEqual([
      'pki.yaml cas.subsub.issuer: CA "subsub" would stand 2 CA level(s) below external CA ext, whose certificates allow 1 (pathLength in corp/ca.pem and above)',
    ]);
    expect(run(facts({ pathLength: 5, upstream: [upstream(null)] })).messages).toEqual([]);
    // The tightest limit wins: its own 5, the root's 2 less the one level of ext itself.
    expect(run(facts({ pathLength: 5, upstream: [upstream(2)] })).messages).toEqual([
      'pki.yaml cas.subsub.issuer: CA "subsub" would stand 2 CA level(s) below external CA ext, whose certificates allow 1 (pathLength in corp/ca.pem and above)',
    ]);
    expect(run(facts({ pathLength: 1, upstream: [upstream(5)] })).messages).toHaveLength(1);
  });

  it("name constraints of its certificate and of those above apply to every name below, at the name", () => {
    const own = { permitted: [{ type: "dns" as const, value: ".corp.test" }, { type: "ip" as const, value: "10.0.0.0", prefix: 8 }], excluded: [] };
    expect(run(facts({ nameConstraints: own })).messages).toEqual([
      'pki.yaml servers.edge.altNames[0]: "b.example" is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.corp.test)',
    ]);
    const above = { permitted: [{ type: "dns" as const, value: ".test" }], excluded: [{ type: "dns" as const, value: "a.corp.test" }] };
    expect(run(facts({ upstream: [{ subject: "CN=Corp Top", pathLength: null, nameConstraints: above, file: "corp/chain.pem" }] })).messages).toEqual([
      'pki.yaml servers.edge.altNames[0]: "b.example" is outside the name constraints of CN=Corp Top (in corp/chain.pem), above external CA ext: not within the permitted DNS names (.test)',
      'pki.yaml servers.web.altNames[0]: "a.corp.test" is outside the name constraints of CN=Corp Top (in corp/chain.pem), above external CA ext: excluded (a.corp.test)',
    ]);
  });

  it("a CA below may only narrow them: inside the permitted ones of its type, clear of the excluded", () => {
    const permitted = (value: string) => ({ permitted: [{ type: "dns" as const, value }], excluded: [] });
    expect(run(facts({ nameConstraints: permitted(".test") })).messages).toEqual([
      'pki.yaml servers.edge.altNames[0]: "b.example" is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.test)',
    ]);
    expect(run(facts({ nameConstraints: permitted(".other.test") })).messages).toEqual([
      'pki.yaml cas.sub.nameConstraints.permitted[0]: ".corp.test" widens the name constraints of external CA ext (its certificate corp/ca.pem); a CA\'s constraints may only narrow its issuer\'s',
      'pki.yaml servers.edge.altNames[0]: "b.example" is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.other.test)',
      'pki.yaml clients.bob.commonName: commonName "bob.corp.test" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.other.test)',
      'pki.yaml servers.web.altNames[0]: "a.corp.test" is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.other.test)',
    ]);
    const ipOnly = { permitted: [{ type: "ip" as const, value: "10.0.0.0", prefix: 16 }], excluded: [] };
    expect(run(facts({ nameConstraints: ipOnly })).messages).toEqual([
      'pki.yaml cas.sub.nameConstraints.permitted[1]: "10.0.0.0/8" widens the name constraints of external CA ext (its certificate corp/ca.pem); a CA\'s constraints may only narrow its issuer\'s',
      'pki.yaml servers.web.altNames[1]: "10.1.1.1" is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted IP ranges (10.0.0.0/16)',
    ]);
    const excluded = { permitted: [], excluded: [{ type: "dns" as const, value: "corp.test" }] };
    expect(run(facts({ nameConstraints: excluded })).messages).toEqual([
      'pki.yaml cas.sub.nameConstraints.permitted[0]: ".corp.test" widens the name constraints of external CA ext (its certificate corp/ca.pem); a CA\'s constraints may only narrow its issuer\'s',
      'pki.yaml clients.bob.commonName: commonName "bob.corp.test" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of external CA ext (its certificate corp/ca.pem): excluded (corp.test)',
      'pki.yaml servers.web.altNames[0]: "a.corp.test" is outside the name constraints of external CA ext (its certificate corp/ca.pem): excluded (corp.test)',
    ]);
  });

  it("a client's host-like commonName is held to them too (verifiers do), and a server's at commonName when not listed", () => {
    // The bug this pins: resolveExternalSpecs judged only the SAN, so a client named bob.corp.test under a CA
    // excluding it was issued, and openssl verify then failed with "excluded subtree violation".
    const dns = { permitted: [{ type: "dns" as const, value: ".test" }, { type: "dns" as const, value: "b.example" }], excluded: [{ type: "dns" as const, value: "bob.corp.test" }] };
    expect(run(facts({ nameConstraints: dns })).messages).toEqual([
      'pki.yaml clients.bob.commonName: commonName "bob.corp.test" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of external CA ext (its certificate corp/ca.pem): excluded (bob.corp.test)',
    ]);
    const server = resolveExternalSpecs(
      config("version: 1\ncas:\n  ext: { external: { cert: corp/ca.pem } }\nservers:\n  web: { issuer: ext, commonName: web.example, altNames: [a.test] }\n"),
      new Map([["ext", facts({ nameConstraints: { permitted: [{ type: "dns", value: ".test" }], excluded: [] } })]]),
    );
    expect(server.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'servers.web.commonName: commonName "web.example" (verifiers hold a commonName that reads as a host, IP or email to the constraints too) is outside the name constraints of external CA ext (its certificate corp/ca.pem): not within the permitted DNS names (.test)',
    ]);
  });
});

describe("issuer chains", () => {
  const id = (name: string, issuer: string | null) => ({ name, issuer, kind: "ca" }) as IdentitySpec;

  it("nearest first, ending at a root, a missing issuer or a cycle", () => {
    const ids = [id("root", null), id("mid", "root"), id("low", "mid"), id("lost", "gone"), id("a", "b"), id("b", "a"), id("c", "a"), id("self", "self")];
    const byName = indexByName(ids);
    const chain = (name: string) => issuerChain(byName.get(name)!, byName).map((i) => i.name);
    expect(chain("low")).toEqual(["mid", "root"]);
    expect(chain("root")).toEqual([]);
    expect(chain("lost")).toEqual([]);
    expect(chain("a")).toEqual(["b"]);
    expect(chain("c")).toEqual(["a", "b"]);
    expect(chain("self")).toEqual([]);
  });

  it("identitiesByName indexes a config once", () => {
    const cfg = config("version: 1\ncas:\n  root: {}\n  sub: { issuer: root }\n");
    const index = identitiesByName(cfg);
    expect([...index.keys()]).toEqual(["root", "sub"]);
    expect(index.get("sub")).toBe(cfg.identities[1]);
    expect(identitiesByName(cfg)).toBe(index);
    expect(identitiesByName({ ...cfg })).not.toBe(index);
  });
});
