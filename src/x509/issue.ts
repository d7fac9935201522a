import { createHash, sign, type KeyObject } from "node:crypto";
import type { IdentitySpec, KeyType, SubjectSpec } from "../config/types.js";

import { sanFor } from "../config/san.js";
import { encodeTbsCertificate, subjectNameDer, subjectPublicKeyBits } from "./encode.js";
import { pemToDer, toPem } from "./pem.js";
import { hashFor, profileFor, signatureAlgorithmFor, type CertTemplate } from "./spec.js";

/** Who signs a certificate: its issuer's subject, key type and key id; the identity itself for a root. */
export interface SignerInfo {
  subject: SubjectSpec;
  keyType: KeyType;
  subjectKeyId: Buffer;
  privateKey: KeyObject;
}

/** subjectKeyIdentifier per RFC 5280 §4.2.1.2 method 1. */
export function subjectKeyIdOf(spki: Buffer): Buffer {
  return createHash("sha1").update(subjectPublicKeyBits(spki)).digest();
}

/** 16 random bytes, the top bits set to 01 so the INTEGER is positive and minimally encoded (126 bits of entropy). */
export function serialFrom(random: Buffer): Buffer {
  const serial = Buffer.from(random.subarray(0, 16));
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/** A time as a certificate holds it: ISO-8601, the fraction of a second dropped. */
function wholeSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}

/** The template an identity's certificate is built from; a root passes `issuer: null` and signs itself. */
export function templateFor(args: {
  identity: IdentitySpec;
  spki: Buffer;
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  issuer: (Omit<SignerInfo, "privateKey"> & { crlUrl?: string | null }) | null;
  /**
   * The issuer's certificate when provision did not make it (an external CA): its subject Name is copied byte
   * for byte and its own subjectKeyIdentifier becomes the authorityKeyIdentifier, whatever method made it.
   */
  externalIssuer?: { certPem: string; facts: { subjectKeyId: string | null } } | undefined;
}): CertTemplate {
  const { identity, spki, externalIssuer } = args;
  const constraints = identity.nameConstraints;
  const subjectKeyId = subjectKeyIdOf(spki);
  const profile = profileFor(identity.kind, identity.key);
  const given = args.issuer ?? { subject: identity.subject, keyType: identity.key, subjectKeyId };
  const issuer = externalIssuer?.facts.subjectKeyId ? { ...given, subjectKeyId: Buffer.from(externalIssuer.facts.subjectKeyId, "hex") } : given;
  return {
    ...(externalIssuer ? { issuerNameDer: subjectNameDer(pemToDer(externalIssuer.certPem, "CERTIFICATE")!) } : {}),
    serial: args.serial.toString("hex"),
    subject: identity.subject,
    issuer: issuer.subject,
    notBefore: wholeSeconds(args.notBefore),
    notAfter: wholeSeconds(args.notAfter),
    publicKeySpki: spki,
    signatureAlgorithm: signatureAlgorithmFor(issuer.keyType),
    isCa: identity.kind === "ca",
    pathLength: identity.kind === "ca" ? identity.pathLength : null,
    keyUsage: profile.keyUsage,
    extKeyUsage: profile.extKeyUsage,
    altNames: sanFor(identity),
    // An empty NameConstraints extension is not written (RFC 5280 §4.2.1.10 asks for at least one subtree).
    nameConstraints: constraints && (constraints.permitted.length || constraints.excluded.length) ? constraints : null,
    subjectKeyId: subjectKeyId.toString("hex"),
    authorityKeyId: args.issuer ? issuer.subjectKeyId.toString("hex") : null,
    crlUrls: args.issuer?.crlUrl ? [args.issuer.crlUrl] : [],
  };
}

/** Encodes the template (encode.ts) and signs it with node:crypto; returns the certificate as DER and PEM. */
export function signCertificate(template: CertTemplate, signingKey: KeyObject): { der: Buffer; pem: string } {
  const { tbsDer, withSignature } = encodeTbsCertificate(template);
  const der = withSignature(sign(hashFor(template.signatureAlgorithm), tbsDer, signingKey));
  return { der, pem: toPem("CERTIFICATE", der) };
}
