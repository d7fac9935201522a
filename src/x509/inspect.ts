import { createHash, X509Certificate } from "node:crypto";
import type { KeyType } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { decodeCertificate } from "./forge.js";
import { keyTypeOf } from "./keys.js";
import type { CertificateFacts, CertTemplate, KeyUsageName } from "./spec.js";

/** inspectCertificate for a file provision wrote: a damaged one is a ProvisionError naming the file. */
export function inspectCertificateFile(pem: string, file: string): ReturnType<typeof inspectCertificate> {
  try {
    return inspectCertificate(pem);
  } catch {
    throw new ProvisionError("unreadable", `${file} is not a readable certificate`, { hint: "run provision to repair it" });
  }
}

/**
 * Parses a certificate PEM into its CertificateFacts (and the key usages, which state.json does not cache);
 * throws with a short reason when it is not one.
 */
export function inspectCertificate(pem: string): { facts: CertificateFacts; x509: X509Certificate; keyUsage: KeyUsageName[] } {
  const x509 = new X509Certificate(pem);
  const { keyUsage, ...decoded } = decodeCertificate(x509.raw);
  const facts: CertificateFacts = {
    serial: x509.serialNumber.toLowerCase(),
    fingerprint: x509.fingerprint256.replaceAll(":", "").toLowerCase(),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
    subject: decoded.subject,
    issuer: decoded.issuer,
    altNames: decoded.altNames,
    keyType: keyTypeOf(x509.publicKey) ?? null,
    isCa: decoded.isCa,
    pathLength: decoded.pathLength,
    nameConstraints: decoded.nameConstraints,
    subjectKeyId: decoded.subjectKeyId,
    authorityKeyId: decoded.authorityKeyId,
    extKeyUsage: decoded.extKeyUsage,
    crlUrls: decoded.crlUrls,
  };
  return { facts, x509, keyUsage };
}

/**
 * The facts of a certificate provision just built, taken from its template instead of parsing it back.
 * test/x509/x509.test.ts checks that this equals inspectCertificate() of the same certificate.
 */
export function factsFromTemplate(template: CertTemplate, der: Buffer, keyType: KeyType): CertificateFacts {
  return {
    serial: template.serial,
    fingerprint: createHash("sha256").update(der).digest("hex"),
    notBefore: template.notBefore,
    notAfter: template.notAfter,
    subject: { ...template.subject },
    issuer: { ...template.issuer },
    altNames: template.altNames.map((n) => ({ ...n })),
    keyType,
    isCa: template.isCa,
    pathLength: template.pathLength,
    nameConstraints: template.nameConstraints,
    subjectKeyId: template.subjectKeyId,
    authorityKeyId: template.authorityKeyId,
    extKeyUsage: [...template.extKeyUsage],
    crlUrls: [...(template.crlUrls ?? [])],
  };
}
