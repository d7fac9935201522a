import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acmeIdentifierOf, decodeCertificate, decodeKeyEncryption, encodeEncryptedPrivateKeyInfo } from "../../src/x509/forge.js";
import { pemToDer } from "../../src/x509/pem.js";
import { opensslSync } from "../helpers/openssl.js";
import { filesIn, keyOf, removeFiles } from "./fixtures.js";

/**
 * The readers of x509/forge.ts on what others made: certificates openssl wrote with the forms provision never
 * writes (version 1, an explicit cA FALSE, an authority key id by issuer and serial, constraints of types it
 * does not model, CRL distribution points that are no URI), tls-alpn-01 challenge certificates, and encrypted
 * keys of every scheme openssl offers. openssl -text says what each certificate holds; the decoder must agree.
 */

const key = keyOf("ecdsa-p256");
const dir = filesIn({ "k.pem": key.export({ type: "pkcs8", format: "pem" }) as string });
afterAll(removeFiles);

/**
 * openssl's outputs are the scenery, not what is under test: each is made once per run of the file and
 * remembered (a certificate is read by -text and decoded from the same PEM).
 */
const memo = new Map<string, { ok: boolean; out: string; stdout: Buffer }>();
function openssl(args: string[], input?: string | Buffer) {
  const id = JSON.stringify([args, input?.toString("base64")]);
  if (!memo.has(id)) memo.set(id, opensslSync(args, input));
  return memo.get(id)!;
}

/** A self-signed certificate openssl makes with these -addext values; returns its PEM. */
function opensslCert(extensions: string[], subject = "/CN=o"): string {
  const made = openssl(["req", "-x509", "-new", "-key", path.join(dir, "k.pem"), "-subj", subject, "-days", "1", ...extensions.flatMap((e) => ["-addext", e])]);
  if (!made.ok) throw new Error(made.out);
  return made.stdout.toString();
}
const text = (pem: string) => openssl(["x509", "-noout", "-text"], pem).out;
const decode = (pem: string) => decodeCertificate(new X509Certificate(pem).raw);

