import { generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import type { Config, IdentitySpec } from "../../src/config/types.js";
import { ProvisionError } from "../../src/errors.js";
import { issuerPath } from "../../src/plan/compose.js";
import { signCsr, type CsrIssuer } from "../../src/sign/sign-csr.js";
import { createCertificationRequest } from "../../src/x509/csr.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { spkiOf } from "../../src/x509/keys.js";

const NOW = new Date("2027-01-01T00:00:00Z");
const DAY = 86_400;

function config(yaml: string): Config {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml", { cwd: "/tmp" });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return config;
}

const p256 = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

/** A CA of `cfg` issued in memory (self-signed, or under `parent`), ready to sign. */
function caOf(cfg: Config, name: string, parent?: { issuer: CsrIssuer; pem: string }): { issuer: CsrIssuer; pem: string } {
  const spec = cfg.identities.find((id) => id.name === name)!;
  const { privateKey } = p256();
  const template = templateFor({
    identity: spec,
    spki: spkiOf(privateKey),
    serial: serialFrom(Buffer.alloc(16, 7)),
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + spec.validitySeconds * 1000),
    issuer: parent ? { subject: parent.issuer.spec.subject, keyType: parent.issuer.spec.key, subjectKeyId: subjectKeyIdOf(spkiOf(parent.issuer.key)) } : null,
  });
  const { pem } = signCertificate(template, parent?.issuer.key ?? privateKey);
  return { issuer: { spec, above: issuerPath(cfg, spec), notAfter: template.notAfter, key: privateKey }, pem };
}

function csrFor(commonName: string | undefined, altNames: string[], key: KeyObject = p256().privateKey): string {
  const names = altNames.map((value) => ({ type: value.includes("://") ? "uri" : value.includes("@") ? "email" : /^[\d.]+$/.test(value) ? "ip" : "dns", value }) as IdentitySpec["altNames"][number]);
  return createCertificationRequest({ commonName: commonName ?? "" } as IdentitySpec["subject"], names, key, "ecdsa-p256");
}

const request = (pem: string, overrides: Partial<Parameters<typeof signCsr>[1]> = {}) => ({
  pem,
  source: "req.pem",
  profile: "server" as const,
  validitySeconds: 30 * DAY,
  now: NOW,
  serial: serialFrom(Buffer.alloc(16, 1)),
  ...overrides,
});

const YAML = `version: 1
cas:
  root:
    commonName: Test Root
    nameConstraints: { permitted: [.test, localhost] }
  team:
    issuer: root
    commonName: Team CA
    validity: 1y
    passphraseEnv: TEAM_CA_PASSPHRASE
    formats: [p12, der]
`;

function errorOf(run: () => unknown): ProvisionError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProvisionError) return error;
    throw error;
  }
  throw new Error("expected a ProvisionError");
}

describe("signCsr", () => {
  const cfg = config(YAML);
  const root = caOf(cfg, "root");
  const team = caOf(cfg, "team", root);

  it("issues a server certificate with the requested names, verifiable under the issuer", () => {
    const { pem } = signCsr(team.issuer, request(csrFor("api.team.test", ["api.team.test", "127.0.0.1"])));
    const cert = new X509Certificate(pem);
    const ca = new X509Certificate(team.pem);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toContain("CN=api.team.test");
    expect(cert.subjectAltName).toBe("DNS:api.team.test, IP Address:127.0.0.1");
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(Date.parse(cert.validTo) - NOW.getTime()).toBe(30 * DAY * 1000);
  });

  it("builds the certificate's spec on its own: nothing of the CA's formats, passphrase or constraints", () => {
    expect(team.issuer.spec.formats).toEqual(["p12", "der"]);
    const { spec } = signCsr(team.issuer, request(csrFor("alice", ["alice@team.test"]), { profile: "client" }));
    expect(spec).toMatchObject({ kind: "client", issuer: "team", formats: [], passphraseEnv: null, p12PassphraseEnv: null, nameConstraints: null, pathLength: null, serve: null });
    expect(spec.subject).toEqual({ commonName: "alice" });
  });

  it("the client profile carries clientAuth", () => {
    const { pem } = signCsr(team.issuer, request(csrFor("alice", ["alice@team.test"]), { profile: "client" }));
    expect(new X509Certificate(pem).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
  });

  it.each([
    ["a name outside a constraint of a CA above the issuer", csrFor("evil.example.com", ["evil.example.com"]), {}, "outside-constraints", /outside the name constraints of CA root/],
    ["a server without alt names", csrFor(undefined, []), {}, "bad-csr", /names no subject and no alt names/],
    ["a certificate outliving its issuer", csrFor("x.test", ["x.test"]), { validitySeconds: 400 * DAY }, "outlives-issuer", /outlive CA team/],
    // The SPIFFE and RFC 3986 rules of pki.yaml hold for a request too (one home: config/uri.ts).
    ["a SPIFFE ID next to another URI", csrFor("w.test", ["w.test", "spiffe://team.test/w", "https://w.test/"]), {}, "bad-csr", /SPIFFE validators refuse it/],
    ["a URI with a bare %", csrFor("w.test", ["w.test", "https://w.test/%zz"]), {}, "bad-csr", /starts no %XX escape/],
    ["a SPIFFE ID without a trust domain", csrFor("w.test", ["w.test", "spiffe:///w"]), {}, "bad-csr", /names no trust domain/],
    ["a request that is no CSR", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", {}, "bad-csr", /req\.pem/],
  ] as const)("refuses %s", (_what, pem, overrides, code, message) => {
    const error = errorOf(() => signCsr(team.issuer, request(pem, overrides)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("a name inside every constraint on the path is accepted (the twin of the refusal)", () => {
    expect(() => signCsr(team.issuer, request(csrFor("ok.test", ["ok.test"])))).not.toThrow();
    expect(() => signCsr(team.issuer, request(csrFor("w.test", ["w.test", "spiffe://team.test/w", "https://w.test/%41"])))).toThrow(/SPIFFE/);
    expect(new X509Certificate(signCsr(team.issuer, request(csrFor("w.test", ["w.test", "spiffe://team.test/w"]))).pem).subjectAltName).toBe("DNS:w.test, URI:spiffe://team.test/w");
    expect(new X509Certificate(signCsr(team.issuer, request(csrFor("w.test", ["w.test", "https://w.test/%41"]))).pem).subjectAltName).toBe("DNS:w.test, URI:https://w.test/%41");
  });
});
