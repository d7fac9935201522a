import { sanFor } from "../config/san.js";
import type { Config, KeyType } from "../config/types.js";
import type { Deps } from "../deps.js";
import { ProvisionError } from "../errors.js";
import { writeFilesAtomically } from "../store/atomic-write.js";
import { prepareFolder, readOutputFile } from "../store/guard.js";
import { identityPaths, MODES } from "../store/layout.js";
import { passphraseCandidates, passphraseOf } from "../store/passphrase.js";
import { createCertificationRequest } from "../x509/csr.js";
import { decodePrivateKeyWithAny, encodePrivateKey } from "../x509/keys.js";
import { identitiesByName } from "../config/issuers.js";

/**
 * requestCertificate makes a CSR for an identity of pki.yaml, signed with its local key. When the key does not
 * exist yet it is generated and kept (0600) first: the private key never leaves this machine.
 * Returns the CSR and the key it generated (null when it used the existing one).
 */
export async function requestCertificate(config: Config, name: string, deps: Pick<Deps, "env" | "generateKey">): Promise<{ pem: string; generatedKey: { file: string; keyType: KeyType } | null }> {
  const id = identitiesByName(config).get(name);
  if (!id) throw new ProvisionError("unknown-identity", `no identity named "${name}" in ${config.file}`);
  const paths = identityPaths(config.outputDir, id.kind, id.name);
  const keyPem = readOutputFile(paths.key);
  if (keyPem !== null) {
    const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(id, undefined, deps.env), { file: paths.key, passphraseEnv: id.passphraseEnv });
    return { pem: createCertificationRequest(id.subject, sanFor(id), key, id.key), generatedKey: null };
  }
  const passphrase = passphraseOf(id, deps.env);
  if (id.passphraseEnv !== null && passphrase === null) {
    throw new ProvisionError("passphrase-missing", `${id.passphraseEnv} is not set: it holds the passphrase for the key of ${id.name}`);
  }
  const key = (await deps.generateKey(id.key)).privateKey;
  prepareFolder(config.outputDir, paths.dir, MODES.keyDir);
  await writeFilesAtomically([{ path: paths.key, content: encodePrivateKey(key, passphrase), mode: MODES.key }]);
  return { pem: createCertificationRequest(id.subject, sanFor(id), key, id.key), generatedKey: { file: paths.key, keyType: id.key } };
}
