import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { KeyType } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { isEncryptedKeyPem } from "./pem.js";

export { isEncryptedKeyPem } from "./pem.js";

const generate = promisify(generateKeyPair);

/** A private key and what is derived from it. */
export interface KeyMaterial {
  type: KeyType;
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
}

/** Generates a key on libuv's thread pool, so several generate in parallel. */
export async function generateKey(type: KeyType): Promise<KeyMaterial> {
  const { privateKey } =
    type === "ecdsa-p256" || type === "ecdsa-p384"
      ? await generate("ec", { namedCurve: type === "ecdsa-p256" ? "P-256" : "P-384" })
      : await generate("rsa", { modulusLength: Number(type.slice(4)), publicExponent: 0x10001 });
  return { type, privateKey, spki: spkiOf(privateKey) };
}

const spkiCache = new WeakMap<KeyObject, Buffer>();

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

/** PKCS#8 PEM; encrypted with AES-256-CBC under PBKDF2 (PBES2) when a passphrase is given. */
export function encodePrivateKey(key: KeyObject, passphrase: string | null): string {
  return passphrase === null
    ? (key.export({ type: "pkcs8", format: "pem" }) as string)
    : (key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string);
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
