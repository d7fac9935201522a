import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyType } from "../../src/config/types.js";
import { encodeEncryptedPrivateKeyInfo } from "../../src/x509/forge.js";
import { decodePrivateKey, decodePrivateKeyWithAny, encodePrivateKey, encodePrivateKeyDer, encryptPkcs8Der, generateKey, keyEncryptionIsStrong, keyTypeOf, KEY_KDF, spkiOf } from "../../src/x509/keys.js";
import { toPem } from "../../src/x509/pem.js";
import { opensslSync } from "../helpers/openssl.js";
import { refusal } from "../helpers/refusal.js";
import { fixtureFolder } from "../helpers/fixtures.js";
import { keyOf } from "./fixtures.js";

/**
 * What x509/keys.ts decides, fast enough for Stryker (docs/MUTATION.md): which key types it recognises, which
 * key encryptions are weak, which candidate passphrase opens a key, and its errors. keys.test.ts holds the slow
 * cases (RSA-4096, several 600,000-iteration encryptions); here keys of other sizes are public keys made from a
 * JWK modulus (Node does not check it), encrypted keys use Node's or openssl's low iteration counts, and
 * KEY_KDF's own 600,000 iterations are paid once per test that checks what provision writes.
 */

const ec = keyOf("ecdsa-p256");
const spki = (key: KeyObject) => createPublicKey(key).export({ type: "spki", format: "der" });
const describeAs = { file: "cas/root/key.pem", passphraseEnv: "ROOT_PASS" };

/** An RSA public key whose modulus has exactly `bits` bits (all ones below the top bit). */
function rsaPublicOfBits(bits: number): KeyObject {
  const n = Buffer.alloc(Math.ceil(bits / 8), 0xff);
  const top = bits % 8 === 0 ? 8 : bits % 8;
  n[0] = (1 << top) - 1;
  return createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: "AQAB" }, format: "jwk" });
}

