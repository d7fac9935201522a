import type { Config, IdentitySpec } from "../config/types.js";
import { loadExternalCas } from "../store/external.js";
import { MAX_READ_BYTES, readUserFile } from "../store/guard.js";
import { identityPaths } from "../store/layout.js";
import { loadIssuer } from "./load-issuer.js";
import { signCsr, type CsrToSign } from "./sign-csr.js";

/**
 * What `provision sign` does: reads the request from `csrFile` (a regular file of bounded size), loads CA
 * `issuer` of pki.yaml (an external CA from its own files) and signs with signCsr. Returns the certificate,
 * the spec it was issued for and the file of the issuer's certificate, where the new one's chain starts.
 */
export function signRequestFile(
  declared: Config,
  request: Omit<CsrToSign, "pem"> & { issuer: string; csrFile: string },
  env: NodeJS.ProcessEnv,
): { pem: string; spec: IdentitySpec; issuerCertFile: string } {
  const { config, externals } = loadExternalCas(declared);
  const issuer = loadIssuer(config, request.issuer, env, externals);
  const { issuer: _name, csrFile, ...csr } = request;
  const { pem, spec } = signCsr(issuer, { ...csr, pem: readUserFile(csrFile, MAX_READ_BYTES, request.source) });
  const issuerCertFile = externals.get(issuer.spec.name)?.certFile ?? identityPaths(config.outputDir, "ca", issuer.spec.name).cert;
  return { pem, spec, issuerCertFile };
}
