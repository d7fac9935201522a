import { createCipheriv, createPrivateKey, createPublicKey, generateKeyPair, pbkdf2Sync, randomBytes, type KeyObject } from "node:crypto";
import type { KeyType } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { decodeKeyEncryption, encodeEncryptedPrivateKeyInfo } from "./forge.js";
import { isEncryptedKeyPem, pemToDer, toPem } from "./pem.js";

export { isEncryptedKeyPem } from "./pem.js";

// node:crypto returns the private key as a KeyObject and the public key encoded when only publicKeyEncoding is
// given; @types/node has no overload for that mix.
const generateWithSpki = (type: "ec" | "rsa", options: object) =>
  new Promise<{ privateKey: KeyObject; publicKey: Buffer }>((resolve, reject) =>
    (generateKeyPair as unknown as (t: string, o: object, done: (error: Error | null, publicKey: Buffer, privateKey: KeyObject) => void) => void)(type, options, (error, publicKey, privateKey) =>
      error ? reject(error) : resolve({ privateKey, publicKey }),
    ),
  );

/** A private key and what is derived from it. */
export interface KeyMaterial {
  type: KeyType;
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
}

const spkiCache = new WeakMap<KeyObject, Buffer>();

/**
 * Generates a key on libuv's thread pool, so several generate in parallel. The public key comes back already
 * encoded as SubjectPublicKeyInfo DER (encoded on the pool too, not on the main thread) and is remembered for spkiOf.
 */
export async function generateKey(type: KeyType): Promise<KeyMaterial> {
  const publicKeyEncoding = { type: "spki", format: "der" } as const;
  const { privateKey, publicKey } =
    type === "ecdsa-p256" || type === "ecdsa-p384"
      ? await generateWithSpki("ec", { namedCurve: type === "ecdsa-p256" ? "P-256" : "P-384", publicKeyEncoding })
      : await generateWithSpki("rsa", { modulusLength: Number(type.slice(4)), publicExponent: 0x10001, publicKeyEncoding });
  spkiCache.set(privateKey, publicKey);
  return { type, privateKey, spki: publicKey };
}

/** SubjectPublicKeyInfo DER of a key; remembered, since an issuer's is needed for every certificate it signs. */
export function spkiOf(key: KeyObject): Buffer {
  let spki = spkiCache.get(key);
  if (!spki) spkiCache.set(key, (spki = createPublicKey(key).export({ type: "spki", format: "der" })));
  return spki;
}

/** The key type of a public or private key, or undefined for anything provision does not issue. */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") {
    const bits = details.modulusLength;
    return bits === 2048 || bits === 3072 || bits === 4096 ? (`rsa-${bits}` as KeyType) : undefined;
  }
  if (key.asymmetricKeyType === "ec") {
    if (details.namedCurve === "prime256v1") return "ecdsa-p256";
    if (details.namedCurve === "secp384r1") return "ecdsa-p384";
  }
  return undefined;
}

/**
 * Key encryption: PBES2 with PBKDF2-HMAC-SHA256 at 600,000 iterations (OWASP's figure for SHA-256) and a
 * 16-byte salt, AES-256-CBC. The CI recipe keeps encrypted CA keys on a git branch, so this is what an
 * attacker who copies the branch has to brute-force. Readable by `openssl pkey -passin` and Python's
 * cryptography. Each encryption or decryption costs a few hundred milliseconds, on purpose.
 */
export const KEY_KDF = { iterations: 600_000, saltLength: 16, label: "pbkdf2-sha256:600000" } as const;

/** An encrypted PKCS#8 DER under KEY_KDF. `random` supplies the salt and IV (tests may fix it). */
export function encryptPkcs8Der(pkcs8Der: Buffer, passphrase: string, random: (size: number) => Buffer = randomBytes): Buffer {
  const salt = random(KEY_KDF.saltLength);
  const iv = random(16);
  const key = pbkdf2Sync(Buffer.from(passphrase, "utf8"), salt, KEY_KDF.iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(pkcs8Der), cipher.final()]);
  return encodeEncryptedPrivateKeyInfo({ salt, iterations: KEY_KDF.iterations, iv, ciphertext });
}

/** PKCS#8 PEM; encrypted as KEY_KDF describes when a passphrase is given. */
export function encodePrivateKey(key: KeyObject, passphrase: string | null): string {
  const der = key.export({ type: "pkcs8", format: "der" });
  return passphrase === null ? toPem("PRIVATE KEY", der) : toPem("ENCRYPTED PRIVATE KEY", encryptPkcs8Der(der, passphrase));
}

/** PKCS#8 DER, encrypted as KEY_KDF describes when a passphrase is given (key.der). */
export function encodePrivateKeyDer(key: KeyObject, passphrase: string | null): Buffer {
  const der = key.export({ type: "pkcs8", format: "der" });
  return passphrase === null ? der : encryptPkcs8Der(der, passphrase);
}

/**
 * Whether an encrypted key PEM is protected as strongly as KEY_KDF (PBKDF2-HMAC-SHA256 or -SHA512, at
 * least as many iterations, a salt at least as long). Keys written by provision 0.1 (node's defaults:
 * 2048 iterations, 8-byte salt) are not, and get re-encrypted. Reads only the header, never decrypts.
 */
export function keyEncryptionIsStrong(pem: string): boolean {
  const der = pemToDer(pem, "ENCRYPTED PRIVATE KEY");
  const params = der && decodeKeyEncryption(der);
  return Boolean(params && (params.prf === "sha256" || params.prf === "sha512") && params.iterations >= KEY_KDF.iterations && params.saltLength >= KEY_KDF.saltLength);
}


/**
 * Reads a key trying each candidate passphrase in turn: the one of the current passphraseEnv, then the one
 * the key was last written with (so renaming passphraseEnv re-encrypts the key instead of failing).
 */
export function decodePrivateKeyWithAny(pem: string, passphrases: readonly string[], describe: { file: string; passphraseEnv: string | null }): KeyObject {
  if (!isEncryptedKeyPem(pem) || passphrases.length <= 1) return decodePrivateKey(pem, passphrases[0] ?? null, describe);
  for (const passphrase of passphrases.slice(0, -1)) {
    try {
      return createPrivateKey({ key: pem, format: "pem", passphrase });
    } catch {
      // try the next candidate
    }
  }
  return decodePrivateKey(pem, passphrases[passphrases.length - 1]!, describe);
}

/** Reads a PKCS#8 PEM key. Errors say whether the passphrase or the file is the problem. */
export function decodePrivateKey(pem: string, passphrase: string | null, describe: { file: string; passphraseEnv: string | null }): KeyObject {
  const encrypted = isEncryptedKeyPem(pem);
  if (encrypted && passphrase === null) {
    throw new ProvisionError("passphrase-missing", `${describe.file} is encrypted and no passphrase is available`, {
      hint: describe.passphraseEnv
        ? `set the environment variable ${describe.passphraseEnv} to the key's passphrase`
        : "add passphraseEnv: <VARIABLE> to this identity in pki.yaml and set that variable",
    });
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, format: "pem", passphrase: passphrase ?? "" } : { key: pem, format: "pem" });
  } catch {
    if (encrypted) {
      throw new ProvisionError("passphrase-wrong", `cannot decrypt ${describe.file}: wrong passphrase in ${describe.passphraseEnv ?? "the environment"}`, {
        hint: `set ${describe.passphraseEnv ?? "the passphrase variable"} to the passphrase the key was written with`,
      });
    }
    throw new ProvisionError("key-unreadable", `${describe.file} is not a readable private key`);
  }
}
