import { sign, verify, type KeyObject } from "node:crypto";
import { encodeTbsCertList } from "./encode.js";
import { decodeCrl, type DecodedCrl } from "./forge.js";
import { pemBlocks, toPem } from "./pem.js";
import { hashFor, type CrlTemplate } from "./spec.js";

export type { DecodedCrl } from "./forge.js";

/** signCrl encodes the template (encode.ts) and signs it with node:crypto, as signCertificate does a certificate. */
export function signCrl(template: CrlTemplate, signingKey: KeyObject): { der: Buffer; pem: string } {
  const { tbsDer, withSignature } = encodeTbsCertList(template);
  const der = withSignature(sign(hashFor(template.signatureAlgorithm), tbsDer, signingKey));
  return { der, pem: toPem("X509 CRL", der) };
}

/** readCrl parses the first X509 CRL block of a PEM text; null when there is none or it does not parse. */
export function readCrl(pem: string): DecodedCrl | null {
  const block = pemBlocks(pem).find((b) => b.label === "X509 CRL");
  if (!block) return null;
  try {
    return decodeCrl(block.der);
  } catch {
    return null;
  }
}

/** Whether `crl` is signed by the key of `caPublicKey` (the CA's current certificate). */
export function crlSignedBy(crl: DecodedCrl, caPublicKey: KeyObject): boolean {
  if (!["sha256", "sha384", "sha512"].includes(crl.signatureHash)) return false;
  try {
    return verify(crl.signatureHash, crl.tbsDer, caPublicKey, crl.signature);
  } catch {
    return false;
  }
}

/** One revoked entry as a CRL lists it (serial: lowercase hex without leading zeros). */
export interface CrlEntry {
  serial: string;
  revokedAt: string;
  reason: string;
}

