import type { Config } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { readOutputFile } from "../store/guard.js";
import { issuerPath } from "../plan/compose.js";
import { identityPaths, statePath } from "../store/layout.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { parseState } from "../store/state-file.js";
import { inspectCertificateFile } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, spkiOf } from "../x509/keys.js";
import type { CsrIssuer } from "./sign-csr.js";
import { identitiesByName } from "../config/issuers.js";

// Files of the output tree: never through a symlink, only regular files (store/guard.ts).
const readIfPresent = (file: string): string | null => readOutputFile(file);

/** Reads a CA of pki.yaml from the output folder for signing: its certificate, and its key (decrypted, checked to match). */
export function loadIssuer(config: Config, name: string, env: NodeJS.ProcessEnv): CsrIssuer {
  const spec = identitiesByName(config).get(name);
  if (spec?.kind !== "ca") throw new ProvisionError("unknown-issuer", `no CA named "${name}" in ${config.file}`);
  const paths = identityPaths(config.outputDir, "ca", name);
  const certPem = readIfPresent(paths.cert);
  const keyPem = readIfPresent(paths.key);
  if (certPem === null || keyPem === null) throw new ProvisionError("not-provisioned", `CA ${name} has no certificate or key yet`, { hint: "run provision first" });
  const { facts, x509 } = inspectCertificateFile(certPem, paths.cert);
  const found = parseState(readIfPresent(statePath(config.outputDir))).state.identities.get(name);
  const record = found?.kind === "ca" ? found : undefined;
  const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(spec, record, env), { file: paths.key, passphraseEnv: spec.passphraseEnv });
  if (!spkiOf(key).equals(x509.publicKey.export({ type: "spki", format: "der" }))) {
    throw new ProvisionError("ca-key-mismatch", `the key of CA ${name} does not match its certificate`, { hint: "run provision to see what is wrong, and restore the matching key.pem" });
  }
  return { spec, above: issuerPath(config, spec), notAfter: facts.notAfter, key };
}
