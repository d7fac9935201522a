import { loadConfig, type LoadedConfig } from "../../config/load.js";
import { formatDiagnostic, type Diagnostic } from "../../errors.js";
import { preparePlan, type PrepareOptions, type Prepared } from "../../apply/prepare.js";
import type { CliOptions } from "../args.js";
import { resolveNow } from "../now.js";
import { depsOf, type Io } from "../io.js";

export type { Prepared } from "../../apply/prepare.js";

/** The options of preparePlan as the command line gives them. */
export function prepareOptions(options: CliOptions, io: Io, warnings: readonly Diagnostic[]): PrepareOptions {
  const deps = depsOf(io);
  return {
    deps,
    now: resolveNow(options.now, deps.now),
    rotateCaKeys: options.rotateCaKeys,
    adoptCaKeys: options.adoptCaKeys,
    prune: options.prune,
    warnings,
    ...(options.strict ? { strict: { file: options.file } } : {}),
  };
}

/** load → validate → read disk → plan, for the commands that only read (plan, status, apply --dry-run). */
export async function loadAndPlan(options: CliOptions, io: Io, loaded?: LoadedConfig): Promise<Prepared> {
  const { config, warnings } = loaded ?? (await loadConfig(options.file, { cwd: io.cwd, env: io.env }));
  return preparePlan(config, prepareOptions(options, io, warnings));
}

export function printWarnings(warnings: Diagnostic[], io: Io): void {
  for (const w of warnings) io.stderr(`${formatDiagnostic(w)}\n`);
}
