import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { AltName } from "../../src/config/alt-names.js";
import type { AltNameConstraint, SubjectSpec } from "../../src/config/types.js";
import { childrenOf, integer, integerBytes, oid, readElement, tlv } from "../../src/x509/der.js";
import { encodeCertificationRequest, encodeTbsCertificate, encodeTbsCertList, subjectNameDer, subjectPublicKeyBits } from "../../src/x509/encode.js";
import { toPem } from "../../src/x509/pem.js";
import type { CertTemplate, CrlTemplate, SignatureAlgorithm } from "../../src/x509/spec.js";
import * as forge from "./forge-reference.js";
import { requireTool } from "../helpers/require-tool.js";

/**
 * x509/encode.ts (Buffer DER) against the node-forge encoding it replaced (forge-reference.ts, verbatim): byte for
 * byte, over random templates with every extension, name constraints of every type, long lists (long-form
 * lengths), times from year 0 to 9999 with the UTCTime/GeneralizedTime edges, Unicode subjects, IP, IDN (A-label),
 * email and URI alt names, and each signature algorithm; then openssl judges a sample of what it builds.
 */

const spkis = {
  p256: generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" }),
  p384: generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ type: "spki", format: "der" }),
  rsa: generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" }),
};

const hex = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString("hex"));
// Serials as templates hold them, plus the shapes forge trimmed (one redundant leading 00 or ff).
const serial = fc.oneof(hex(1, 20), hex(1, 19).map((h) => `00${h}`), hex(1, 19).map((h) => `ff${h}`), fc.constantFrom("00", "0080", "00ff", "ff80", "ff7f", "7f"));
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const idn = fc.constantFrom("xn--bcher-kva.test", "xn--80akhbyknj4f.xn--p1ai", "xn--fiqs8s.example");
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));
const uri = fc.tuple(fc.constantFrom("https", "spiffe", "urn"), domain, fc.stringMatching(/^[A-Za-z0-9._~%/-]{0,40}$/)).map(([s, h, p]) => (s === "urn" ? `urn:${h}:${p}` : `${s}://${h}/${p}`));
const altName: fc.Arbitrary<AltName> = fc.oneof(
  domain.map((value) => ({ type: "dns" as const, value })),
  domain.map((value) => ({ type: "dns" as const, value: `*.${value}` })),
  idn.map((value) => ({ type: "dns" as const, value })),
  fc.oneof(ipv4, ipv6).map((value) => ({ type: "ip" as const, value })),
  fc.tuple(label, domain).map(([u, d]) => ({ type: "email" as const, value: `${u}@${d}` })),
  uri.map((value) => ({ type: "uri" as const, value })),
);
const constraint: fc.Arbitrary<AltNameConstraint> = fc.oneof(
  domain.map((value) => ({ type: "dns" as const, value })),
  domain.map((value) => ({ type: "dns" as const, value: `.${value}` })),
  domain.map((value) => ({ type: "email" as const, value: `@${value}` })),
  domain.map((value) => ({ type: "uri" as const, value: `.${value}` })),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([value, prefix]) => ({ type: "ip" as const, value, prefix })),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([value, prefix]) => ({ type: "ip" as const, value, prefix })),
) as fc.Arbitrary<AltNameConstraint>;
// Unicode text without lone surrogates (which have no UTF-8 form); short and long (a 64-character limit applies in
// config, but the encoder does not rely on it).
const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 });
const subject: fc.Arbitrary<SubjectSpec> = fc.record(
  {
    country: fc.stringMatching(/^[A-Z]{2}$/),
    state: text,
    locality: text,
    organization: text,
    organizationalUnit: text,
    commonName: text,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<SubjectSpec>;
const edgeTimes = ["1949-12-31T23:59:59Z", "1950-01-01T00:00:00Z", "2049-12-31T23:59:59Z", "2050-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "0999-06-15T12:00:00Z", "2000-02-29T00:00:00Z"];
const time = fc.oneof(
  fc.constantFrom(...edgeTimes).map((t) => new Date(t)),
  fc.integer({ min: Date.UTC(0, 0, 1) / 1000, max: Date.UTC(9999, 11, 31, 23, 59, 59) / 1000 }).map((s) => new Date(s * 1000)),
  fc.integer({ min: Date.UTC(1990, 0, 1) / 1000, max: Date.UTC(2060, 0, 1) / 1000 }).map((s) => new Date(s * 1000)),
);
const signatureAlgorithm = fc.constantFrom<SignatureAlgorithm>("ecdsaWithSHA256", "ecdsaWithSHA384", "sha256WithRSAEncryption");
const keyUsage = fc.subarray(["digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign"] as const, { minLength: 1 });

const template: fc.Arbitrary<CertTemplate> = fc
  .record({
    serial,
    subject,
    issuer: subject,
    issuerNameDer: fc.option(subject, { nil: undefined }),
    notBefore: time,
    notAfter: time,
    publicKeySpki: fc.constantFrom(spkis.p256, spkis.p384, spkis.rsa),
    signatureAlgorithm,
    isCa: fc.boolean(),
    pathLength: fc.option(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(127, 128, 255, 256, 32767, 32768, 2 ** 31 - 1)), { nil: null }),
    keyUsage,
    extKeyUsage: fc.subarray(["serverAuth", "clientAuth"] as const),
    // Up to 400 names: the SAN extension then needs two- and three-byte long-form lengths.
    altNames: fc.oneof(fc.array(altName, { maxLength: 6 }), fc.array(altName, { minLength: 100, maxLength: 400 })),
    nameConstraints: fc.option(fc.record({ permitted: fc.array(constraint, { maxLength: 5 }), excluded: fc.array(constraint, { maxLength: 5 }) }), { nil: null }),
    subjectKeyId: hex(20, 20),
    authorityKeyId: fc.option(hex(1, 32), { nil: null }),
    crlUrls: fc.option(fc.array(uri, { maxLength: 3 }), { nil: undefined }),
  })
  .map((t) => {
    const { issuerNameDer, notBefore, notAfter, crlUrls, ...rest } = t;
    return {
      ...rest,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      // An external issuer's Name, as its certificate would encode it.
      ...(issuerNameDer ? { issuerNameDer: Buffer.from(forge.forgeNameDer(issuerNameDer)) } : {}),
      ...(crlUrls ? { crlUrls } : {}),
    } as CertTemplate;
  });

const runs = { numRuns: 300 };

describe("encode.ts against the forge encoding it replaced, byte for byte", () => {
  it("TBSCertificate and the signed certificate, over random templates", () => {
    fc.assert(
      fc.property(template, fc.uint8Array({ minLength: 0, maxLength: 600 }), (t, signature) => {
        const ours = encodeTbsCertificate(t);
        const theirs = forge.encodeTbsCertificate(t);
        expect(ours.tbsDer.toString("hex")).toBe(theirs.tbsDer.toString("hex"));
        expect(ours.withSignature(Buffer.from(signature)).toString("hex")).toBe(theirs.withSignature(Buffer.from(signature)).toString("hex"));
      }),
      runs,
    );
  });

  it("TBSCertList and the signed CRL: any entries, reasons by name and by number, CRL numbers up to 2^31 - 1", () => {
    const reason = fc.constantFrom("unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation", "privilegeWithdrawn", "certificateHold", "removeFromCRL", "aACompromise", "7", "42", "99", "nonsense");
    const crl: fc.Arbitrary<CrlTemplate> = fc.record({
      issuerNameDer: subject.map((s) => Buffer.from(forge.forgeNameDer(s))),
      signatureAlgorithm,
      thisUpdate: time,
      nextUpdate: time,
      number: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536)),
      authorityKeyId: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((b) => Buffer.from(b)),
      entries: fc.array(fc.record({ serial: fc.oneof(hex(1, 20), hex(1, 20).map((h) => h.slice(1))), revokedAt: time, reason }), { maxLength: 60 }),
    });
    fc.assert(
      fc.property(crl, fc.uint8Array({ maxLength: 300 }), (t, signature) => {
        const ours = encodeTbsCertList(t);
        const theirs = forge.encodeTbsCertList(t);
        expect(ours.tbsDer.toString("hex")).toBe(theirs.tbsDer.toString("hex"));
        expect(ours.withSignature(Buffer.from(signature)).equals(theirs.withSignature(Buffer.from(signature)))).toBe(true);
      }),
      runs,
    );
  });

  it("CertificationRequestInfo and the signed request, with and without alt names", () => {
    const request = fc.record({ subject, spki: fc.constantFrom(spkis.p256, spkis.p384, spkis.rsa), altNames: fc.array(altName, { maxLength: 8 }), signatureAlgorithm });
    fc.assert(
      fc.property(request, fc.uint8Array({ maxLength: 300 }), (args, signature) => {
        const ours = encodeCertificationRequest(args);
        const theirs = forge.encodeCertificationRequest(args);
        expect(ours.tbsDer.toString("hex")).toBe(theirs.infoDer.toString("hex"));
        expect(ours.withSignature(Buffer.from(signature)).equals(theirs.withSignature(Buffer.from(signature)))).toBe(true);
      }),
      runs,
    );
  });

  it("subjectNameDer and subjectPublicKeyBits read what forge read", () => {
    fc.assert(
      fc.property(template, (t) => {
        const cert = encodeTbsCertificate(t).withSignature(randomBytes(64));
        expect(subjectNameDer(cert).toString("hex")).toBe(forge.subjectNameDer(cert).toString("hex"));
        expect(subjectPublicKeyBits(t.publicKeySpki).equals(forge.subjectPublicKeyBits(t.publicKeySpki))).toBe(true);
      }),
      { numRuns: 100 },
    );
    // A v1 certificate has no [0] version: the subject is then the fifth field, not the sixth.
    const v1 = tlv(0x30, Buffer.concat([tlv(0x30, Buffer.concat([integer(5), tlv(0x30, oid("1.2.840.10045.4.3.2")), forge.forgeNameDer({ commonName: "issuer" }), tlv(0x30, Buffer.alloc(0)), forge.forgeNameDer({ commonName: "subject" }), spkis.p256]))]));
    expect(subjectNameDer(v1).equals(forge.forgeNameDer({ commonName: "subject" }))).toBe(true);
  });

  it("refuses what has no faithful encoding: a lone surrogate in a subject, a non-ASCII alt name, a year after 9999", () => {
    const base = fc.sample(template, { numRuns: 1, seed: 1 })[0]!;
    expect(() => encodeTbsCertificate({ ...base, subject: { commonName: "a\ud800b" } })).toThrow(/not valid Unicode/);
    expect(() => encodeTbsCertificate({ ...base, subject: { commonName: "a\udc00" } })).toThrow(/not valid Unicode/);
    expect(encodeTbsCertificate({ ...base, subject: { commonName: "a😀" } }).tbsDer.includes(Buffer.from("a😀"))).toBe(true);
    expect(() => encodeTbsCertificate({ ...base, altNames: [{ type: "dns", value: "bücher.test" }] })).toThrow(/is not ASCII/);
    expect(() => encodeTbsCertificate({ ...base, notAfter: "+010000-01-01T00:00:00.000Z" })).toThrow(/cannot be encoded/);
  });
});

