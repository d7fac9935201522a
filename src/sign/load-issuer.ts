import type { Config } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { readOutputFile } from "../store/guard.js";
import { issuerPath } from "../plan/compose.js";
import { identityPaths, statePath } from "../store/layout.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { parseState } from "../store/state-parse.js";
import { inspectCertificateFile } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, spkiOf } from "../x509/keys.js";
import type { ExternalCas } from "../store/external.js";
import type { CsrIssuer } from "./sign-csr.js";
import { identitiesByName } from "../config/issuers.js";

// Files of the output tree: never through a symlink, only regular files (store/guard.ts).
const readIfPresent = (file: string): string | null => readOutputFile(file);

/** Reads a CA of pki.yaml from the output folder for signing: its certificate, and its key (decrypted, checked to match). */
export function loadIssuer(config: Config, name: string, env: NodeJS.ProcessEnv, externals: ExternalCas = new Map()): CsrIssuer {
  const spec = identitiesByName(config).get(name);
  if (spec?.kind !== "ca") throw new ProvisionError("unknown-issuer", `no CA named "${name}" in ${config.file}`);
  const external = externals.get(name);
  if (external && external.keyPem === null) {
    throw new ProvisionError("unknown-issuer", `CA ${name} is external without a key in ${config.file}: it cannot sign here`, { hint: `send the request to whoever holds ${name}'s key` });
  }
  // An external CA's files are wherever pki.yaml says (store/external.ts read them); the others' are in the output folder.
  const paths = external ? { cert: external.certFile, key: external.keyFile! } : identityPaths(config.outputDir, "ca", name);
  const certPem = external ? external.certPem : readIfPresent(paths.cert);
  const keyPem = external ? external.keyPem : readIfPresent(paths.key);
  if (certPem === null || keyPem === null) throw new ProvisionError("not-provisioned", `CA ${name} has no certificate or key yet`, { hint: "run provision first" });
  const { facts, x509 } = inspectCertificateFile(certPem, paths.cert);
  const found = external ? undefined : parseState(readIfPresent(statePath(config.outputDir))).state.identities.get(name);
  const record = found?.kind === "ca" ? found : undefined;
  const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(spec, record, env), { file: paths.key, passphraseEnv: spec.passphraseEnv });
  if (!spkiOf(key).equals(x509.publicKey.export({ type: "spki", format: "der" }))) {
    throw new ProvisionError(external ? "external-ca" : "ca-key-mismatch", `the key of CA ${name} does not match its certificate`, {
      hint: external ? `point external.key at the private key of ${external.certFile}` : "run provision to see what is wrong, and restore the matching key.pem",
    });
  }
  return { spec, above: issuerPath(config, spec), notAfter: facts.notAfter, key, ...(external ? { external } : {}) };
}
