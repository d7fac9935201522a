import { lstatSync } from "node:fs";
import path from "node:path";
import type { KeyObject } from "node:crypto";
import { signsElsewhere } from "../config/external.js";
import type { Locate } from "../config/locate.js";
import { sanFor } from "../config/san.js";
import type { Config, IdentitySpec, KeyType } from "../config/types.js";
import type { Deps } from "../deps.js";
import { ProvisionError } from "../errors.js";
import { writeFilesAtomically } from "../store/atomic-write.js";
import { prepareFolder, readOutputFile } from "../store/guard.js";
import { identityPaths, lockPath, MODES } from "../store/layout.js";
import { acquireLock } from "../store/lock.js";
import { passphraseCandidates, passphraseOf } from "../store/passphrase.js";
import { readPendingKey } from "../store/pending-key.js";
import { createCertificationRequest } from "../x509/csr.js";
import { decodePrivateKeyWithAny, encodePrivateKey } from "../x509/keys.js";
import { identitiesByName } from "../config/issuers.js";

/** The key a request was signed with: where it is, whether this call made it, and whether it is a pending renewal key. */
export interface RequestKey {
  file: string;
  keyType: KeyType;
  made: boolean;
  /** next-key.pem: it replaces key.pem only when provision import takes in a certificate for it. */
  pending: boolean;
}

/**
 * requestCertificate makes a CSR for an identity of pki.yaml, signed with a key that never leaves this machine:
 *
 * - a first request (no key.pem, or key.pem without cert.pem): key.pem, generated (0600) if missing;
 * - a renewal under a keyless external CA with rotateKey: always (the default): a fresh key in next-key.pem,
 *   beside the key.pem and cert.pem still in use, which stay until provision import swaps both in. A second
 *   request before that reuses next-key.pem (re-sending the request works), unless `newKey` asks for another;
 * - otherwise (rotateKey: never, or a CA of this machine issues it): key.pem as it is.
 */
export async function requestCertificate(
  config: Config,
  name: string,
  deps: Pick<Deps, "env" | "generateKey">,
  options: { newKey?: boolean; locate?: Locate } = {},
): Promise<{ pem: string; key: RequestKey }> {
  const id = identitiesByName(config).get(name);
  if (!id) throw new ProvisionError("unknown-identity", `no identity named "${name}" in ${config.file}`);
  const issuer = id.issuer === null ? undefined : identitiesByName(config).get(id.issuer);
  const paths = identityPaths(config.outputDir, id.kind, id.name);
  const shown = path.relative(config.baseDir, paths.nextKey) || paths.nextKey;
  const request = (key: KeyObject) => createCertificationRequest(id.subject, sanFor(id), key, id.key);
  const keyPem = readOutputFile(paths.key);
  const renewing = keyPem !== null && lstatSync(paths.cert, { throwIfNoEntry: false }) !== undefined;
  const rotates = signsElsewhere(issuer) && id.rotateKey === "always";

  if (renewing && rotates) {
    // Under the output folder's lock: provision import may be swapping this folder right now.
    const lock = await acquireLock(lockPath(config.outputDir));
    try {
      prepareFolder(config.outputDir, paths.dir, MODES.keyDir);
      if (!options.newKey) {
        const pending = readPendingKey(paths.nextKey, shown, id, deps.env, options.locate);
        if (pending) return { pem: request(pending.key), key: { file: paths.nextKey, keyType: id.key, made: false, pending: true } };
      }
      const key = await freshKey(id, deps);
      await writeFilesAtomically([{ path: paths.nextKey, content: encodePrivateKey(key, passphraseOf(id, deps.env)), mode: MODES.key }]);
      return { pem: request(key), key: { file: paths.nextKey, keyType: id.key, made: true, pending: true } };
    } finally {
      await lock.release();
    }
  }
  if (options.newKey) {
    throw new ProvisionError("usage", `--new-key: ${id.name} has no certificate to keep in use while a new one is requested${rotates ? "" : ` (${id.rotateKey === "never" ? "rotateKey: never keeps its key" : "its issuer is not an external CA without a key"})`}`, {
      hint: rotates ? `run provision csr ${id.name} without --new-key` : "--new-key is for renewals under an external CA without a key, with rotateKey: always",
    });
  }
  if (keyPem !== null) {
    const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(id, undefined, deps.env), { file: paths.key, passphraseEnv: id.passphraseEnv });
    return { pem: request(key), key: { file: paths.key, keyType: id.key, made: false, pending: false } };
  }
  const key = await freshKey(id, deps);
  prepareFolder(config.outputDir, paths.dir, MODES.keyDir);
  await writeFilesAtomically([{ path: paths.key, content: encodePrivateKey(key, passphraseOf(id, deps.env)), mode: MODES.key }]);
  return { pem: request(key), key: { file: paths.key, keyType: id.key, made: true, pending: false } };
}

/** A new key of the identity's type; an encrypted identity's passphrase must be set before anything is made. */
async function freshKey(id: IdentitySpec, deps: Pick<Deps, "env" | "generateKey">): Promise<KeyObject> {
  if (id.passphraseEnv !== null && passphraseOf(id, deps.env) === null) {
    throw new ProvisionError("passphrase-missing", `${id.passphraseEnv} is not set: it holds the passphrase for the key of ${id.name}`);
  }
  return (await deps.generateKey(id.key)).privateKey;
}
