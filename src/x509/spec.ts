import type { AltName } from "../config/alt-names.js";
import type { AltNameConstraint, KeyType, SubjectSpec } from "../config/types.js";

export { CLOCK_SKEW_SECONDS } from "../config/duration.js";

/** KeyUsage bits by RFC 5280 name. */
export type KeyUsageName = "digitalSignature" | "keyEncipherment" | "keyCertSign" | "cRLSign";
export type ExtKeyUsageName = "serverAuth" | "clientAuth";
export type SignatureAlgorithm = "sha256WithRSAEncryption" | "ecdsaWithSHA256" | "ecdsaWithSHA384";

/**
 * CertTemplate is a certificate as plain data: everything that goes into the TBSCertificate.
 * x509/forge.ts is the only place that turns it into ASN.1.
 */
export interface CertTemplate {
  serial: Buffer;
  subject: SubjectSpec;
  issuer: SubjectSpec;
  /**
   * The issuer's Name exactly as its own certificate encodes it, when that certificate was not made by
   * provision (an external CA): verifiers chain by comparing names, and a re-encoding could differ in
   * attribute order, string types or attributes provision does not model.
   */
  issuerNameDer?: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER as node:crypto exports it. */
  publicKeySpki: Buffer;
  signatureAlgorithm: SignatureAlgorithm;
  isCa: boolean;
  pathLength: number | null;
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
  altNames: AltName[];
  nameConstraints: { permitted: AltNameConstraint[]; excluded: AltNameConstraint[] } | null;
  subjectKeyId: Buffer;
  /** The issuer's subjectKeyId; null for a self-signed root (RFC 5280 allows omitting it there). */
  authorityKeyId: Buffer | null;
}

/** Signatures follow the issuer's key: SHA-384 for P-384 issuers, SHA-256 otherwise. */
export function signatureAlgorithmFor(issuerKey: KeyType): SignatureAlgorithm {
  if (issuerKey === "ecdsa-p384") return "ecdsaWithSHA384";
  if (issuerKey === "ecdsa-p256") return "ecdsaWithSHA256";
  return "sha256WithRSAEncryption";
}

export function hashFor(algorithm: SignatureAlgorithm): "sha256" | "sha384" {
  return algorithm === "ecdsaWithSHA384" ? "sha384" : "sha256";
}

/** The key usages of each profile; keyEncipherment only where RSA key transport can happen. */
export function profileFor(kind: "ca" | "server" | "client", key: KeyType): { keyUsage: KeyUsageName[]; extKeyUsage: ExtKeyUsageName[] } {
  if (kind === "ca") return { keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"], extKeyUsage: [] };
  const keyUsage: KeyUsageName[] = key.startsWith("rsa") ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"];
  return { keyUsage, extKeyUsage: [kind === "server" ? "serverAuth" : "clientAuth"] };
}