describe("der.ts primitives", () => {
  it("lengths: short form up to 127, then long form with as few bytes as the length needs", () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const content = Buffer.alloc(n, 0x61);
      expect(tlv(4, content).equals(forge.forgeOctetsDer(content)), `length ${n}`).toBe(true);
    }
    expect(tlv(4, Buffer.alloc(127)).subarray(0, 2).toString("hex")).toBe("047f");
    expect(tlv(4, Buffer.alloc(128)).subarray(0, 3).toString("hex")).toBe("048180");
    expect(tlv(4, Buffer.alloc(256)).subarray(0, 4).toString("hex")).toBe("04820100");
  });

  it("INTEGER from a number: minimal two's complement, a 00 before a high bit", () => {
    fc.assert(fc.property(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0, 127, 128, 255, 256, 32767, 32768, 8388607, 8388608)), (n) => {
      expect(integer(n).toString("hex")).toBe(forge.forgeIntegerDer(n).toString("hex"));
    }));
    expect(integer(2 ** 40).toString("hex")).toBe("0206010000000000");
    expect(() => integer(-1)).toThrow(RangeError);
    expect(() => integer(1.5)).toThrow(RangeError);
  });

  it("INTEGER from bytes: one redundant leading byte dropped, as forge did", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), (bytes) => {
      expect(integerBytes(Buffer.from(bytes)).toString("hex")).toBe(forge.forgeIntegerBytesDer(Buffer.from(bytes)).toString("hex"));
    }), { numRuns: 500 });
    expect(integerBytes(Buffer.from("0001", "hex")).toString("hex")).toBe("020101");
    expect(integerBytes(Buffer.from("0080", "hex")).toString("hex")).toBe("02020080");
    expect(integerBytes(Buffer.from("ff80", "hex")).toString("hex")).toBe("020180");
    expect(integerBytes(Buffer.from("ff7f", "hex")).toString("hex")).toBe("0202ff7f");
  });

  it("OBJECT IDENTIFIER: base-128 arcs, the first two folded into one", () => {
    const arc = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
    const id = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(arc, { maxLength: 8 })).map(([a, b, rest]) => [a, b, ...rest].join("."));
    fc.assert(fc.property(id, (text) => {
      expect(oid(text).toString("hex")).toBe(forge.forgeOidDer(text).toString("hex"));
    }), { numRuns: 500 });
    expect(oid("2.999.3").toString("hex")).toBe("0603883703");
    expect(() => oid("1.40")).toThrow(RangeError);
    expect(() => oid("3.1")).toThrow(RangeError);
    // Every arc a non-negative safe integer, at least two of them.
    for (const bad of ["1", "1.2.x", "1.2.-3", "1.2.3.9007199254740993"]) expect(() => oid(bad), bad).toThrow(/invalid OID/);
    expect(oid("1.39").toString("hex")).toBe("06014f"); // 40 × 1 + 39 = 79
  });

  it("the reader walks what the writer wrote, and refuses truncated or indefinite lengths", () => {
    const der = tlv(0x30, Buffer.concat([integer(1), tlv(4, Buffer.alloc(300)), tlv(0xa0, integer(7))]));
    const top = readElement(der, 0);
    expect(top.end).toBe(der.length);
    expect(childrenOf(der, top).map((e) => [e.tag, e.end - e.contentStart])).toEqual([[2, 1], [4, 300], [0xa0, 3]]);
    expect(() => readElement(der.subarray(0, der.length - 1), 0)).toThrow(/truncated/);
    expect(() => readElement(Buffer.from("3080", "hex"), 0)).toThrow(/unsupported length/);
    expect(() => readElement(Buffer.from("30", "hex"), 0)).toThrow(/truncated/);
    expect(() => readElement(Buffer.from("1f0100", "hex"), 0)).toThrow(/tag numbers/);
    // Long-form lengths: up to four length bytes are read, a fifth is refused, and length bytes cut off by the
    // end of the buffer (a hostile file read back) are refused rather than read as undefined.
    expect(readElement(Buffer.from("308400000001ff", "hex"), 0)).toMatchObject({ tag: 0x30 });
    expect(() => readElement(Buffer.from("30850000000001ff", "hex"), 0)).toThrow(/unsupported length/);
    expect(() => readElement(Buffer.from("308201", "hex"), 0)).toThrow(/unsupported length/);
    expect(() => readElement(Buffer.from("3081", "hex"), 0)).toThrow(/unsupported length/);
  });
});