// Encrypted with a low iteration count so each decryption is quick: Node's own export (PBKDF2-HMAC-SHA256,
// 2048 iterations, 8-byte salt) and openssl's, made once before the tests into a fixture folder Stryker's runner
// keeps across mutants (test/helpers/fixtures.ts; openssl is scenery, not under test).
const nodeEncrypted = (passphrase: string) => ec.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string;
const OPENSSL_KEYS: Record<string, string[]> = {
  "sha512-8byte-salt": ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512", "-iter", "1000"],
  "sha1-default-prf": ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-iter", "1000"],
  pbes1: ["-v1", "PBE-SHA1-3DES", "-iter", "1000"],
  scrypt: ["-scrypt", "-scrypt_N", "1024", "-scrypt_r", "8", "-scrypt_p", "1"],
};
let fixtures: { dir: string; drop: () => void };
beforeAll(async () => {
  fixtures = await fixtureFolder("provision-key-decisions-", JSON.stringify(OPENSSL_KEYS), async (dir) => {
    const k = path.join(dir, "k.pem");
    opensslSync(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", k]);
    for (const [name, args] of Object.entries(OPENSSL_KEYS)) {
      const made = opensslSync(["pkcs8", "-topk8", "-in", k, "-passout", "pass:fixture", "-out", path.join(dir, `${name}.pem`), ...args]);
      if (!made.ok) throw new Error(made.out);
    }
  });
}, 60_000);
afterAll(() => fixtures.drop());
const opensslMade = (name: string) => readFileSync(path.join(fixtures.dir, `${name}.pem`), "utf8");
/** The public key of the fixture folder's k.pem, for the keys openssl encrypted. */
const opensslSpki = () => spki(createPrivateKey(readFileSync(path.join(fixtures.dir, "k.pem"))));

describe("generateKey, spkiOf and keyTypeOf", () => {
  it("generateKey makes each type asked for (read back by openssl), its spki the key's and remembered", async () => {
    for (const [type, details, says] of [
      ["ecdsa-p256", { namedCurve: "prime256v1" }, "ASN1 OID: prime256v1"],
      ["ecdsa-p384", { namedCurve: "secp384r1" }, "ASN1 OID: secp384r1"],
      ["rsa-2048", { modulusLength: 2048, publicExponent: 65537n }, "Public-Key: (2048 bit)"],
    ] as const) {
      const made = await generateKey(type);
      expect(made.type).toBe(type);
      expect(made.privateKey.type).toBe("private");
      expect(made.privateKey.asymmetricKeyDetails).toEqual(details);
      expect(Buffer.isBuffer(made.spki) && made.spki.equals(spki(made.privateKey))).toBe(true);
      expect(opensslSync(["pkey", "-pubin", "-inform", "DER", "-noout", "-text"], made.spki).out).toContain(says);
      expect(spkiOf(made.privateKey)).toBe(made.spki);
    }
    await expect(generateKey("rsa-1" as KeyType)).rejects.toThrow();
  });

  it("spkiOf: the key's SubjectPublicKeyInfo DER, computed once per key", () => {
    const key = keyOf("ecdsa-p256");
    const first = spkiOf(key);
    expect(Buffer.isBuffer(first) && first.equals(spki(key))).toBe(true);
    expect(spkiOf(key)).toBe(first);
    expect(spkiOf(ec).equals(first)).toBe(false);
  });

  it("keyTypeOf names RSA 2048/3072/4096 and P-256/P-384, private or public; every other size, curve and algorithm is undefined", () => {
    expect([2047, 2048, 2049, 3071, 3072, 3073, 4095, 4096, 4097, 1024, 8192].map((bits) => keyTypeOf(rsaPublicOfBits(bits)))).toEqual([
      undefined, "rsa-2048", undefined, undefined, "rsa-3072", undefined, undefined, "rsa-4096", undefined, undefined, undefined,
    ]);
    expect(keyTypeOf(ec)).toBe("ecdsa-p256");
    expect(keyTypeOf(createPublicKey(ec))).toBe("ecdsa-p256");
    expect(keyTypeOf(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey)).toBe("ecdsa-p384");
    for (const curve of ["P-521", "secp256k1", "brainpoolP256r1"]) expect(keyTypeOf(generateKeyPairSync("ec", { namedCurve: curve }).publicKey), curve).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("ed25519").publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync("x25519").publicKey)).toBeUndefined();
    // RSA-PSS keys of a size provision issues are still not RSA keys to it.
    expect(keyTypeOf(generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).publicKey)).toBeUndefined();
  });
});

describe("what provision writes: PBES2, PBKDF2-HMAC-SHA256 at KEY_KDF's iterations, AES-256-CBC", () => {
  it("encryptPkcs8Der: salt then IV from `random` (16 bytes each), KEY_KDF's iterations; openssl decrypts it with the UTF-8 passphrase only", () => {
    const asked: number[] = [];
    const random = (size: number) => (asked.push(size), Buffer.alloc(size, 0xa0 + asked.length));
    const der = encryptPkcs8Der(ec.export({ type: "pkcs8", format: "der" }), "pässword", random);
    expect(asked).toEqual([16, 16]);
    const parsed = opensslSync(["asn1parse", "-inform", "DER"], der).out;
    expect(parsed).toMatch(new RegExp(`:PBKDF2\\n.*\\n.*OCTET STRING\\s+\\[HEX DUMP\\]:${"A1".repeat(16)}\\n.*INTEGER\\s+:0927C0\\n.*\\n.*:hmacWithSHA256\\n[\\s\\S]*:aes-256-cbc\\n.*\\[HEX DUMP\\]:${"A2".repeat(16)}\\n`));
    const read = opensslSync(["pkey", "-inform", "DER", "-passin", "pass:pässword", "-pubout", "-outform", "DER"], der);
    expect(read.ok, read.out).toBe(true);
    expect(read.stdout.equals(spkiOf(ec))).toBe(true);
    expect(opensslSync(["pkey", "-inform", "DER", "-passin", "pass:password", "-noout"], der).ok).toBe(false);
    expect(keyEncryptionIsStrong(toPem("ENCRYPTED PRIVATE KEY", der))).toBe(true);
  });

  it("encodePrivateKey and encodePrivateKeyDer: encrypted under KEY_KDF with a passphrase, plain PKCS#8 without", () => {
    const pkcs8 = ec.export({ type: "pkcs8", format: "der" });
    expect(encodePrivateKey(ec, null)).toBe(toPem("PRIVATE KEY", pkcs8));
    expect(encodePrivateKeyDer(ec, null).equals(pkcs8)).toBe(true);
    const pem = encodePrivateKey(ec, "pw");
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(keyEncryptionIsStrong(pem)).toBe(true);
    const fromPem = opensslSync(["pkey", "-passin", "pass:pw", "-pubout", "-outform", "DER"], pem);
    expect(fromPem.ok && fromPem.stdout.equals(spkiOf(ec)), fromPem.out).toBe(true);
    const der = encodePrivateKeyDer(ec, "pw");
    expect(keyEncryptionIsStrong(toPem("ENCRYPTED PRIVATE KEY", der))).toBe(true);
    const fromDer = opensslSync(["pkey", "-inform", "DER", "-passin", "pass:pw", "-pubout", "-outform", "DER"], der);
    expect(fromDer.ok && fromDer.stdout.equals(spkiOf(ec)), fromDer.out).toBe(true);
  });
});

