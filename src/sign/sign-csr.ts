import type { KeyObject } from "node:crypto";
import { classifyAltName, svidConflict, type AltName } from "../config/alt-names.js";
import { formatDuration, parseRenewBefore } from "../config/duration.js";
import { constraintViolation } from "../config/name-constraints.js";
import { commonNameMeaning, constrainedNamesFor, sanFor } from "../config/san.js";
import type { IdentitySpec, NameConstraintsSpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { readCertificationRequest, type VerifiedRequest } from "../x509/csr.js";
import { signCertificate, subjectKeyIdOf, templateFor } from "../x509/issue.js";
import { spkiOf } from "../x509/keys.js";
import { CLOCK_SKEW_SECONDS } from "../x509/spec.js";

/** The CA that signs a request: its spec, the CAs above it (their name constraints apply too), its certificate's end and its key. */
export interface CsrIssuer {
  spec: IdentitySpec;
  above: IdentitySpec[];
  notAfter: string;
  key: KeyObject;
  /** The issuer's certificate when it is an external CA: the new certificate copies its name and key id. */
  external?: { certPem: string; facts: { subjectKeyId: string | null }; limits?: { certFile: string; upstream: { subject: string; nameConstraints: NameConstraintsSpec | null; file: string }[] } };
}

export interface CsrToSign {
  pem: string;
  /** How the request is named in messages (its file). */
  source: string;
  profile: "server" | "client";
  validitySeconds: number;
  now: Date;
  /** 16 random bytes (x509/issue.ts serialFrom). */
  serial: Buffer;
  /** The subject to certify instead of the request's (ACME: the CA vouches for names, not for organisations). */
  subject?: { commonName: string };
}

/**
 * The spec of a certificate for someone else's request, built field by field: nothing is inherited from the
 * issuer (formats, passphrases, rotation and launch settings belong to identities of pki.yaml, not to this).
 */
export function specForRequest(request: VerifiedRequest, source: string, issuer: IdentitySpec, profile: "server" | "client", validitySeconds: number): IdentitySpec {
  const altNames: AltName[] = request.altNames.map((requested) => {
    const checked = classifyAltName(requested.value);
    if (!checked.ok || checked.name.type !== requested.type) {
      throw new ProvisionError("bad-csr", `${source}: requested name "${requested.value}" is not valid (${checked.ok ? "wrong type" : checked.message})`);
    }
    return checked.name;
  });
  const conflict = svidConflict(altNames);
  if (conflict) throw new ProvisionError("bad-csr", `${source}: ${conflict}`);
  const commonName = request.subject.commonName ?? altNames[0]?.value;
  if (!commonName) throw new ProvisionError("bad-csr", `${source} names no subject and no alt names`);
  return {
    name: commonName,
    kind: profile,
    issuer: issuer.name,
    subject: { ...request.subject, commonName },
    altNames,
    key: request.keyType,
    validitySeconds,
    renewBefore: parseRenewBefore("1/3")!,
    pathLength: null,
    nameConstraints: null,
    rotateKey: "always",
    passphraseEnv: null,
    formats: [],
    p12PassphraseEnv: null,
    serve: null,
    afterChange: null,
    external: null,
    revoked: null,
    revokeSuperseded: false,
    crl: null,
    yamlPath: [],
  };
}

/**
 * signCsr issues a certificate for a verified request: the subject and alt names it asks for, the server or
 * client profile, checked against the name constraints of every CA on the issuer's path and the issuer's
 * lifetime. Pure apart from the signature: the caller supplies the clock and the serial.
 */
export function signCsr(issuer: CsrIssuer, csr: CsrToSign): { pem: string; spec: IdentitySpec } {
  const request = readCertificationRequest(csr.pem, csr.source);
  const requested = specForRequest(request, csr.source, issuer.spec, csr.profile, csr.validitySeconds);
  const spec = csr.subject ? { ...requested, subject: { ...csr.subject } } : requested;
  const cn = commonNameMeaning(spec.subject.commonName);
  if (csr.profile === "server" && cn.kind === "invalid") {
    throw new ProvisionError("bad-csr", `${csr.source}: commonName "${spec.subject.commonName}" looks like a host name but is not a valid one: ${cn.message}`);
  }
  if (csr.profile === "server" && sanFor(spec).length === 0) throw new ProvisionError("bad-csr", `${csr.source}: a server certificate needs at least one alt name`);
  // Every CA on the path: pki.yaml's, and for an external issuer the certificates above it (external.chain).
  const constraintSets = [
    ...[issuer.spec, ...issuer.above].map((ca) => ({ owner: ca === issuer.spec && issuer.external?.limits ? `external CA ${ca.name} (its certificate ${issuer.external.limits.certFile})` : `CA ${ca.name}`, constraints: ca.nameConstraints })),
    ...(issuer.external?.limits?.upstream ?? []).map((u) => ({ owner: `${u.subject} (in ${u.file}), above external CA ${issuer.spec.name}`, constraints: u.nameConstraints })),
  ];
  for (const { owner, constraints } of constraintSets) {
    for (const { name, fromCommonName } of constrainedNamesFor(spec)) {
      const why = constraints && constraintViolation(name, constraints);
      const what = fromCommonName ? `the commonName "${spec.subject.commonName}" (verifiers hold a commonName that reads as a host, IP or email to the constraints too)` : `"${name.value}"`;
      if (why) throw new ProvisionError("outside-constraints", `${csr.source}: ${what} is outside the name constraints of ${owner}: ${why}`, { hint: "nothing was issued" });
    }
  }
  const notAfter = new Date(csr.now.getTime() + csr.validitySeconds * 1000);
  if (notAfter.getTime() > Date.parse(issuer.notAfter)) {
    throw new ProvisionError("outlives-issuer", `a ${formatDuration(csr.validitySeconds)} certificate would outlive CA ${issuer.spec.name} (expires ${issuer.notAfter})`, {
      hint: "use a shorter --validity, or renew the CA first",
    });
  }
  const template = templateFor({
    identity: spec,
    spki: request.spki,
    serial: csr.serial,
    notBefore: new Date(csr.now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter,
    issuer: { subject: issuer.spec.subject, keyType: issuer.spec.key, subjectKeyId: subjectKeyIdOf(spkiOf(issuer.key)), crlUrl: issuer.spec.crl?.url ?? null },
    externalIssuer: issuer.external,
  });
  return { pem: signCertificate(template, issuer.key).pem, spec };
}
