import { generateKeyPairSync, sign } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { crlSignedBy, readCrl, signCrl } from "../../src/x509/crl.js";
import { subjectNameDer } from "../../src/x509/encode.js";
import type { CrlTemplate } from "../../src/x509/spec.js";
import { opensslSync } from "../helpers/openssl.js";
import { configOf, filesIn, issueOf, removeFiles } from "./fixtures.js";

/**
 * x509/crl.ts and the CRL half of forge.ts, judged by openssl: `openssl crl -CAfile` checks the signature and
 * prints what the CRL says; `openssl verify -crl_check` refuses the certificates it lists, and only those.
 */

const cfg = configOf(`version: 1
cas:
  root: { key: ecdsa-p384, commonName: CRL Root, crlUrl: "http://crl.test/root.crl" }
  rsa: { key: rsa-2048, commonName: RSA Root }
servers:
  web: { issuer: root, altNames: [web.test] }
  api: { issuer: root, altNames: [api.test] }
`);
const root = issueOf(cfg, "root", null);
const rsa = issueOf(cfg, "rsa", null);
// Serials chosen to sort differently as text and as numbers, one with the top bit set (needs a 00 byte).
const web = issueOf(cfg, "web", root, { serial: Buffer.from("00ff", "hex") });
const api = issueOf(cfg, "api", root, { serial: Buffer.from("0a", "hex") });
afterAll(removeFiles);

const T = new Date("2027-03-01T00:00:00Z");
const NEXT = new Date("2027-03-08T00:00:00Z");

function template(entries: CrlTemplate["entries"], over: Partial<CrlTemplate> = {}): CrlTemplate {
  return { issuerNameDer: subjectNameDer(root.der), signatureAlgorithm: "ecdsaWithSHA384", thisUpdate: T, nextUpdate: NEXT, number: 300, authorityKeyId: root.subjectKeyId, entries, ...over };
}

const crlText = (dir: string) => opensslSync(["crl", "-in", path.join(dir, "crl.pem"), "-CAfile", path.join(dir, "ca.pem"), "-noout", "-text"]);
const verifyWithCrl = (dir: string, leaf: string) =>
  opensslSync(["verify", "-x509_strict", "-crl_check", "-attime", String(T.getTime() / 1000 + 3600), "-CAfile", path.join(dir, "ca.pem"), "-CRLfile", path.join(dir, "crl.pem"), path.join(dir, leaf)]);