describe("decodeCertificate on certificates openssl made", () => {
  it("a version 1 certificate (no version field, no extensions): subject and issuer in their places, every extension absent", () => {
    const csr = openssl(["req", "-new", "-key", path.join(dir, "k.pem"), "-subj", "/O=Org/CN=v1 leaf"]);
    const v1 = openssl(["x509", "-req", "-key", path.join(dir, "k.pem"), "-days", "1"], csr.stdout);
    expect(text(v1.stdout.toString())).toContain("Version: 1 (0x0)");
    expect(decode(v1.stdout.toString())).toEqual({
      subject: { organization: "Org", commonName: "v1 leaf" },
      issuer: { organization: "Org", commonName: "v1 leaf" },
      altNames: [],
      isCa: false,
      pathLength: null,
      keyUsage: [],
      extKeyUsage: [],
      subjectKeyId: null,
      authorityKeyId: null,
      nameConstraints: null,
      crlUrls: [],
    });
  });

  it("subject and issuer differ: each read from its own field", () => {
    writeFileSync(path.join(dir, "ca.pem"), opensslCert(["basicConstraints=critical,CA:TRUE"], "/CN=Issuer CA"));
    const csr = openssl(["req", "-new", "-key", path.join(dir, "k.pem"), "-subj", "/CN=Subject"]);
    const leaf = openssl(["x509", "-req", "-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "k.pem"), "-days", "1"], csr.stdout);
    expect(leaf.ok, leaf.out).toBe(true);
    expect(decode(leaf.stdout.toString())).toMatchObject({ subject: { commonName: "Subject" }, issuer: { commonName: "Issuer CA" } });
  });

  it("an explicit cA FALSE is no CA; a CA without a path length has none", () => {
    const explicitFalse = opensslCert(["basicConstraints=critical,DER:3003010100"]);
    expect(text(explicitFalse)).toMatch(/Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(decode(explicitFalse)).toMatchObject({ isCa: false, pathLength: null });
    const ca = opensslCert(["basicConstraints=critical,CA:TRUE"]);
    expect(text(ca)).toMatch(/CA:TRUE\n/);
    expect(decode(ca)).toMatchObject({ isCa: true, pathLength: null });
    expect(decode(opensslCert(["basicConstraints=critical,CA:TRUE,pathlen:0"]))).toMatchObject({ isCa: true, pathLength: 0 });
  });

  it("an authority key id by issuer and serial only is no key id; with a key id too, the key id", () => {
    const byIssuer = opensslCert(["authorityKeyIdentifier=issuer:always"]);
    expect(text(byIssuer)).toMatch(/Authority Key Identifier: \n\s+DirName:\/CN=o\n\s+serial:/);
    expect(decode(byIssuer).authorityKeyId).toBeNull();
    const both = opensslCert(["authorityKeyIdentifier=keyid:always,issuer:always"]);
    const keyId = /Authority Key Identifier: \n\s+(?:keyid:)?([0-9A-F:]{59})\n\s+DirName/.exec(text(both))![1]!.replaceAll(":", "").toLowerCase();
    expect(decode(both).authorityKeyId).toBe(keyId);
  });

  it("key usages one at a time, and bits provision does not model (decipherOnly, in the second byte)", () => {
    for (const [usage, name] of [["digitalSignature", "digitalSignature"], ["keyEncipherment", "keyEncipherment"], ["keyCertSign", "keyCertSign"], ["cRLSign", "cRLSign"]] as const) {
      expect(decode(opensslCert([`keyUsage=critical,${usage}`])).keyUsage, usage).toEqual([name]);
    }
    expect(decode(opensslCert(["keyUsage=critical,nonRepudiation,dataEncipherment,keyAgreement,encipherOnly,decipherOnly"])).keyUsage).toEqual([]);
    expect(decode(opensslCert(["keyUsage=critical,keyAgreement,decipherOnly,cRLSign"])).keyUsage).toEqual(["cRLSign"]);
  });

  it("name constraints: only permitted, only excluded, none of a type provision models (null), an alt name of an unmodelled type skipped", () => {
    expect(decode(opensslCert(["nameConstraints=critical,permitted;DNS:.a.test"])).nameConstraints).toEqual({ permitted: [{ type: "dns", value: ".a.test" }], excluded: [] });
    expect(decode(opensslCert(["nameConstraints=critical,excluded;IP:192.168.0.0/255.255.0.0,excluded;URI:.b.test"])).nameConstraints).toEqual({
      permitted: [],
      excluded: [{ type: "ip", value: "192.168.0.0", prefix: 16 }, { type: "uri", value: ".b.test" }],
    });
    const unmodelled = opensslCert(["nameConstraints=critical,permitted;RID:1.2.3.4,excluded;otherName:1.2.3.4;UTF8:x", "subjectAltName=RID:1.2.3.4,DNS:x.test,otherName:1.2.3.4;UTF8:x"]);
    expect(text(unmodelled)).toContain("X509v3 Name Constraints: critical");
    expect(decode(unmodelled)).toMatchObject({ nameConstraints: null, altNames: [{ type: "dns", value: "x.test" }] });
  });

  it("CRL distribution points: the URIs of each full name, in order; DNS names and points without a full name are not URLs", () => {
    const pem = opensslCert(["crlDistributionPoints=URI:http://a.test/a.crl,DNS:crl.test,URI:ldap://b.test/b"]);
    expect(text(pem)).toMatch(/Full Name:\n\s+URI:http:\/\/a\.test\/a\.crl\n\s+Full Name:\n\s+DNS:crl\.test\n/);
    expect(decode(pem).crlUrls).toEqual(["http://a.test/a.crl", "ldap://b.test/b"]);
    // A point naming only its CRL issuer ([2] cRLIssuer, no [0] distributionPoint): SEQUENCE { [2] { [6] "http://i.test" } }.
    const issuerOnly = opensslCert([`crlDistributionPoints=DER:${seqHex(`a20f860d${Buffer.from("http://i.test").toString("hex")}`)}`]);
    expect(text(issuerOnly)).toContain("CRL Issuer:");
    expect(decode(issuerOnly).crlUrls).toEqual([]);
  });
});

/** The DER of a SEQUENCE OF one SEQUENCE holding `inner` (hex), short lengths only. */
function seqHex(inner: string): string {
  const len = (hex: string) => (hex.length / 2).toString(16).padStart(2, "0");
  const point = `30${len(inner)}${inner}`;
  return `30${len(point)}${point}`;
}

describe("acmeIdentifierOf (a tls-alpn-01 answer, from the network)", () => {
  const digest = Buffer.alloc(32, 0x5a);
  const acme = (value: string) => `1.3.6.1.5.5.7.1.31=${value}`;

  it("reads the critical extension's OCTET STRING; a non-critical one says so", () => {
    const critical = opensslCert([acme(`critical,DER:0420${digest.toString("hex")}`)]);
    expect(text(critical)).toContain("1.3.6.1.5.5.7.1.31: critical");
    const read = acmeIdentifierOf(new X509Certificate(critical).raw);
    expect(read?.critical).toBe(true);
    expect(read?.value.equals(digest)).toBe(true);
    expect(acmeIdentifierOf(new X509Certificate(opensslCert([acme(`DER:0420${digest.toString("hex")}`)])).raw)).toEqual({ critical: false, value: digest });
    // After other extensions, which are skipped.
    const later = opensslCert(["subjectAltName=DNS:a.test", "basicConstraints=critical,CA:FALSE", acme(`critical,DER:0420${digest.toString("hex")}`)]);
    expect(acmeIdentifierOf(new X509Certificate(later).raw)).toEqual({ critical: true, value: digest });
  });

  it("null without the extension, when it wraps something other than an OCTET STRING, and for bytes that are no certificate", () => {
    expect(acmeIdentifierOf(new X509Certificate(opensslCert(["subjectAltName=DNS:a.test"])).raw)).toBeNull();
    const v1 = openssl(["x509", "-req", "-key", path.join(dir, "k.pem"), "-days", "1"], openssl(["req", "-new", "-key", path.join(dir, "k.pem"), "-subj", "/CN=v1"]).stdout);
    expect(acmeIdentifierOf(new X509Certificate(v1.stdout).raw)).toBeNull();
    expect(acmeIdentifierOf(new X509Certificate(opensslCert([acme(`critical,DER:0c03616263`)])).raw)).toBeNull();
    expect(acmeIdentifierOf(new X509Certificate(opensslCert([acme(`critical,DER:3000`)])).raw)).toBeNull();
    expect(acmeIdentifierOf(Buffer.from("3003020101", "hex"))).toBeNull();
    expect(acmeIdentifierOf(Buffer.alloc(0))).toBeNull();
  });
});

describe("decodeKeyEncryption (how a key file on disk is protected)", () => {
  /** ec's key encrypted by `openssl pkcs8 -topk8` with these options, as DER. */
  const topk8 = (args: string[]) => {
    const made = openssl(["pkcs8", "-topk8", "-in", path.join(dir, "k.pem"), "-passout", "pass:fixture", "-outform", "DER", ...args]);
    if (!made.ok) throw new Error(made.out);
    return made.stdout;
  };

  it("PBES2 with PBKDF2: the PRF (SHA-1 when the field is left out), the iterations, the salt's length, the cipher", () => {
    expect(decodeKeyEncryption(topk8(["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512", "-iter", "1000"]))).toEqual({ prf: "sha512", iterations: 1000, saltLength: 8, cipher: "aes-256-cbc" });
    const sha1 = topk8(["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-iter", "70000"]);
    expect(openssl(["asn1parse", "-inform", "DER"], sha1).out).not.toContain("hmacWithSHA1");
    expect(decodeKeyEncryption(sha1)).toEqual({ prf: "sha1", iterations: 70000, saltLength: 8, cipher: "aes-256-cbc" });
    expect(decodeKeyEncryption(topk8(["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA256", "-iter", "1"]))).toEqual({ prf: "sha256", iterations: 1, saltLength: 8, cipher: "2.16.840.1.101.3.4.1.2" });
    expect(decodeKeyEncryption(topk8(["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA224", "-iter", "1000"]))?.prf).toBe("1.2.840.113549.2.8");
    expect(decodeKeyEncryption(encodeEncryptedPrivateKeyInfo({ salt: Buffer.alloc(20, 1), iterations: 0x1234567, iv: Buffer.alloc(16), ciphertext: Buffer.alloc(16) }))).toEqual({ prf: "sha256", iterations: 0x1234567, saltLength: 20, cipher: "aes-256-cbc" });
  });

  it("null for PBES1, for scrypt, for a plain key and for bytes that are no key", () => {
    expect(decodeKeyEncryption(topk8(["-v1", "PBE-SHA1-3DES", "-iter", "1000"]))).toBeNull();
    expect(decodeKeyEncryption(topk8(["-scrypt", "-scrypt_N", "1024", "-scrypt_r", "8", "-scrypt_p", "1"]))).toBeNull();
    expect(decodeKeyEncryption(pemToDer(key.export({ type: "pkcs8", format: "pem" }) as string, "PRIVATE KEY")!)).toBeNull();
    expect(decodeKeyEncryption(Buffer.from("3003020101", "hex"))).toBeNull();
    expect(decodeKeyEncryption(Buffer.alloc(0))).toBeNull();
  });
});
