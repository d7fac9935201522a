import { X509Certificate } from "node:crypto";
import { classifyAltName } from "../config/alt-names.js";
import { acmePublicHost, type AcmeSpec } from "../config/acme.js";
import type { Config } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { signCsr } from "../sign/sign-csr.js";
import { writeFilesAtomically } from "../store/atomic-write.js";
import { prepareFolder, readOutputFile } from "../store/guard.js";
import { acmeTlsPaths, identityPaths, MODES } from "../store/layout.js";
import { passphraseOf } from "../store/passphrase.js";
import { createCertificationRequest } from "../x509/csr.js";
import { generateKey } from "../x509/keys.js";
import { serialFrom } from "../x509/issue.js";
import { randomBytes } from "node:crypto";
import { subjectNameFor, type AcmeIssuer } from "./issue.js";

/** What the HTTPS listener presents: a key and the certificate chain, and when to look again. */
export interface TlsCredentials {
  key: string;
  cert: string;
  passphrase?: string;
  /** When the managed certificate should be replaced (2/3 of its life); null for a server identity of pki.yaml. */
  renewAt: Date | null;
}

/**
 * The endpoint's own TLS identity. With `acme.server`, that server's files as provision keeps them (renewed by
 * provision apply/watch; re-read while running). Otherwise a certificate for the listen host kept in
 * <output>/acme/tls, issued by the ACME CA through the same signCsr path, with acme.validity, and replaced
 * once two thirds of its life have passed or when it no longer chains to the CA.
 */
export async function tlsCredentials(config: Config, acme: AcmeSpec, issuer: AcmeIssuer, env: NodeJS.ProcessEnv, now: Date): Promise<TlsCredentials> {
  if (acme.server) {
    const paths = identityPaths(config.outputDir, "server", acme.server);
    const key = readOutputFile(paths.key);
    const cert = readOutputFile(paths.fullchain);
    if (key === null || cert === null) throw new ProvisionError("not-provisioned", `server ${acme.server} (acme.server) has no certificate yet`, { hint: "run provision first" });
    const spec = config.identities.find((id) => id.name === acme.server)!;
    const passphrase = passphraseOf(spec, env);
    return { key, cert, ...(passphrase ? { passphrase } : {}), renewAt: null };
  }
  const paths = acmeTlsPaths(config.outputDir);
  const host = acmePublicHost(acme.listen.host);
  const existing = { key: readOutputFile(paths.key), cert: readOutputFile(paths.cert) };
  if (existing.key !== null && existing.cert !== null) {
    const renewAt = stillGood(existing.cert, host, issuer, now);
    if (renewAt) return { key: existing.key, cert: existing.cert, renewAt };
  }
  const name = classifyAltName(host);
  if (!name.ok) throw new ProvisionError("invalid-config", `acme.listen host "${host}" cannot be named in a certificate: ${name.message}`);
  const key = await generateKey("ecdsa-p256");
  const csr = createCertificationRequest({ commonName: subjectNameFor(undefined, [name.name]) }, [name.name], key.privateKey, "ecdsa-p256");
  const validitySeconds = Math.min(acme.validitySeconds, Math.floor((Date.parse(issuer.csrIssuer.notAfter) - now.getTime()) / 1000));
  const signed = signCsr(issuer.csrIssuer, { pem: csr, source: "the ACME endpoint's own request", profile: "server", validitySeconds, now, serial: serialFrom(randomBytes(16)) });
  const chain = [signed.pem, ...issuer.chain].join("");
  const keyPem = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  prepareFolder(config.outputDir, paths.dir, MODES.keyDir);
  // Key first: a crash between the two renames leaves a new key beside the old certificate, which the next
  // start finds mismatched (the TLS context refuses it) and replaces both.
  await writeFilesAtomically([{ path: paths.key, content: keyPem, mode: MODES.key }, { path: paths.cert, content: chain, mode: MODES.cert }]);
  return { key: keyPem, cert: chain, renewAt: stillGood(chain, host, issuer, now)! };
}

/** When a managed certificate is due for replacement, or null when it is already due, names another host or another CA. */
function stillGood(certPem: string, host: string, issuer: AcmeIssuer, now: Date): Date | null {
  try {
    const cert = new X509Certificate(certPem);
    const caCert = new X509Certificate(issuer.caCertPem);
    if (!cert.verify(caCert.publicKey)) return null;
    if (!(cert.checkIP(host) ?? cert.checkHost(host))) return null;
    const start = Date.parse(cert.validFrom);
    const end = Date.parse(cert.validTo);
    const renewAt = new Date(start + ((end - start) * 2) / 3);
    return renewAt.getTime() > now.getTime() ? renewAt : null;
  } catch {
    return null;
  }
}
