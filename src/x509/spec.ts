import type { AltName } from "../config/alt-names.js";
import type { KeyType, NameConstraintsSpec, RevocationReason, SubjectSpec } from "../config/types.js";

export { CLOCK_SKEW_SECONDS } from "../config/duration.js";

/** KeyUsage bits by RFC 5280 name. */
export type KeyUsageName = "digitalSignature" | "keyEncipherment" | "keyCertSign" | "cRLSign";
export type ExtKeyUsageName = "serverAuth" | "clientAuth";
export type SignatureAlgorithm = "sha256WithRSAEncryption" | "ecdsaWithSHA256" | "ecdsaWithSHA384";

/**
 * CertificateFacts is one certificate as plain, JSON-serialisable data: what provision writes into it, reads
 * back from it, caches in state.json and compares with pki.yaml. Alt names and name constraints are typed
 * (`{type, value}`), as RFC 5280's GeneralName distinguishes them. Issuing builds one (factsFromTemplate),
 * decoding reads one (inspectCertificate), the planner compares one (plan/diff.ts), `inspect` prints one.
 */
export interface CertificateFacts {
  /** Serial number, hex, lower case. */
  serial: string;
  /** SHA-256 of the DER, hex. */
  fingerprint: string;
  /** ISO-8601, whole seconds (certificates carry no fractions). */
  notBefore: string;
  notAfter: string;
  subject: Partial<SubjectSpec>;
  issuer: Partial<SubjectSpec>;
  /** In certificate order. */
  altNames: AltName[];
  keyType: KeyType | null;
  isCa: boolean;
  pathLength: number | null;
  /** null when the certificate has no NameConstraints extension (or an empty one). */
  nameConstraints: NameConstraintsSpec | null;
  /** Key identifiers, hex. */
  subjectKeyId: string | null;
  authorityKeyId: string | null;
  /** By name (serverAuth, clientAuth), other purposes by OID. */
  extKeyUsage: string[];
  /** CRL Distribution Point URIs (the issuer's crlUrl); absent in state.json records written before them (read as none). */
  crlUrls?: string[];
}

/**
 * CertTemplate is a certificate about to be built: its facts (minus the fingerprint and key type, which follow
 * from the DER and the key) plus what only building needs: the public key, the signature algorithm and the
 * key usages. x509/encode.ts is the only place that turns it into ASN.1.
 */
export interface CertTemplate extends Omit<CertificateFacts, "fingerprint" | "keyType" | "subject" | "issuer" | "subjectKeyId" | "extKeyUsage"> {
  subject: SubjectSpec;
  issuer: SubjectSpec;
  /**
   * The issuer's Name exactly as its own certificate encodes it, when that certificate was not made by
   * provision (an external CA): verifiers chain by comparing names, and a re-encoding could differ in
   * attribute order, string types or attributes provision does not model.
   */
  issuerNameDer?: Buffer;
  subjectKeyId: string;
  extKeyUsage: ExtKeyUsageName[];
  /** SubjectPublicKeyInfo DER as node:crypto exports it. */
  publicKeySpki: Buffer;
  signatureAlgorithm: SignatureAlgorithm;
  keyUsage: KeyUsageName[];
}

/** What forge reads out of a certificate's TBS beyond what node:crypto's X509Certificate offers. */
export type DecodedCertificate = Pick<
  CertificateFacts,
  "subject" | "issuer" | "altNames" | "isCa" | "pathLength" | "nameConstraints" | "subjectKeyId" | "authorityKeyId" | "extKeyUsage"
> & { keyUsage: KeyUsageName[]; crlUrls: string[] };

/** CrlTemplate is a v2 CRL as plain data; x509/encode.ts turns it into a TBSCertList. */
export interface CrlTemplate {
  /** The CA's subject Name exactly as its certificate encodes it: verifiers match CRLs to CAs by these bytes. */
  issuerNameDer: Buffer;
  signatureAlgorithm: SignatureAlgorithm;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The cRLNumber extension: one more than the CA's previous CRL. */
  number: number;
  /** The CA's subjectKeyId (the authorityKeyIdentifier extension). */
  authorityKeyId: Buffer;
  /** serial: hex; reason: an RFC 5280 name (RevocationReason, or another one read back from an older CRL). */
  entries: { serial: string; revokedAt: Date; reason: RevocationReason | string }[];
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
