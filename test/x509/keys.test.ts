import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeEncryptedPrivateKeyInfo } from "../../src/x509/forge.js";
import { decodePrivateKey, decodePrivateKeyWithAny, encodePrivateKey, encodePrivateKeyDer, encryptPkcs8Der, generateKey, keyEncryptionIsStrong, keyTypeOf, KEY_KDF, spkiOf } from "../../src/x509/keys.js";
import { toPem } from "../../src/x509/pem.js";
import { opensslSync } from "../helpers/openssl.js";
import { keyOf } from "./fixtures.js";
import { refusal } from "../helpers/refusal.js";

/**
 * x509/keys.ts: keys of each type as openssl describes them, their encryption as openssl reads and decrypts it,
 * the strength check against keys encrypted other ways, and the errors of reading a key.
 */

const ec = keyOf("ecdsa-p256");
const publicDer = (key: KeyObject) => createPublicKey(key).export({ type: "spki", format: "der" });
const describeAs = { file: "cas/root/key.pem", passphraseEnv: "ROOT_PASS" };


describe("generateKey and keyTypeOf", () => {
  it("each type provision issues is what openssl says it is, and its spki is the key's", async () => {
    for (const [type, says] of [["ecdsa-p256", "ASN1 OID: prime256v1"], ["ecdsa-p384", "ASN1 OID: secp384r1"], ["rsa-2048", "Public-Key: (2048 bit)"]] as const) {
      const made = await generateKey(type);
      expect(made.type).toBe(type);
      expect(keyTypeOf(made.privateKey)).toBe(type);
      expect(made.spki.equals(publicDer(made.privateKey))).toBe(true);
      const text = opensslSync(["pkey", "-pubin", "-inform", "DER", "-noout", "-text"], made.spki).out;
      expect(text).toContain(says);
      if (type === "rsa-2048") expect(text).toContain("Exponent: 65537 (0x10001)");
    }
  });

  it("RSA 3072 and 4096 are named by their size; other sizes, curves and algorithms are no type provision issues", () => {
    expect(keyTypeOf(createPublicKey(keyOf("rsa-3072")))).toBe("rsa-3072");
    expect(keyTypeOf(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("rsa", { modulusLength: 2056 }).publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("ed25519").publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).publicKey)).toBeUndefined();
  });

  it("rsa-4096 generates a 4096-bit key", async () => {
    const made = await generateKey("rsa-4096");
    expect(made.privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 4096, publicExponent: 65537n });
  }, 60_000);

  it("spkiOf is the private key's SubjectPublicKeyInfo, the same Buffer each time (an issuer's is asked for per certificate)", () => {
    expect(spkiOf(ec).equals(publicDer(ec))).toBe(true);
    expect(spkiOf(ec)).toBe(spkiOf(ec));
  });
});

