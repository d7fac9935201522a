import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { IdentitySpec } from "../../src/config/types.js";
import { ProvisionError } from "../../src/errors.js";
import { factsFromTemplate, inspectCertificate, inspectCertificateFile } from "../../src/x509/inspect.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { spkiOf } from "../../src/x509/keys.js";
import { hashFor, profileFor, signatureAlgorithmFor } from "../../src/x509/spec.js";
import { opensslSync } from "../helpers/openssl.js";
import { configOf, filesIn, keyOf, LATER, NOW, removeFiles } from "./fixtures.js";

/**
 * x509/issue.ts, spec.ts and inspect.ts, each certificate issued inside the test and judged by openssl (verify
 * -x509_strict for its purpose, `x509 -text`) or read back from a certificate openssl made. forge.test.ts holds
 * the encoder's own details; this file is the fast set Stryker runs against these three modules.
 */

const cfg = configOf(`version: 1
cas:
  p256: { key: ecdsa-p256, commonName: P-256 Root, nameConstraints: { permitted: [.test] } }
  p384: { key: ecdsa-p384, commonName: P-384 Root, pathLength: 1, nameConstraints: { permitted: [], excluded: [] } }
  rsa: { key: rsa-2048, subject: { country: DE, organization: Acme }, commonName: RSA Root }
  ex: { key: ecdsa-p256, commonName: Excluding Root, nameConstraints: { excluded: [bad.test] } }
servers:
  ecweb: { issuer: p256, altNames: [ecweb.test] }
  rsaweb: { issuer: p384, key: rsa-3072, altNames: [rsaweb.test] }
clients:
  ecbob: { issuer: rsa, altNames: [bob@acme.test] }
  rsabob: { issuer: rsa, key: rsa-2048, altNames: [rsabob@acme.test] }
`);
const spec = (name: string) => cfg.identities.find((i) => i.name === name)!;
const keys = new Map(cfg.identities.map((i) => [i.name, keyOf(i.key)]));
afterAll(removeFiles);

/** Issues `name` with issue.ts, in the test body; returns its PEM and template. */
function issue(name: string, options: { crlUrl?: string | null; issuer?: IdentitySpec | null; notBefore?: Date } = {}) {
  const identity = spec(name);
  const issuer = options.issuer !== undefined ? options.issuer : identity.issuer === null ? null : spec(identity.issuer);
  const template = templateFor({
    identity,
    spki: spkiOf(keys.get(name)!),
    serial: serialFrom(Buffer.alloc(16, 0x99)),
    notBefore: options.notBefore ?? new Date("2027-02-03T04:05:06.789Z"),
    notAfter: LATER,
    issuer: issuer && { subject: issuer.subject, keyType: issuer.key, subjectKeyId: subjectKeyIdOf(spkiOf(keys.get(issuer.name)!)), crlUrl: options.crlUrl ?? null },
  });
  return { template, ...signCertificate(template, keys.get(issuer?.name ?? name)!) };
}

const text = (pem: string) => opensslSync(["x509", "-noout", "-text"], pem).out;
function verify(leafPem: string, rootPem: string, purpose: "sslserver" | "sslclient") {
  const dir = filesIn({ "root.pem": rootPem, "leaf.pem": leafPem });
  return opensslSync(["verify", "-x509_strict", "-purpose", purpose, "-attime", String(NOW.getTime() / 1000 + 86_400), "-CAfile", path.join(dir, "root.pem"), path.join(dir, "leaf.pem")]);
}

