import { readFileSync } from "node:fs";
import path from "node:path";
import { fsError, ProvisionError, type Diagnostic } from "../errors.js";
import { cacheKey, readConfigCache, rememberedSource, writeConfigCache } from "./cache.js";
import type { SourceLayout } from "./incremental.js";
import type { Config } from "./types.js";

export interface LoadedConfig {
  config: Config;
  warnings: Diagnostic[];
}

/**
 * Reads and validates pki.yaml; throws a ProvisionError carrying every diagnostic when it is not valid.
 * An unchanged pki.yaml is taken from the per-machine cache (config/cache.ts) instead of being parsed.
 */
export async function loadConfig(file: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const absFile = path.resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(absFile, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw fsError("read", file, error, {
      code: "config-unreadable",
      hint: missing ? "run `provision init` to write a starter pki.yaml, or pass -f <file>" : undefined,
    });
  }
  const key = cacheKey(absFile, text);
  const cached = readConfigCache(env, absFile);
  if (cached?.key === key) return { config: { file, ...cached.config }, warnings: cached.warnings };

  // An edit: re-read only the entries that changed when the last parse allows it, else the whole file.
  const source = rememberedSource(cached, absFile);
  const reparsed = source ? (await import("./incremental.js")).reparseChanged({ ...source, config: cached!.config }, text, file) : null;
  const loaded = reparsed ?? (await parseConfigText(text, file, options));
  const { file: _file, ...rest } = loaded.config;
  writeConfigCache(env, absFile, { key, config: rest, warnings: loaded.warnings, ...(loaded.layout ? { source: { text, layout: loaded.layout } } : {}) });
  return { config: loaded.config, warnings: loaded.warnings };
}

/**
 * Validates pki.yaml text (named `file` in messages; relative paths resolve against `cwd`): the same checks
 * as loadConfig, without the file or the cache. Throws a ProvisionError carrying every diagnostic.
 */
export async function loadConfigText(text: string, file: string, options: { cwd?: string } = {}): Promise<LoadedConfig> {
  const { config, warnings } = await parseConfigText(text, file, options);
  return { config, warnings };
}

async function parseConfigText(text: string, file: string, options: { cwd?: string }): Promise<LoadedConfig & { layout?: SourceLayout }> {
  const { parseConfig } = await import("./parse.js");
  const { config, diagnostics, layout } = parseConfig(text, file, options);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!config || errors.length) {
    throw new ProvisionError("invalid-config", `${file} is not valid (${errors.length} problem${errors.length === 1 ? "" : "s"})`, {
      diagnostics: errors,
      hint: "fix the lines above and run again; nothing was written",
    });
  }
  return { config, warnings: diagnostics.filter((d) => d.severity === "warning"), ...(layout ? { layout } : {}) };
}
