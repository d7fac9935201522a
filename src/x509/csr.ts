import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { AltName } from "../config/alt-names.js";
import type { KeyType, SubjectSpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { encodeCertificationRequest } from "./encode.js";
import { decodeCertificationRequest } from "./forge.js";
import { keyTypeOf, spkiOf } from "./keys.js";
import { pemToDer, toPem } from "./pem.js";
import { hashFor, signatureAlgorithmFor } from "./spec.js";

/** A PKCS#10 request for `subject` and `altNames`, signed with the requester's own key. */
export function createCertificationRequest(subject: SubjectSpec, altNames: AltName[], key: KeyObject, keyType: KeyType): string {
  const signatureAlgorithm = signatureAlgorithmFor(keyType);
  const { tbsDer, withSignature } = encodeCertificationRequest({ subject, spki: spkiOf(key), altNames, signatureAlgorithm });
  return toPem("CERTIFICATE REQUEST", withSignature(sign(hashFor(signatureAlgorithm), tbsDer, key)));
}

export interface VerifiedRequest {
  subject: Partial<SubjectSpec>;
  altNames: AltName[];
  spki: Buffer;
  keyType: KeyType;
}

/** Parses a CSR and checks its self-signature (proof that the requester holds the key). */
export function readCertificationRequest(pem: string, file: string): VerifiedRequest {
  const der = pemToDer(pem, "CERTIFICATE REQUEST") ?? pemToDer(pem, "NEW CERTIFICATE REQUEST");
  if (!der) throw new ProvisionError("bad-csr", `${file} holds no PEM certificate request`, { hint: "expected -----BEGIN CERTIFICATE REQUEST-----" });
  let request;
  try {
    request = decodeCertificationRequest(der);
  } catch {
    throw new ProvisionError("bad-csr", `${file} is not a readable certificate request (truncated or corrupted?)`);
  }
  const publicKey = createPublicKey({ key: request.spki, format: "der", type: "spki" });
  const keyType = keyTypeOf(publicKey);
  if (!keyType) throw new ProvisionError("bad-csr", `${file}: the key in the request is not one provision issues for (ecdsa-p256/p384, rsa-2048/3072/4096)`);
  if (!["sha256", "sha384", "sha512"].includes(request.signatureAlgorithm) || !verify(request.signatureAlgorithm, request.infoDer, publicKey, request.signature)) {
    throw new ProvisionError("bad-csr", `${file}: the request's signature does not verify`, { hint: "the request was altered, or not signed by the key it carries" });
  }
  return { subject: request.subject, altNames: request.altNames, spki: request.spki, keyType };
}