describe("keyEncryptionIsStrong", () => {
  const header = (over: { salt?: Buffer; iterations?: number } = {}) =>
    toPem("ENCRYPTED PRIVATE KEY", encodeEncryptedPrivateKeyInfo({ salt: over.salt ?? Buffer.alloc(16, 1), iterations: over.iterations ?? KEY_KDF.iterations, iv: Buffer.alloc(16), ciphertext: Buffer.alloc(16) }));
  /** The header with its PRF's OID ending in `last` (9: hmacWithSHA256, 11: SHA-512, 7: SHA-1, 8: SHA-224). */
  const withPrf = (last: number) => {
    const der = Buffer.from(header().replace(/-----[^-]+-----|\n/g, ""), "base64");
    der[der.indexOf(Buffer.from("06082a864886f70d0209", "hex")) + 9] = last;
    return toPem("ENCRYPTED PRIVATE KEY", der);
  };

  it("strong at exactly KEY_KDF (SHA-256 or SHA-512, 600,000 iterations, 16-byte salt) and above; one step below any of them is weak", () => {
    expect(KEY_KDF).toMatchObject({ iterations: 600_000, saltLength: 16 });
    expect(keyEncryptionIsStrong(header())).toBe(true);
    expect(keyEncryptionIsStrong(header({ iterations: KEY_KDF.iterations + 1, salt: Buffer.alloc(32, 1) }))).toBe(true);
    expect(keyEncryptionIsStrong(header({ iterations: KEY_KDF.iterations - 1 }))).toBe(false);
    expect(keyEncryptionIsStrong(header({ salt: Buffer.alloc(15, 1) }))).toBe(false);
    expect(keyEncryptionIsStrong(withPrf(0x0b))).toBe(true);
    expect(keyEncryptionIsStrong(withPrf(0x07))).toBe(false);
    expect(keyEncryptionIsStrong(withPrf(0x08))).toBe(false);
  });

  it("keys encrypted by Node's and openssl's defaults, by PBES1 or scrypt, and texts that are no encrypted key are weak", () => {
    expect(keyEncryptionIsStrong(nodeEncrypted("pw"))).toBe(false);
    for (const name of ["sha512-8byte-salt", "sha1-default-prf", "pbes1", "scrypt"]) expect(keyEncryptionIsStrong(opensslMade(name)), name).toBe(false);
    // The same bytes under another label are not an encrypted key.
    expect(keyEncryptionIsStrong(header().replaceAll("ENCRYPTED PRIVATE KEY", "PRIVATE KEY"))).toBe(false);
    expect(keyEncryptionIsStrong(encodePrivateKey(ec, null))).toBe(false);
    expect(keyEncryptionIsStrong("")).toBe(false);
    expect(keyEncryptionIsStrong("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQA=\n-----END ENCRYPTED PRIVATE KEY-----\n")).toBe(false);
  });
});

