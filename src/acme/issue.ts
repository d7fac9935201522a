import { randomBytes, X509Certificate } from "node:crypto";
import { identifierName, type AcmeSpec } from "../config/acme.js";
import { altNameKey, type AltName } from "../config/alt-names.js";
import { commonNameMeaning } from "../config/san.js";
import type { Config, IdentitySpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { issuerPath } from "../plan/compose.js";
import { loadIssuer } from "../sign/load-issuer.js";
import { signCsr, type CsrIssuer } from "../sign/sign-csr.js";
import { loadExternalCas } from "../store/external.js";
import { readOutputFile } from "../store/guard.js";
import { identityPaths } from "../store/layout.js";
import { readCertificationRequest } from "../x509/csr.js";
import { serialFrom } from "../x509/issue.js";
import { pemBlocks, toPem } from "../x509/pem.js";
import { AcmeProblem } from "./problem.js";

/** The CA the endpoint signs with: its key and spec, the CAs above it, and the chain sent after each leaf. */
export interface AcmeIssuer {
  csrIssuer: CsrIssuer;
  /** The signing CA's certificate, then the intermediates above it; the root is left out (clients have it). */
  chain: string[];
  /** The signing CA and every CA above it: their name constraints bound what is issued. */
  caPath: IdentitySpec[];
  /** The signing CA's own certificate (in `chain` too, unless it is a root). */
  caCertPem: string;
}

const isSelfSigned = (pem: string) => {
  const cert = new X509Certificate(pem);
  return cert.subject === cert.issuer && cert.verify(cert.publicKey);
};

/** Loads the signing CA named by `acme.ca` from the output folder (or its external files). */
export function loadAcmeIssuer(declared: Config, acme: AcmeSpec, env: NodeJS.ProcessEnv): AcmeIssuer {
  const { config, externals } = loadExternalCas(declared);
  const csrIssuer = loadIssuer(config, acme.ca, env, externals);
  const chain: string[] = [];
  for (const ca of [csrIssuer.spec, ...csrIssuer.above]) {
    const external = externals.get(ca.name);
    if (external) {
      chain.push(external.certPem, ...external.upstream);
      break;
    }
    const pem = readOutputFile(identityPaths(config.outputDir, "ca", ca.name).cert);
    if (pem === null) throw new ProvisionError("not-provisioned", `CA ${ca.name} has no certificate yet`, { hint: "run provision first" });
    chain.push(pem);
  }
  return { csrIssuer, caCertPem: chain[0]!, chain: chain.filter((pem) => !isSelfSigned(pem)).map((pem) => (pem.endsWith("\n") ? pem : `${pem}\n`)), caPath: [csrIssuer.spec, ...issuerPath(config, csrIssuer.spec)] };
}

/** The names a CSR asks for: its SAN, plus its commonName when that reads as a host name or IP. */
function requestedNames(altNames: AltName[], commonName: string | undefined): AltName[] {
  const names = [...altNames];
  if (commonName !== undefined) {
    const cn = commonNameMeaning(commonName);
    if (cn.kind !== "name" || cn.name.type === "email") throw new AcmeProblem("badCSR", `the CSR's commonName "${commonName}" is not one of the order's names`);
    names.push(cn.name);
  }
  return names;
}

/**
 * Checks a finalize CSR (RFC 8555 §7.4) and signs it: a valid self-signature, an accepted key type, and
 * exactly the order's names (SAN, and the commonName if any, must be among them). The certificate holds
 * only the commonName of the subject; the name constraints of every CA on the path are checked once more
 * by signCsr. Returns the PEM chain (leaf first) and the leaf's serial and end.
 */
export function issueForOrder(args: {
  csrDer: Buffer;
  identifiers: { type: string; value: string }[];
  issuer: AcmeIssuer;
  acme: Pick<AcmeSpec, "keyTypes" | "validitySeconds">;
  now: Date;
}): { chainPem: string; serial: string; notAfter: string } {
  const pem = toPem("CERTIFICATE REQUEST", args.csrDer);
  let request;
  try {
    request = readCertificationRequest(pem, "the CSR");
  } catch (error) {
    throw new AcmeProblem("badCSR", error instanceof ProvisionError ? error.message : "the CSR does not parse");
  }
  if (!args.acme.keyTypes.includes(request.keyType)) throw new AcmeProblem("badCSR", `the CSR's key is ${request.keyType}; this endpoint accepts ${args.acme.keyTypes.join(", ")}`);
  const ordered = new Set(args.identifiers.map((i) => { const n = identifierName(i); return typeof n === "string" ? i.value : altNameKey(n); }));
  const asked = new Set(requestedNames(request.altNames, request.subject.commonName).map(altNameKey));
  const missing = [...ordered].filter((n) => !asked.has(n));
  const extra = [...asked].filter((n) => !ordered.has(n));
  if (missing.length || extra.length) {
    throw new AcmeProblem("badCSR", `the CSR's names differ from the order's${missing.length ? `; missing: ${missing.join(", ")}` : ""}${extra.length ? `; not ordered: ${extra.join(", ")}` : ""}`);
  }
  // A certificate never outlives its CA: near the CA's end, what is issued ends with it.
  const caEnd = Date.parse(args.issuer.csrIssuer.notAfter);
  const validitySeconds = Math.min(args.acme.validitySeconds, Math.floor((caEnd - args.now.getTime()) / 1000));
  if (validitySeconds <= 0) throw new AcmeProblem("serverInternal", `CA ${args.issuer.csrIssuer.spec.name} has expired; run provision to renew it`);
  let signed;
  try {
    signed = signCsr(args.issuer.csrIssuer, { pem, source: "the CSR", profile: "server", validitySeconds, now: args.now, serial: serialFrom(randomBytes(16)), subject: { commonName: subjectNameFor(request.subject.commonName, args.identifiers) } });
  } catch (error) {
    if (error instanceof ProvisionError && error.code === "outside-constraints") throw new AcmeProblem("rejectedIdentifier", error.message);
    if (error instanceof ProvisionError) throw new AcmeProblem("badCSR", error.message);
    throw error;
  }
  const leaf = new X509Certificate(signed.pem);
  return {
    chainPem: [signed.pem, ...args.issuer.chain].join(""),
    serial: leaf.serialNumber.toLowerCase(),
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}

/**
 * The commonName of an ACME certificate: the request's when it is a DNS name, else the first DNS identifier.
 * An IP is never put there: OpenSSL checks a host-like commonName of a leaf without DNS alt names against the
 * DNS name constraints (NAME_CONSTRAINTS_check_CN), so CN=127.0.0.1 under a root permitting .test and
 * 127.0.0.0/8 fails to verify. A certificate for IPs only gets a display name, which verifiers ignore.
 */
export function subjectNameFor(requested: string | undefined, identifiers: readonly { type: string; value: string }[]): string {
  if (requested !== undefined) {
    const cn = commonNameMeaning(requested);
    if (cn.kind === "name" && cn.name.type === "dns") return cn.name.value;
  }
  return identifiers.find((i) => i.type === "dns")?.value ?? "ACME certificate for IP addresses";
}

/** The leaf of a stored chain. */
export function leafOf(chainPem: string): string | undefined {
  return pemBlocks(chainPem).find((b) => b.label === "CERTIFICATE")?.pem;
}