describe("what encode.ts builds, judged by openssl", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "der-encoder-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("random leaves under a random CA verify with -x509_strict; the same leaf with one byte of its TBS changed does not", () => {
    requireTool("openssl", "openssl");
    const caKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const caSpki = caKey.publicKey.export({ type: "spki", format: "der" });
    const caSubject: SubjectSpec = { country: "DE", organization: "Grüße & Co 🔐", commonName: "Random CA" };
    const now = Date.now();
    const signed = (t: CertTemplate, key: KeyObject) => {
      const { tbsDer, withSignature } = encodeTbsCertificate(t);
      return { tbsDer, der: withSignature(sign("sha256", tbsDer, key)) };
    };
    const ca = signed(
      {
        serial: "4f01", subject: caSubject, issuer: caSubject, notBefore: new Date(now - 3600e3).toISOString().replace(/\.\d+Z/, "Z"), notAfter: "2051-01-01T00:00:00Z",
        publicKeySpki: caSpki, signatureAlgorithm: "ecdsaWithSHA256", isCa: true, pathLength: 0, keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"], extKeyUsage: [],
        altNames: [], nameConstraints: null, subjectKeyId: "aa".repeat(20), authorityKeyId: null, crlUrls: [],
      },
      caKey.privateKey,
    );
    writeFileSync(path.join(dir, "ca.pem"), toPem("CERTIFICATE", ca.der));
    const leafKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const leaves = fc.sample(
      fc.record({ serial: hex(8, 16).map((h) => `4${h.slice(1)}`), subject, altNames: fc.array(altName, { minLength: 1, maxLength: 30 }), days: fc.integer({ min: 1, max: 9000 }), crlUrls: fc.array(uri, { maxLength: 2 }) }),
      { numRuns: 12, seed: 42 },
    );
    const files = leaves.map((l, i) => {
      const leaf = signed(
        {
          serial: l.serial, subject: l.subject, issuer: caSubject, notBefore: new Date(now - 60e3).toISOString().replace(/\.\d+Z/, "Z"), notAfter: new Date(now + l.days * 86400e3).toISOString().replace(/\.\d+Z/, "Z"),
          publicKeySpki: leafKey.publicKey.export({ type: "spki", format: "der" }), signatureAlgorithm: "ecdsaWithSHA256", isCa: false, pathLength: null,
          keyUsage: ["digitalSignature"], extKeyUsage: ["serverAuth"], altNames: l.altNames, nameConstraints: null, subjectKeyId: "bb".repeat(20), authorityKeyId: "aa".repeat(20), crlUrls: l.crlUrls,
        },
        caKey.privateKey,
      );
      // Node parses it too, and sees the alt names it was given.
      expect(new X509Certificate(leaf.der).checkIssued(new X509Certificate(ca.der))).toBe(true);
      const file = path.join(dir, `leaf${i}.pem`);
      writeFileSync(file, toPem("CERTIFICATE", leaf.der));
      return { file, der: leaf.der };
    });
    const out = execFileSync("openssl", ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", path.join(dir, "ca.pem"), ...files.map((f) => f.file)], { encoding: "utf8" });
    expect(out.split("\n").filter((l) => l.endsWith(": OK"))).toHaveLength(files.length);

    // The failing twin: one bit of the subject key ID changed after signing breaks the signature.
    const tampered = Buffer.from(files[0]!.der);
    const at = tampered.indexOf(Buffer.from("bb".repeat(20), "hex"));
    tampered[at] = tampered[at]! ^ 1;
    writeFileSync(path.join(dir, "tampered.pem"), toPem("CERTIFICATE", tampered));
    let failed = "";
    try {
      execFileSync("openssl", ["verify", "-x509_strict", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "tampered.pem")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      failed = String((error as { stdout?: string; stderr?: string }).stdout) + String((error as { stderr?: string }).stderr);
    }
    expect(failed).toMatch(/signature failure/);
  });
});
