import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { userCacheDir } from "../config/cache.js";

/**
 * A per-machine record of the CA keys this machine's provision wrote, by the SHA-256 of key.pem, per output
 * folder. It lets a run killed between writing a new CA's key.pem and its cert.pem be finished by the next
 * run: that key is provision's own. It lives in the user's cache, not in the output folder, because the
 * output folder is untrusted (a key planted there must never be adopted silently).
 */
const KEEP = 256;

function journalFile(env: NodeJS.ProcessEnv, outputDir: string): string {
  return path.join(userCacheDir(env), "own-ca-keys", `${createHash("sha256").update(outputDir).digest("hex").slice(0, 32)}.json`);
}

/** The hashes of CA keys written for this output folder on this machine (empty when unknown). */
export function readOwnCaKeys(env: NodeJS.ProcessEnv, outputDir: string): Set<string> {
  try {
    const list: unknown = JSON.parse(readFileSync(journalFile(env, outputDir), "utf8"));
    return new Set(Array.isArray(list) ? list.filter((x): x is string => typeof x === "string" && /^[0-9a-f]{64}$/.test(x)) : []);
  } catch {
    return new Set();
  }
}

/**
 * Records CA keys about to be written; called before their key.pem is renamed into place. Best effort: a
 * read-only home only means that an interrupted first run needs --adopt-ca-key, as the error then says.
 */
export function recordOwnCaKeys(env: NodeJS.ProcessEnv, outputDir: string, sha256s: readonly string[]): void {
  if (sha256s.length === 0) return;
  const file = journalFile(env, outputDir);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const next = [...readOwnCaKeys(env, outputDir), ...sha256s].slice(-KEEP);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temp, `${JSON.stringify([...new Set(next)])}\n`, { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // best effort (see above); a temp file written before a failed rename is not left in the user's cache
    try {
      rmSync(temp, { force: true });
    } catch {
      // the cache folder itself is unusable: nothing was written there
    }
  }
}
