import { createHash, X509Certificate } from "node:crypto";
import { altNameKey } from "../config/alt-names.js";
import { subtreeText } from "../config/name-constraints.js";
import type { KeyType, SubjectSpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { decodeCertificate } from "./forge.js";
import { keyTypeOf } from "./keys.js";
import type { CertTemplate } from "./spec.js";
import type { KeyType as Key } from "../config/types.js";

/**
 * CertFacts are what provision compares with the spec: read from a certificate once and cached in
 * state.json, so a run where nothing changed parses no certificate.
 */
export interface CertFacts {
  serial: string;
  /** SHA-256 of the DER, hex. */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  subject: Partial<SubjectSpec>;
  issuer: Partial<SubjectSpec>;
  /** Canonical `type:value` strings in certificate order. */
  altNames: string[];
  keyType: KeyType | null;
  isCa: boolean;
  pathLength: number | null;
  nameConstraints: { permitted: string[]; excluded: string[] } | null;
  subjectKeyId: string | null;
  authorityKeyId: string | null;
  extKeyUsage: string[];
}

/** inspectCertificate for a file provision wrote: a damaged one is a ProvisionError naming the file. */
export function inspectCertificateFile(pem: string, file: string): ReturnType<typeof inspectCertificate> {
  try {
    return inspectCertificate(pem);
  } catch {
    throw new ProvisionError("unreadable", `${file} is not a readable certificate`, { hint: "run provision to repair it" });
  }
}

/** Parses a certificate PEM; throws with a short reason when it is not one. */
export function inspectCertificate(pem: string): { facts: CertFacts; x509: X509Certificate; keyUsage: string[] } {
  const x509 = new X509Certificate(pem);
  const decoded = decodeCertificate(x509.raw);
  const facts: CertFacts = {
    serial: x509.serialNumber.toLowerCase(),
    fingerprint: x509.fingerprint256.replaceAll(":", "").toLowerCase(),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
    subject: decoded.subject,
    issuer: decoded.issuer,
    altNames: decoded.altNames.map(altNameKey),
    keyType: keyTypeOf(x509.publicKey) ?? null,
    isCa: decoded.isCa,
    pathLength: decoded.pathLength,
    nameConstraints: decoded.nameConstraints,
    subjectKeyId: decoded.subjectKeyId,
    authorityKeyId: decoded.authorityKeyId,
    extKeyUsage: decoded.extKeyUsage,
  };
  return { facts, x509, keyUsage: decoded.keyUsage };
}

/**
 * The facts of a certificate provision just built, taken from its template instead of parsing it back.
 * test/x509/x509.test.ts checks that this equals inspectCertificate() of the same certificate.
 */
export function factsFromTemplate(template: CertTemplate, der: Buffer, keyType: Key): CertFacts {
  const constraints = template.nameConstraints;
  return {
    serial: template.serial.toString("hex"),
    fingerprint: createHash("sha256").update(der).digest("hex"),
    notBefore: new Date(Math.floor(template.notBefore.getTime() / 1000) * 1000).toISOString(),
    notAfter: new Date(Math.floor(template.notAfter.getTime() / 1000) * 1000).toISOString(),
    subject: { ...template.subject },
    issuer: { ...template.issuer },
    altNames: template.altNames.map(altNameKey),
    keyType,
    isCa: template.isCa,
    pathLength: template.pathLength,
    nameConstraints: constraints && (constraints.permitted.length || constraints.excluded.length) ? { permitted: constraints.permitted.map(subtreeText), excluded: constraints.excluded.map(subtreeText) } : null,
    subjectKeyId: template.subjectKeyId.toString("hex"),
    authorityKeyId: template.authorityKeyId?.toString("hex") ?? null,
    extKeyUsage: [...template.extKeyUsage],
  };
}