describe("signature algorithms and profiles (spec.ts), as openssl verifies them", () => {
  it("a P-256 issuer signs with ECDSA-SHA256, a P-384 one with ECDSA-SHA384, an RSA one with sha256WithRSAEncryption", () => {
    for (const [root, leaf, purpose, alg] of [["p256", "ecweb", "sslserver", "ecdsa-with-SHA256"], ["p384", "rsaweb", "sslserver", "ecdsa-with-SHA384"], ["rsa", "rsabob", "sslclient", "sha256WithRSAEncryption"]] as const) {
      const r = issue(root);
      const l = issue(leaf);
      expect(text(l.pem)).toContain(`Signature Algorithm: ${alg}`);
      const result = verify(l.pem, r.pem, purpose);
      expect(result.ok, `${leaf}: ${result.out}`).toBe(true);
      expect(verify(l.pem, r.pem, purpose === "sslserver" ? "sslclient" : "sslserver").ok).toBe(false);
    }
    expect([hashFor("ecdsaWithSHA256"), hashFor("ecdsaWithSHA384"), hashFor("sha256WithRSAEncryption")]).toEqual(["sha256", "sha384", "sha256"]);
    expect(["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096"].map((k) => signatureAlgorithmFor(k as IdentitySpec["key"]))).toEqual(["ecdsaWithSHA256", "ecdsaWithSHA384", "sha256WithRSAEncryption", "sha256WithRSAEncryption"]);
  });

  it("key usages: a CA signs certificates and CRLs; keyEncipherment only for RSA leaves (3072 too); EKU by kind", () => {
    expect(text(issue("p256").pem)).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
    expect(text(issue("ecweb").pem)).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n\s+X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    expect(text(issue("rsaweb").pem)).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n\s+X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    expect(text(issue("ecbob").pem)).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n\s+X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    expect(text(issue("rsabob").pem)).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    expect(profileFor("ca", "rsa-2048")).toEqual({ keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"], extKeyUsage: [] });
  });
});

describe("templateFor and signCertificate", () => {
  it("a root: issuer is its own subject, no authority key id, no CRL URL, its path length; an empty NameConstraints is not written", () => {
    const { template, pem, der } = issue("p384");
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const x = new X509Certificate(pem);
    expect(x.raw.equals(der)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(template).toMatchObject({ isCa: true, pathLength: 1, nameConstraints: null, authorityKeyId: null, crlUrls: [], issuer: { commonName: "P-384 Root" }, signatureAlgorithm: "ecdsaWithSHA384" });
    const t = text(pem);
    expect(t).toMatch(/CA:TRUE, pathlen:1\n/);
    expect(t).not.toContain("Name Constraints");
    expect(t).not.toContain("Authority Key Identifier");
    expect(text(issue("p256").pem)).toMatch(/X509v3 Name Constraints: critical\n\s+Permitted:\n\s+DNS:\.test\n/);
    expect(text(issue("ex").pem)).toMatch(/X509v3 Name Constraints: critical\n\s+Excluded:\n\s+DNS:bad\.test\n/);
  });

  it("a leaf: CA:FALSE without a path length, its issuer's key id and CRL URL, the times to the whole second", () => {
    const root = issue("p256");
    const leaf = issue("ecweb", { crlUrl: "http://crl.test/p256.crl" });
    expect(leaf.template).toMatchObject({ isCa: false, pathLength: null, crlUrls: ["http://crl.test/p256.crl"], notBefore: "2027-02-03T04:05:06.000Z" });
    const t = text(leaf.pem);
    expect(t).toMatch(/CA:FALSE\n/);
    expect(t).toMatch(/URI:http:\/\/crl\.test\/p256\.crl\n/);
    expect(t).toContain("Not Before: Feb  3 04:05:06 2027 GMT");
    const rootSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(root.pem))![1];
    expect(t).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${rootSki}\\n`));
    expect(text(issue("ecweb", { crlUrl: null }).pem)).not.toContain("CRL Distribution Points");
  });

  it("subjectKeyIdOf is RFC 5280 method 1, as openssl computes it for a certificate it makes", () => {
    const dir = filesIn({ "key.pem": keys.get("rsa")!.export({ type: "pkcs8", format: "pem" }) as string });
    const made = opensslSync(["req", "-x509", "-new", "-key", path.join(dir, "key.pem"), "-subj", "/CN=o", "-days", "1"]);
    const opensslSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(made.stdout.toString()))![1]!.replaceAll(":", "").toLowerCase();
    expect(subjectKeyIdOf(spkiOf(keys.get("rsa")!)).toString("hex")).toBe(opensslSki);
    expect(subjectKeyIdOf(spkiOf(keys.get("p256")!)).toString("hex")).not.toBe(opensslSki);
  });

  it("serialFrom: 16 bytes, the top two bits 01 (positive, never a leading zero byte); the random bytes are not changed", () => {
    const ones = Buffer.alloc(20, 0xff);
    expect(serialFrom(ones).toString("hex")).toBe(`7f${"ff".repeat(15)}`);
    expect(ones.equals(Buffer.alloc(20, 0xff))).toBe(true);
    expect(serialFrom(Buffer.alloc(16, 0)).toString("hex")).toBe(`40${"00".repeat(15)}`);
    expect(serialFrom(Buffer.from("8123456789abcdef0123456789abcdef", "hex")).toString("hex")).toBe("4123456789abcdef0123456789abcdef");
  });

  it("under an external CA openssl made: its Name copied byte for byte, its own key id as the authority key id", () => {
    const dir = filesIn({ "key.pem": keys.get("rsa")!.export({ type: "pkcs8", format: "pem" }) as string });
    // Attribute order provision would not write (CN before O), and openssl's own PrintableString choices.
    const external = opensslSync(["req", "-x509", "-new", "-key", path.join(dir, "key.pem"), "-subj", "/CN=Ext CA/O=Ext/C=US", "-days", "3650", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]).stdout.toString();
    const externalSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(external))![1]!.replaceAll(":", "").toLowerCase();
    const identity = spec("ecbob");
    const rsa = spec("rsa");
    const template = templateFor({
      identity,
      spki: spkiOf(keys.get("ecbob")!),
      serial: serialFrom(Buffer.alloc(16, 5)),
      notBefore: NOW,
      notAfter: LATER,
      issuer: { subject: { commonName: "Ext CA", organization: "Ext", country: "US" }, keyType: rsa.key, subjectKeyId: Buffer.from("ffff", "hex") },
      externalIssuer: { certPem: external, facts: { subjectKeyId: externalSki } },
    });
    expect(template.authorityKeyId).toBe(externalSki);
    const { pem } = signCertificate(template, keys.get("rsa")!);
    const result = verify(pem, external, "sslclient");
    expect(result.ok, result.out).toBe(true);
    expect(text(pem)).toContain("Issuer: CN = Ext CA, O = Ext, C = US");
    // Without a key id of its own, the one given is used.
    expect(templateFor({ ...{ identity, spki: spkiOf(keys.get("ecbob")!), serial: Buffer.alloc(16, 1), notBefore: NOW, notAfter: LATER }, issuer: { subject: rsa.subject, keyType: rsa.key, subjectKeyId: Buffer.from("ffff", "hex") }, externalIssuer: { certPem: external, facts: { subjectKeyId: null } } }).authorityKeyId).toBe("ffff");
    // A root is never under an external issuer: no authority key id even when one is known.
    expect(templateFor({ identity: rsa, spki: spkiOf(keys.get("rsa")!), serial: Buffer.alloc(16, 1), notBefore: NOW, notAfter: LATER, issuer: null, externalIssuer: { certPem: external, facts: { subjectKeyId: externalSki } } }).authorityKeyId).toBeNull();
  });
});

describe("inspectCertificate and factsFromTemplate", () => {
  it("reads a certificate openssl made with every extension provision reads", () => {
    const dir = filesIn({ "key.pem": keys.get("p384")!.export({ type: "pkcs8", format: "pem" }) as string });
    const made = opensslSync([
      "req", "-x509", "-new", "-key", path.join(dir, "key.pem"), "-set_serial", "0x00ABCDEF", "-days", "30", "-out", path.join(dir, "o.pem"), "-utf8",
      "-subj", "/C=US/ST=California/L=San Francisco/O=Acme Üñí/OU=Ops/CN=Other CA",
      "-addext", "basicConstraints=critical,CA:TRUE,pathlen:2",
      "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign",
      "-addext", "extendedKeyUsage=serverAuth,clientAuth,codeSigning",
      "-addext", "subjectAltName=DNS:a.test,IP:10.1.2.3,IP:::1,email:a@a.test,URI:https://a.test/x,otherName:1.2.3.4;UTF8:x",
      "-addext", "nameConstraints=critical,permitted;DNS:.test,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:2001:db8::/ffff:ffff::,excluded;email:bad.test,excluded;URI:.evil.test,excluded;RID:1.2.3.4",
      "-addext", "crlDistributionPoints=URI:http://crl.test/o.crl,URI:ldap://crl.test/o",
      "-addext", "authorityKeyIdentifier=keyid:always",
    ]);
    expect(made.ok, made.out).toBe(true);
    const pem = readFileSync(path.join(dir, "o.pem"), "utf8");
    const { facts, keyUsage } = inspectCertificate(pem);
    const fingerprint = opensslSync(["x509", "-noout", "-fingerprint", "-sha256"], pem).out.replace(/^.*=/, "").trim().replaceAll(":", "").toLowerCase();
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(pem))![1]!.replaceAll(":", "").toLowerCase();
    const x = new X509Certificate(pem);
    expect(facts).toEqual({
      serial: "abcdef",
      fingerprint,
      notBefore: new Date(x.validFrom).toISOString(),
      notAfter: new Date(x.validTo).toISOString(),
      subject: { country: "US", state: "California", locality: "San Francisco", organization: "Acme Üñí", organizationalUnit: "Ops", commonName: "Other CA" },
      issuer: { country: "US", state: "California", locality: "San Francisco", organization: "Acme Üñí", organizationalUnit: "Ops", commonName: "Other CA" },
      altNames: [{ type: "dns", value: "a.test" }, { type: "ip", value: "10.1.2.3" }, { type: "ip", value: "::1" }, { type: "email", value: "a@a.test" }, { type: "uri", value: "https://a.test/x" }],
      keyType: "ecdsa-p384",
      isCa: true,
      pathLength: 2,
      nameConstraints: {
        permitted: [{ type: "dns", value: ".test" }, { type: "ip", value: "10.0.0.0", prefix: 8 }, { type: "ip", value: "2001:db8::", prefix: 32 }],
        excluded: [{ type: "email", value: "bad.test" }, { type: "uri", value: ".evil.test" }],
      },
      subjectKeyId: ski,
      authorityKeyId: ski,
      extKeyUsage: ["serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.3"],
      crlUrls: ["http://crl.test/o.crl", "ldap://crl.test/o"],
    });
    expect(keyUsage).toEqual(["digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign"]);
    expect(Date.parse(facts.notAfter) - Date.parse(facts.notBefore)).toBe(30 * 86_400_000);
    expect(inspectCertificate(pem).x509.raw.equals(x.raw)).toBe(true);
  });

  it("an RSA key of a size provision issues is named; an unknown one is null", () => {
    const dir = filesIn({ "k.pem": createPrivateKey(keys.get("rsaweb")!.export({ type: "pkcs8", format: "pem" })).export({ type: "pkcs8", format: "pem" }) as string });
    const pem = opensslSync(["req", "-x509", "-new", "-key", path.join(dir, "k.pem"), "-subj", "/CN=r", "-days", "1"]).stdout.toString();
    expect(inspectCertificate(pem).facts).toMatchObject({ keyType: "rsa-3072", isCa: true, pathLength: null, nameConstraints: null, crlUrls: [], altNames: [] });
    const ed = opensslSync(["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", path.join(dir, "ed.pem"), "-subj", "/CN=e", "-days", "1"]).stdout.toString();
    expect(inspectCertificate(ed).facts.keyType).toBeNull();
  });

  it("a file that is no certificate: a ProvisionError naming it, with the fix", () => {
    for (const pem of ["", "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n"]) {
      let error: unknown;
      try {
        inspectCertificateFile(pem, "servers/web/cert.pem");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProvisionError);
      expect(error).toMatchObject({ code: "unreadable", message: "servers/web/cert.pem is not a readable certificate", hint: "run provision to repair it" });
    }
    expect(inspectCertificateFile(issue("p256").pem, "x").facts.subject).toEqual({ commonName: "P-256 Root" });
  });

  it("factsFromTemplate equals what inspectCertificate reads from the same certificate, and is a copy of the template", () => {
    for (const name of ["p256", "ecweb", "rsaweb", "ecbob"]) {
      const { template, der, pem } = issue(name, { crlUrl: name === "ecweb" ? "http://crl.test/x" : null });
      const facts = factsFromTemplate(template, der, spec(name).key);
      expect(facts).toEqual(inspectCertificate(pem).facts);
      const before = structuredClone(facts);
      template.subject.commonName = "changed";
      template.issuer.commonName = "changed";
      template.altNames.forEach((n) => void (n.value = "changed"));
      template.extKeyUsage.push("clientAuth");
      template.crlUrls?.push("http://changed.test");
      expect(facts).toEqual(before);
    }
    const { template, der } = issue("p256");
    delete template.crlUrls;
    expect(factsFromTemplate(template, der, "ecdsa-p256").crlUrls).toEqual([]);
  });
});
