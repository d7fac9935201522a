import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Diagnostic } from "../errors.js";
import type { SourceLayout } from "./incremental.js";
import type { Config } from "./types.js";

/**
 * A validated config, cached per machine under $XDG_CACHE_HOME/provision (one file per pki.yaml path), so a
 * run on an unchanged pki.yaml skips YAML parsing and schema validation. The key covers the exact text,
 * the absolute path, the package version and the source of every module in this folder, so any change to
 * the file or to the code that validates it is a miss. Set PROVISION_NO_CACHE=1 to bypass it.
 *
 * A miss is not wasted: the entry also holds the text it was parsed from and where each identity lies in it,
 * so an edited pki.yaml is re-read only where it changed (config/incremental.ts). That text is only used when
 * it still hashes to the entry's key (written by this code, not cut short or edited since).
 */
export interface ConfigCacheEntry {
  key: string;
  config: Omit<Config, "file">;
  warnings: Diagnostic[];
  source?: { text: string; layout: SourceLayout };
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

/** The entry remembered for this pki.yaml, whatever text it was for (compare its key), or undefined. */
export function readConfigCache(env: NodeJS.ProcessEnv, absFile: string): ConfigCacheEntry | undefined {
  const file = cacheFile(env, absFile);
  if (!file) return undefined;
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as ConfigCacheEntry;
    return typeof entry.key === "string" && Array.isArray(entry.config?.identities) && Array.isArray(entry.warnings) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** The text and layout an entry was parsed from, when they are intact: the text still hashes to its key. */
export function rememberedSource(entry: ConfigCacheEntry | undefined, absFile: string): ConfigCacheEntry["source"] | undefined {
  const source = entry?.source;
  if (!source || typeof source.text !== "string" || !Array.isArray(source.layout?.sections) || !Array.isArray(source.layout.order)) return undefined;
  return cacheKey(absFile, source.text) === entry.key ? source : undefined;
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