describe("signCrl: a v2 CRL openssl verifies and reads as written", () => {
  it("signed by the CA (SHA-384 for a P-384 CA), with its number, key id, dates and entries sorted by serial", () => {
    const crl = signCrl(
      template([
        { serial: "ff", revokedAt: new Date("2027-02-20T10:00:00Z"), reason: "keyCompromise" },
        { serial: "1234", revokedAt: new Date("2027-02-21T10:00:00Z"), reason: "superseded" },
        { serial: "a", revokedAt: new Date("2027-02-22T10:00:00Z"), reason: "unspecified" },
        { serial: "b", revokedAt: new Date("2027-02-23T10:00:00Z"), reason: "certificateHold" },
        { serial: "c", revokedAt: new Date("2027-02-24T10:00:00Z"), reason: "8" },
      ]),
      root.key,
    );
    expect(crl.pem).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n$/);
    const dir = filesIn({ "crl.pem": crl.pem, "ca.pem": root.pem });
    const { ok, out } = crlText(dir);
    expect(ok, out).toBe(true);
    expect(out).toContain("verify OK");
    expect(out).toContain("Version 2 (0x1)");
    expect(out).toContain("Signature Algorithm: ecdsa-with-SHA384");
    expect(out).toContain("Issuer: CN = CRL Root");
    expect(out).toContain("Last Update: Mar  1 00:00:00 2027 GMT");
    expect(out).toContain("Next Update: Mar  8 00:00:00 2027 GMT");
    expect(out).toMatch(/X509v3 CRL Number: \n\s+300\n/);
    expect(out).toMatch(new RegExp(`X509v3 Authority Key Identifier: \\n\\s+${root.subjectKeyId.toString("hex").toUpperCase().replace(/(..)(?!$)/g, "$1:")}\\n`));
    // By serial as a number (0A, 0B, 0C, FF, 1234: the ledger hands them over as normalSerial spells them), each with its reason; none for unspecified (RFC 5280 §5.3.1).
    const entries = [...out.matchAll(/Serial Number: (\w+)\n\s+Revocation Date: ([^\n]+)\n(?:\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+([^\n]+)\n)?/g)].map((m) => [m[1], m[2], m[3] ?? null]);
    expect(entries).toEqual([
      ["0A", "Feb 22 10:00:00 2027 GMT", null],
      ["0B", "Feb 23 10:00:00 2027 GMT", "Certificate Hold"],
      ["0C", "Feb 24 10:00:00 2027 GMT", "Remove From CRL"],
      ["FF", "Feb 20 10:00:00 2027 GMT", "Key Compromise"],
      ["1234", "Feb 21 10:00:00 2027 GMT", "Superseded"],
    ]);
    // Minimal positive INTEGERs: FF needs a leading 00, 0a/0b none.
    const der = crl.der;
    expect(der.includes(Buffer.from("020200ff17", "hex"))).toBe(true);
    expect(der.includes(Buffer.from("02010a17", "hex"))).toBe(true);
  });

  it("a serial written with leading zeros or an odd number of digits is encoded minimally", () => {
    const crl = signCrl(template([
      { serial: "00007f", revokedAt: T, reason: "keyCompromise" },
      { serial: "abc", revokedAt: T, reason: "keyCompromise" },
      { serial: "000080", revokedAt: T, reason: "keyCompromise" },
    ]), root.key);
    const dir = filesIn({ "crl.pem": crl.pem, "ca.pem": root.pem });
    const { ok, out } = crlText(dir);
    expect(ok, out).toBe(true);
    expect([...out.matchAll(/Serial Number: (\w+)/g)].map((m) => m[1]).sort()).toEqual(["0ABC", "7F", "80"]);
    expect(crl.der.includes(Buffer.from("02017f17", "hex"))).toBe(true);
    expect(crl.der.includes(Buffer.from("0202008017", "hex"))).toBe(true);
    expect(crl.der.includes(Buffer.from("02020abc17", "hex"))).toBe(true);
  });

  it("an empty CRL leaves revokedCertificates out (RFC 5280 §5.1.2.6); times from 2050 are GeneralizedTime", () => {
    const crl = signCrl(template([], { thisUpdate: new Date("2049-12-31T23:59:59Z"), nextUpdate: new Date("2050-01-01T00:00:00Z"), number: 1 }), root.key);
    const dir = filesIn({ "crl.pem": crl.pem, "ca.pem": root.pem });
    const { ok, out } = crlText(dir);
    expect(ok, out).toBe(true);
    expect(out).toContain("No Revoked Certificates.");
    expect(out).toMatch(/X509v3 CRL Number: \n\s+1\n/);
    const parsed = opensslSync(["asn1parse", "-inform", "DER"], crl.der).out;
    expect(parsed).toMatch(/UTCTIME\s+:491231235959Z\n.*GENERALIZEDTIME\s+:20500101000000Z\n/);
    // TBSCertList: version, algorithm, issuer, two times, then the [0] extensions: no SEQUENCE of entries.
    expect(parsed).toMatch(/GENERALIZEDTIME\s+:20500101000000Z\n.*cont \[ 0 \]/);
  });

  it("an RSA CA's CRL: sha256WithRSAEncryption, verified with its certificate", () => {
    const crl = signCrl(template([], { issuerNameDer: subjectNameDer(rsa.der), signatureAlgorithm: "sha256WithRSAEncryption", authorityKeyId: rsa.subjectKeyId }), rsa.key);
    const dir = filesIn({ "crl.pem": crl.pem, "ca.pem": rsa.pem });
    const { ok, out } = crlText(dir);
    expect(ok, out).toBe(true);
    expect(out).toContain("verify OK");
    expect(out).toContain("Signature Algorithm: sha256WithRSAEncryption");
    expect(out).toContain("Issuer: CN = RSA Root");
  });

  it("openssl verify -crl_check refuses the listed certificate and accepts the other", () => {
    const crl = signCrl(template([{ serial: "ff", revokedAt: T, reason: "keyCompromise" }]), root.key);
    const dir = filesIn({ "crl.pem": crl.pem, "ca.pem": root.pem, "web.pem": web.pem, "api.pem": api.pem });
    const revoked = verifyWithCrl(dir, "web.pem");
    expect(revoked.ok).toBe(false);
    expect(revoked.out).toContain("certificate revoked");
    const kept = verifyWithCrl(dir, "api.pem");
    expect(kept.ok, kept.out).toBe(true);
  });
});

