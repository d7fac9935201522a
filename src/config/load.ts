import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ProvisionError, type Diagnostic } from "../errors.js";
import { parseState } from "../store/state-file.js";
import type { Config } from "./types.js";

/**
 * A validated config, cached in state.json under a key made of provision's version, the absolute path of
 * pki.yaml and its exact text. When the key matches, YAML parsing and schema validation are skipped: the
 * same text at the same place always validates to the same Config.
 */
export interface ConfigCache {
  key: string;
  config: Omit<Config, "file">;
  warnings: Diagnostic[];
}

export interface LoadedConfig {
  config: Config;
  warnings: Diagnostic[];
  /** What to store in state.json so the next run can skip parsing. */
  cache: ConfigCache;
  /** state.json as read while looking for the cache (null when absent), so it is read once per run. */
  stateText: string | null | undefined;
}

function cacheKey(absFile: string, text: string): string {
  const version = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
  return createHash("sha256").update(`${version}\0${absFile}\0${text}`).digest("hex");
}

/** Where state.json probably is: `output:` when it is a plain top-level scalar, else the default. */
function guessOutputDir(absFile: string, text: string): string {
  const match = /^output:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#'"][^#\n]*?))[ \t]*(?:#.*)?$/m.exec(text);
  return path.resolve(path.dirname(absFile), match?.[1] ?? match?.[2] ?? match?.[3] ?? "./pki");
}

/** state.json at the guessed output folder, and the config cached in it if its key matches. */
function readCached(outputDir: string, key: string): { cache?: ConfigCache; stateText: string | null } {
  let stateText: string;
  try {
    stateText = readFileSync(path.join(outputDir, "state.json"), "utf8");
  } catch {
    return { stateText: null };
  }
  try {
    const cache = parseState(stateText).state.config;
    // Trusted only when written from this very text, for this very folder.
    return cache?.key === key && cache.config.outputDir === outputDir ? { cache, stateText } : { stateText };
  } catch {
    return { stateText };
  }
}

/** Reads and validates pki.yaml; throws a ProvisionError carrying every diagnostic when it is not valid. */
export async function loadConfig(file: string, options: { cwd?: string } = {}): Promise<LoadedConfig> {
  const absFile = path.resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(absFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ProvisionError("config-unreadable", `cannot read ${file}: ${code === "ENOENT" ? "no such file" : String(code ?? error)}`, {
      hint: code === "ENOENT" ? "run `provision init` to write a starter pki.yaml, or pass -f <file>" : undefined,
    });
  }
  const key = cacheKey(absFile, text);
  const guessedOutput = guessOutputDir(absFile, text);
  const cached = readCached(guessedOutput, key);
  if (cached.cache) {
    return { config: { file, ...cached.cache.config }, warnings: cached.cache.warnings, cache: cached.cache, stateText: cached.stateText };
  }

  const { parseConfig } = await import("./parse.js");
  const { config, diagnostics } = parseConfig(text, file, options);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!config || errors.length) {
    throw new ProvisionError("invalid-config", `${file} is not valid (${errors.length} problem${errors.length === 1 ? "" : "s"})`, {
      diagnostics: errors,
      hint: "fix the lines above and run again; nothing was written",
    });
  }
  const warnings = diagnostics.filter((d) => d.severity === "warning");
  const { file: _file, ...rest } = config;
  return {
    config,
    warnings,
    cache: { key, config: rest, warnings },
    stateText: rest.outputDir === guessedOutput ? cached.stateText : undefined,
  };
}
