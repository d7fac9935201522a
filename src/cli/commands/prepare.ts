import { loadConfig, type LoadedConfig } from "../../config/load.js";
import type { Config } from "../../config/types.js";
import { realDeps, type Deps } from "../../deps.js";
import { formatDiagnostic, ProvisionError, type Diagnostic } from "../../errors.js";
import { buildPlan } from "../../plan/build.js";
import type { Plan } from "../../plan/types.js";
import { launchWarnings } from "../../serve/launch-warnings.js";
import { readObservedState, type ObservedState } from "../../store/read-state.js";
import { loadExternalCas } from "../../store/external.js";
import type { CliOptions } from "../args.js";
import { resolveNow } from "../now.js";
import type { Io } from "../io.js";
import { readPendingHooks } from "../../store/pending-hooks.js";
import { readOwnCaKeys } from "../../store/own-keys.js";

export interface Prepared {
  config: Config;
  observed: ObservedState;
  plan: Plan;
  warnings: Diagnostic[];
  deps: Deps;
}

/**
 * load → validate → read disk → plan: the part every command shares. `loaded` is a config loaded earlier
 * (apply loads it before taking the lock, so the disk is read only once the lock is held).
 */
export async function loadAndPlan(options: CliOptions, io: Io, loaded?: LoadedConfig): Promise<Prepared> {
  const deps = realDeps({ env: io.env, ...io.deps });
  const { config: declared, warnings: configWarnings } = loaded ?? (await loadConfig(options.file, { cwd: io.cwd, env: io.env }));
  const { config, externals } = loadExternalCas(declared);
  const warnings = [...configWarnings, ...launchWarnings(config)];
  if (options.strict && warnings.length) {
    throw new ProvisionError("lint", `${options.file} has ${warnings.length} warning${warnings.length === 1 ? "" : "s"} and --strict is set`, {
      diagnostics: warnings,
      hint: "fix them, or run without --strict; nothing was written",
    });
  }
  const observed = await readObservedState(config, deps.env, externals);
  const pendingHooks = await readPendingHooks(config.outputDir);
  const now = resolveNow(options.now, deps.now);
  const plan = buildPlan(config, observed, now, {
    rotateCaKeys: new Set(options.rotateCaKeys),
    adoptCaKeys: new Set(options.adoptCaKeys),
    ownCaKeys: readOwnCaKeys(deps.env, config.outputDir),
    prune: options.prune,
    pendingHooks: pendingHooks.pending,
    setEnvVars: new Set(Object.keys(deps.env).filter((name) => deps.env[name] !== undefined && deps.env[name] !== "")),
  });
  if (pendingHooks.problem) plan.notes.push(pendingHooks.problem);
  return { config, observed, plan, warnings, deps };
}

export function printWarnings(warnings: Diagnostic[], io: Io): void {
  for (const w of warnings) io.stderr(`${formatDiagnostic(w)}\n`);
}
