import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Diagnostic } from "../errors.js";
import type { Config } from "./types.js";

/**
 * A validated config, cached per machine under $XDG_CACHE_HOME/provision (one file per pki.yaml path), so a
 * run on an unchanged pki.yaml skips YAML parsing and schema validation. The key covers the exact text,
 * the absolute path, the package version and the source of every module in this folder, so any change to
 * the file or to the code that validates it is a miss. Set PROVISION_NO_CACHE=1 to bypass it.
 */
export interface ConfigCacheEntry {
  key: string;
  config: Omit<Config, "file">;
  warnings: Diagnostic[];
}

/** The package version and the source of every module in config/ (what validates pki.yaml). */
let codeHash: string | undefined;

export function codeFingerprint(): string {
  if (codeHash === undefined) {
    const hash = createHash("sha256").update((createRequire(import.meta.url)("../../package.json") as { version: string }).version);
    const here = path.dirname(fileURLToPath(import.meta.url));
    for (const name of readdirSync(here).sort()) if (/\.[cm]?[jt]s$/.test(name)) hash.update(name).update(readFileSync(path.join(here, name)));
    codeHash = hash.digest("hex");
  }
  return codeHash;
}

export function cacheKey(absFile: string, text: string): string {
  return createHash("sha256").update(`${codeFingerprint()}\0${absFile}\0${text}`).digest("hex");
}

/** provision's folder in the user's cache ($XDG_CACHE_HOME/provision, else ~/.cache/provision). */
export function userCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), ".cache"), "provision");
}

function cacheFile(env: NodeJS.ProcessEnv, absFile: string): string | null {
  if (env.PROVISION_NO_CACHE === "1") return null;
  return path.join(userCacheDir(env), `${createHash("sha256").update(absFile).digest("hex").slice(0, 32)}.json`);
}

export function readConfigCache(env: NodeJS.ProcessEnv, absFile: string, key: string): ConfigCacheEntry | undefined {
  const file = cacheFile(env, absFile);
  if (!file) return undefined;
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as ConfigCacheEntry;
    return entry.key === key && Array.isArray(entry.config?.identities) && Array.isArray(entry.warnings) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a read-only or missing home only costs the next run a parse. */
export function writeConfigCache(env: NodeJS.ProcessEnv, absFile: string, entry: ConfigCacheEntry): void {
  const file = cacheFile(env, absFile);
  if (!file) return;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // not worth failing a run over
  }
}
