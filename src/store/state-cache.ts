import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { codeFingerprint, userCacheDir } from "../config/cache.js";
import { emptyState, serializeState, stateFromWrittenText, type CrlRecord, type IssuedCert, type RetiredCert, type RevokedName, type StateFile, type StateRecord } from "./state-file.js";

/**
 * state.json as parsed and validated, remembered per output folder in the user's cache (as the config cache
 * does for pki.yaml): a run whose state.json is byte-identical to the one remembered skips validating every
 * record (about half a second at 10,000 identities). The key covers the exact text, the output folder and
 * the validating code (config/ and state-file, state-parse), so any edit to state.json is validated in full. The cache
 * is outside the output folder, which is untrusted. PROVISION_NO_CACHE=1 bypasses it.
 */
type StateCacheEntry = { key: string; written: true } | FullEntry;

/**
 * `written`: the text is what serializeState writes for the state it holds (apply wrote it, or it serialises back
 * to itself), so that state is read from the text itself (stateFromWrittenText) and the entry holds nothing else:
 * remembering the state a run wrote costs nothing, and the records keep their lines as their JSON. Otherwise (a
 * state.json written by hand or by another version) the parsed state itself.
 */
interface FullEntry {
  key: string;
  identities: [string, StateRecord][];
  retired: [string, RetiredCert[]][];
  crls: [string, CrlRecord][];
  issued: IssuedCert[];
  revokedNames: [string, RevokedName][];
}

let stateCodeHash: string | undefined;

function keyOf(outputDir: string, text: string): string {
  if (stateCodeHash === undefined) {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const hash = createHash("sha256").update(codeFingerprint());
    for (const name of readdirSync(here).sort()) if (/^state-(file|parse|cache)\.[cm]?[jt]s$/.test(name)) hash.update(name).update(readFileSync(path.join(here, name)));
    stateCodeHash = hash.digest("hex");
  }
  return createHash("sha256").update(`${stateCodeHash}\0${outputDir}\0${text}`).digest("hex");
}

function cacheFile(env: NodeJS.ProcessEnv, outputDir: string): string | null {
  if (env.PROVISION_NO_CACHE === "1") return null;
  return path.join(userCacheDir(env), "state", `${createHash("sha256").update(outputDir).digest("hex").slice(0, 32)}.json`);
}

/** state-parse.ts's parseState, loaded (with zod) only when a state.json is to be validated. */
async function parseState(text: string): Promise<{ state: StateFile; problems: string[] }> {
  return (await import("./state-parse.js")).parseState(text);
}

/** parseState, from the cache when this exact text was parsed (or written) before on this machine. */
export async function parseStateCached(env: NodeJS.ProcessEnv, outputDir: string, text: string | null): Promise<{ state: StateFile; problems: string[] }> {
  if (text === null) return { state: emptyState(), problems: [] };
  const file = cacheFile(env, outputDir);
  if (file === null) return parseState(text);
  const key = keyOf(outputDir, text);
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as StateCacheEntry;
    const state = entry.key === key && "written" in entry && entry.written === true ? stateFromWrittenText(text) : null;
    if (state) return { state, problems: [] };
    if (entry.key === key && !("written" in entry) && Array.isArray(entry.identities) && Array.isArray(entry.retired) && Array.isArray(entry.crls) && Array.isArray(entry.issued) && Array.isArray(entry.revokedNames)) {
      const state = { version: 1 as const, identities: new Map(entry.identities), retired: new Map(entry.retired), crls: new Map(entry.crls), issued: entry.issued, revokedNames: new Map(entry.revokedNames) };
      return { state, problems: [] };
    }
  } catch {
    // no entry yet, or unreadable: parse
  }
  const parsed = await parseState(text);
  if (parsed.problems.length === 0) {
    if (serializeState(parsed.state) === text) writeEntry(file, { key, written: true });
    else writeEntry(file, { key, identities: [...parsed.state.identities], retired: [...parsed.state.retired], crls: [...parsed.state.crls], issued: parsed.state.issued, revokedNames: [...parsed.state.revokedNames] });
  }
  return parsed;
}

/**
 * Remembers `text` as valid state.json written by serializeState, after apply wrote it (serializeState, parseState
 * and stateFromWrittenText round-trip; test/store/state-cache.test.ts checks it). Best effort.
 */
export function rememberWrittenState(env: NodeJS.ProcessEnv, outputDir: string, text: string): void {
  const file = cacheFile(env, outputDir);
  if (file) writeEntry(file, { key: keyOf(outputDir, text), written: true });
}

function writeEntry(file: string, entry: StateCacheEntry): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // not worth failing a run over
  }
}