describe("decodePrivateKey", () => {
  it("reads a plain key with or without a passphrase, an encrypted one with its passphrase (openssl's and Node's)", () => {
    const plain = encodePrivateKey(ec, null);
    expect(spki(decodePrivateKey(plain, null, describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(spki(decodePrivateKey(plain, "ignored", describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(spki(decodePrivateKey(nodeEncrypted("right"), "right", describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(spki(decodePrivateKey(opensslMade("sha512-8byte-salt"), "fixture", describeAs)).equals(opensslSpki())).toBe(true);
    expect(decodePrivateKey(plain, null, describeAs).type).toBe("private");
  });

  it("an encrypted key without a passphrase, with a wrong or empty one, and a text that is no key: each its own error", () => {
    const encrypted = nodeEncrypted("right");
    expect(refusal(() => decodePrivateKey(encrypted, null, describeAs))).toMatchObject({
      code: "passphrase-missing",
      message: "cas/root/key.pem is encrypted and no passphrase is available",
      hint: "set the environment variable ROOT_PASS to the key's passphrase",
    });
    expect(refusal(() => decodePrivateKey(encrypted, null, { file: "k.pem", passphraseEnv: null }))).toMatchObject({
      code: "passphrase-missing",
      message: "k.pem is encrypted and no passphrase is available",
      hint: "add passphraseEnv: <VARIABLE> to this identity in pki.yaml and set that variable",
    });
    expect(refusal(() => decodePrivateKey(encrypted, "wrong", describeAs))).toMatchObject({
      code: "passphrase-wrong",
      message: "cannot decrypt cas/root/key.pem: wrong passphrase in ROOT_PASS",
      hint: "set ROOT_PASS to the passphrase the key was written with",
    });
    expect(refusal(() => decodePrivateKey(encrypted, "", { file: "k.pem", passphraseEnv: null }))).toMatchObject({
      code: "passphrase-wrong",
      message: "cannot decrypt k.pem: wrong passphrase in the environment",
      hint: "set the passphrase variable to the passphrase the key was written with",
    });
    const notAKey = refusal(() => decodePrivateKey("-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n", null, describeAs));
    expect(notAKey).toMatchObject({ code: "key-unreadable", message: "cas/root/key.pem is not a readable private key" });
    expect(notAKey.hint).toBeUndefined();
    expect(refusal(() => decodePrivateKey("not a key", "pw", describeAs)).code).toBe("key-unreadable");
  });
});

describe("decodePrivateKeyWithAny: each candidate passphrase in turn", () => {
  it("the first that decrypts wins, wherever it stands; the last is given to decodePrivateKey", () => {
    const encrypted = nodeEncrypted("right");
    for (const candidates of [["right"], ["wrong", "right"], ["right", "wrong"], ["a", "right", "c"], ["a", "b", "right"]]) {
      expect(spki(decodePrivateKeyWithAny(encrypted, candidates, describeAs)).equals(spkiOf(ec)), candidates.join(",")).toBe(true);
    }
  });

  it("none decrypts: the last one's error; no candidate: passphrase-missing; a plain key needs none", () => {
    const encrypted = nodeEncrypted("right");
    expect(refusal(() => decodePrivateKeyWithAny(encrypted, ["a", "b"], describeAs))).toMatchObject({ code: "passphrase-wrong", message: "cannot decrypt cas/root/key.pem: wrong passphrase in ROOT_PASS" });
    expect(refusal(() => decodePrivateKeyWithAny(encrypted, ["a"], describeAs)).code).toBe("passphrase-wrong");
    expect(refusal(() => decodePrivateKeyWithAny(encrypted, [], describeAs))).toMatchObject({ code: "passphrase-missing", message: "cas/root/key.pem is encrypted and no passphrase is available" });
    const plain = encodePrivateKey(ec, null);
    for (const candidates of [[], ["a"], ["a", "b"]]) expect(spki(decodePrivateKeyWithAny(plain, candidates, describeAs)).equals(spkiOf(ec))).toBe(true);
    expect(refusal(() => decodePrivateKeyWithAny("not a key", ["a", "b"], describeAs)).code).toBe("key-unreadable");
    // A key that decrypts is the key itself, not a re-read of another candidate's.
    expect(createPrivateKey(plain).equals(decodePrivateKeyWithAny(encrypted, ["x", "right"], describeAs))).toBe(true);
  });
});