describe("readCrl and crlSignedBy", () => {
  it("reads back what signCrl wrote, the first CRL block of a text", () => {
    // The decoder keeps one leading zero digit of a byte ("0a"); consumers compare serials through normalSerial.
    const crl = signCrl(template([{ serial: "ff", revokedAt: T, reason: "keyCompromise" }, { serial: "a", revokedAt: NEXT, reason: "unspecified" }]), root.key);
    const decoded = readCrl(`${root.pem}${crl.pem}${signCrl(template([], { number: 7 }), root.key).pem}`);
    expect(decoded).toMatchObject({
      signatureHash: "sha384",
      issuer: { commonName: "CRL Root" },
      thisUpdate: T.toISOString(),
      nextUpdate: NEXT.toISOString(),
      number: 300,
      authorityKeyId: root.subjectKeyId.toString("hex"),
      entries: [
        { serial: "0a", revokedAt: NEXT.toISOString(), reason: "unspecified" },
        { serial: "ff", revokedAt: T.toISOString(), reason: "keyCompromise" },
      ],
    });
    expect(decoded!.issuerNameDer.equals(subjectNameDer(root.der))).toBe(true);
  });

  it("null for a text without a CRL block, and for a CRL block that does not parse", () => {
    expect(readCrl(root.pem)).toBeNull();
    expect(readCrl("")).toBeNull();
    expect(readCrl("-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n")).toBeNull();
  });

  it("true only for the CA's key; false for another key, a key type that cannot verify, or a hash it does not take", () => {
    const crl = readCrl(signCrl(template([{ serial: "ff", revokedAt: T, reason: "keyCompromise" }]), root.key).pem)!;
    expect(crlSignedBy(crl, root.key)).toBe(true);
    expect(crlSignedBy(crl, issueOf(cfg, "root", null).key)).toBe(false);
    expect(crlSignedBy(crl, generateKeyPairSync("x25519").publicKey)).toBe(false);
    expect(crlSignedBy({ ...crl, signatureHash: "sha1" }, root.key)).toBe(false);
    expect(crlSignedBy({ ...crl, signatureHash: "1.2.840.10045.4.1" }, root.key)).toBe(false);
    const rsaCrl = readCrl(signCrl(template([], { signatureAlgorithm: "sha256WithRSAEncryption" }), rsa.key).pem)!;
    expect(rsaCrl.signatureHash).toBe("sha256");
    expect(crlSignedBy(rsaCrl, rsa.key)).toBe(true);
    // A SHA-512 signature (as another CA may make) is accepted when it verifies.
    expect(crlSignedBy({ ...rsaCrl, signatureHash: "sha512", signature: sign("sha512", rsaCrl.tbsDer, rsa.key) }, rsa.key)).toBe(true);
    expect(crlSignedBy({ ...rsaCrl, signatureHash: "sha1", signature: sign("sha1", rsaCrl.tbsDer, rsa.key) }, rsa.key)).toBe(false);
  });
});
