import { lstatSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import type { Locate } from "../config/locate.js";
import type { IdentitySpec } from "../config/types.js";
import { fsError, ProvisionError } from "../errors.js";
import { keyTypeOf, decodePrivateKeyWithAny } from "../x509/keys.js";
import { readOutputFile } from "./guard.js";
import { passphraseCandidates } from "./passphrase.js";

/**
 * The pending key of a renewal request (`next-key.pem`, store/layout.ts): `provision csr` made it, and it waits
 * beside the key in use until `provision import` swaps it in with its certificate. Between the two it sat on
 * disk, so it is read back as hostile input: never through a symlink, only a regular file of this user that
 * no one else can read, a key that parses, of the key type pki.yaml asks for. Anything else stops the command
 * before it writes, saying which file and why.
 */

/** Whether anything stands at the pending key's path (a symlink counts: reading it is what refuses it). */
export function hasPendingKey(file: string): boolean {
  try {
    return lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    throw fsError("inspect", file, error);
  }
}

/** The pending key, checked; null when there is none. `shown` is how messages name the file. */
export function readPendingKey(file: string, shown: string, id: IdentitySpec, env: NodeJS.ProcessEnv, locate?: Locate): { key: KeyObject; pem: string } | null {
  const hint = `remove it, or run provision csr ${id.name} --new-key to replace it with a fresh key (and send the new request); nothing was written`;
  const refuse = (why: string, extra: { hint?: string; diagnostics?: ProvisionError["diagnostics"] } = {}) =>
    new ProvisionError("pending-key", `the pending key ${shown} ${why}`, { hint: extra.hint ?? hint, ...(extra.diagnostics ? { diagnostics: extra.diagnostics } : {}) });
  let info;
  try {
    info = lstatSync(file, { throwIfNoEntry: false });
  } catch (error) {
    throw fsError("inspect", shown, error);
  }
  if (!info) return null;
  // provision never writes over these: they are for the user to remove.
  const remove = { hint: `remove ${shown}, then run provision csr ${id.name} again for a request with a fresh key; nothing was written` };
  if (info.isSymbolicLink()) throw refuse("is a symlink: provision never follows one inside the output folder", remove);
  if (!info.isFile()) throw refuse("is not a regular file", remove);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) throw refuse(`belongs to user ${info.uid}, not to the user running provision (${uid})`, remove);
  // Others could have read it, so it may be known to them: a key for a new certificate must not start out exposed.
  if ((info.mode & 0o077) !== 0) throw refuse(`is readable or writable by others (mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}), so it may be known to them; provision writes it 0600`);
  // O_NOFOLLOW and a size bound: a symlink swapped in since the lstat is refused here too.
  let pem: string | null;
  try {
    pem = readOutputFile(file);
  } catch (error) {
    throw error instanceof ProvisionError && error.code === "unsafe-path" ? refuse("is a symlink: provision never follows one inside the output folder", remove) : error;
  }
  if (pem === null) return null;
  let key: KeyObject;
  try {
    key = decodePrivateKeyWithAny(pem, passphraseCandidates(id, undefined, env), { file: shown, passphraseEnv: id.passphraseEnv });
  } catch (error) {
    // A passphrase that is missing or wrong says so in its own words; anything else is not a key.
    if (error instanceof ProvisionError && (error.code === "passphrase-missing" || error.code === "passphrase-wrong")) throw error;
    throw refuse("is not a private key provision can read");
  }
  const type = keyTypeOf(key);
  if (type !== id.key) {
    // The key type in pki.yaml changed since provision csr made it (or the file was replaced): pki.yaml's key: is what decides.
    throw refuse(`is ${type ? `an ${type}` : "an unsupported"} key, and pki.yaml asks for ${id.key} for ${id.name}`, {
      hint: `pki.yaml's key type changed since provision csr made it: run provision csr ${id.name} --new-key for a request with a fresh ${id.key} key (and send that one); nothing was written`,
      ...(locate ? { diagnostics: [{ severity: "error" as const, ...locate([...id.yamlPath, "key"]), message: `key: ${id.key}, but the pending key ${shown} is ${type ?? "of an unsupported type"}` }] } : {}),
    });
  }
  return { key, pem };
}