describe("key encryption (PBES2, PBKDF2-HMAC-SHA256 at 600,000 iterations, AES-256-CBC)", () => {
  it("openssl decrypts the PEM and the DER with the passphrase, sees the parameters, and refuses another passphrase", () => {
    const pem = encodePrivateKey(ec, "pass phrase ü");
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const read = opensslSync(["pkey", "-passin", "pass:pass phrase ü", "-pubout"], pem);
    expect(read.ok, read.out).toBe(true);
    expect(createPublicKey(read.out).export({ type: "spki", format: "der" }).equals(spkiOf(ec))).toBe(true);
    expect(opensslSync(["pkey", "-passin", "pass:pass phrase u", "-pubout"], pem).ok).toBe(false);
    const params = opensslSync(["asn1parse"], pem).out;
    expect(params).toMatch(/:PBES2\n[\s\S]*:PBKDF2\n.*\n.*OCTET STRING\s+\[HEX DUMP\]:[0-9A-F]{32}\n.*INTEGER\s+:0927C0\n.*\n.*:hmacWithSHA256\n.*NULL\s*\n.*\n.*:aes-256-cbc\n.*OCTET STRING\s+\[HEX DUMP\]:[0-9A-F]{32}\n/);
    const der = encodePrivateKeyDer(ec, "pw");
    const fromDer = opensslSync(["pkey", "-inform", "DER", "-passin", "pass:pw", "-pubout"], der);
    expect(fromDer.ok, fromDer.out).toBe(true);
    expect(keyEncryptionIsStrong(toPem("ENCRYPTED PRIVATE KEY", der))).toBe(true);
  });

  it("without a passphrase: plain PKCS#8, PEM and DER", () => {
    const pem = encodePrivateKey(ec, null);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(pem).export({ type: "pkcs8", format: "der" }).equals(ec.export({ type: "pkcs8", format: "der" }))).toBe(true);
    expect(encodePrivateKeyDer(ec, null).equals(ec.export({ type: "pkcs8", format: "der" }))).toBe(true);
  });

  it("salt and IV come from `random`, in that order, 16 bytes each", () => {
    const asked: number[] = [];
    const random = (size: number) => (asked.push(size), Buffer.alloc(size, asked.length));
    const der = encryptPkcs8Der(ec.export({ type: "pkcs8", format: "der" }), "pw", random);
    expect(asked).toEqual([16, 16]);
    const params = opensslSync(["asn1parse", "-inform", "DER"], der).out;
    expect(params).toContain(`[HEX DUMP]:${"01".repeat(16)}\n`);
    expect(params).toMatch(/aes-256-cbc\n.*\[HEX DUMP\]:(02){16}\n/);
    expect(opensslSync(["pkey", "-inform", "DER", "-passin", "pass:pw", "-noout"], der).ok).toBe(true);
  });

  it("keyEncryptionIsStrong: only PBKDF2 with SHA-256 or SHA-512, at least 600,000 iterations and a 16-byte salt", () => {
    const salt16 = Buffer.alloc(16, 1);
    const header = (salt: Buffer, iterations: number) => encodeEncryptedPrivateKeyInfo({ salt, iterations, iv: Buffer.alloc(16), ciphertext: Buffer.alloc(16) });
    const strong = header(salt16, KEY_KDF.iterations);
    const pem = (der: Buffer) => toPem("ENCRYPTED PRIVATE KEY", der);
    expect(keyEncryptionIsStrong(pem(strong))).toBe(true);
    expect(keyEncryptionIsStrong(pem(header(salt16, KEY_KDF.iterations + 1)))).toBe(true);
    expect(keyEncryptionIsStrong(pem(header(salt16, KEY_KDF.iterations - 1)))).toBe(false);
    expect(keyEncryptionIsStrong(pem(header(Buffer.alloc(15, 1), KEY_KDF.iterations)))).toBe(false);
    // The PRF's OID ends in 9 (hmacWithSHA256); 11 is SHA-512, 7 SHA-1, 8 SHA-224.
    const prf = (last: number) => {
      const der = Buffer.from(strong);
      const at = der.indexOf(Buffer.from("06082a864886f70d0209", "hex"));
      der[at + 9] = last;
      return pem(der);
    };
    expect(keyEncryptionIsStrong(prf(0x0b))).toBe(true);
    expect(keyEncryptionIsStrong(prf(0x07))).toBe(false);
    expect(keyEncryptionIsStrong(prf(0x08))).toBe(false);
    // Node's own export: 2048 iterations and an 8-byte salt (what provision 0.1 wrote).
    expect(keyEncryptionIsStrong(ec.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" }) as string)).toBe(false);
    expect(keyEncryptionIsStrong(encodePrivateKey(ec, null))).toBe(false);
    expect(keyEncryptionIsStrong("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQA=\n-----END ENCRYPTED PRIVATE KEY-----\n")).toBe(false);
  });
});

describe("decodePrivateKey and decodePrivateKeyWithAny", () => {
  const plain = encodePrivateKey(ec, null);
  const encrypted = encodePrivateKey(ec, "right");

  it("reads a plain key (a passphrase given or not) and an encrypted one with its passphrase", () => {
    expect(publicDer(decodePrivateKey(plain, null, describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(publicDer(decodePrivateKey(plain, "ignored", describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(publicDer(decodePrivateKey(encrypted, "right", describeAs)).equals(spkiOf(ec))).toBe(true);
  });

  it("an encrypted key without a passphrase, with a wrong one, and a file that is no key: three errors", () => {
    const missing = refusal(() => decodePrivateKey(encrypted, null, describeAs));
    expect(missing).toMatchObject({ code: "passphrase-missing", message: "cas/root/key.pem is encrypted and no passphrase is available", hint: "set the environment variable ROOT_PASS to the key's passphrase" });
    expect(refusal(() => decodePrivateKey(encrypted, null, { file: "k.pem", passphraseEnv: null })).hint).toBe("add passphraseEnv: <VARIABLE> to this identity in pki.yaml and set that variable");
    expect(refusal(() => decodePrivateKey(encrypted, "wrong", describeAs))).toMatchObject({
      code: "passphrase-wrong",
      message: "cannot decrypt cas/root/key.pem: wrong passphrase in ROOT_PASS",
      hint: "set ROOT_PASS to the passphrase the key was written with",
    });
    expect(refusal(() => decodePrivateKey(encrypted, "", { file: "k.pem", passphraseEnv: null }))).toMatchObject({
      message: "cannot decrypt k.pem: wrong passphrase in the environment",
      hint: "set the passphrase variable to the passphrase the key was written with",
    });
    expect(refusal(() => decodePrivateKey("-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n", null, describeAs))).toMatchObject({ code: "key-unreadable", message: "cas/root/key.pem is not a readable private key" });
  });

  it("tries each candidate in turn: the first that decrypts wins; when none does, the error is about the last", () => {
    expect(publicDer(decodePrivateKeyWithAny(encrypted, ["wrong", "right"], describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(publicDer(decodePrivateKeyWithAny(encrypted, ["right", "wrong"], describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(publicDer(decodePrivateKeyWithAny(encrypted, ["a", "b", "right"], describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(refusal(() => decodePrivateKeyWithAny(encrypted, ["a", "b"], describeAs)).code).toBe("passphrase-wrong");
    expect(refusal(() => decodePrivateKeyWithAny(encrypted, [], describeAs)).code).toBe("passphrase-missing");
    expect(publicDer(decodePrivateKeyWithAny(plain, ["a", "b"], describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(publicDer(decodePrivateKeyWithAny(plain, [], describeAs)).equals(spkiOf(ec))).toBe(true);
  });
});
