import { locateInFile } from "../config/locate.js";
import type { RevokeRequest } from "../plan/types.js";
import type { Config } from "../config/types.js";
import type { Deps } from "../deps.js";
import { ProvisionError, type Diagnostic } from "../errors.js";
import { buildPlan } from "../plan/build.js";
import type { Plan } from "../plan/types.js";
import { launchWarnings } from "../serve/launch-warnings.js";
import { loadExternalCas } from "../store/external.js";
import { readOwnCaKeys } from "../store/own-keys.js";
import { readPendingHooks } from "../store/pending-hooks.js";
import { readObservedState, type ObservedState } from "../store/read-state.js";

export interface PrepareOptions {
  deps: Deps;
  /** Plan as of this time (default: deps.now()). */
  now?: Date;
  /** CAs whose key to replace (`--rotate-ca-key`). */
  rotateCaKeys?: Iterable<string>;
  /** CAs whose unrecorded key.pem to take as theirs (`--adopt-ca-key`). */
  adoptCaKeys?: Iterable<string>;
  /** Delete the files of identities no longer in pki.yaml (`--prune`). */
  prune?: boolean;
  /** Certificates to revoke by serial (api.ts revokeSerials). */
  revokeSerials?: readonly RevokeRequest[];
  /** The config's own warnings (from loading it); launch warnings are added. */
  warnings?: readonly Diagnostic[];
  /** Refuse to go on when there is any warning (`--strict`); `file` names pki.yaml in the message. */
  strict?: { file: string };
}

export interface Prepared {
  /** The config with its external CAs read in. */
  config: Config;
  observed: ObservedState;
  plan: Plan;
  warnings: Diagnostic[];
  deps: Deps;
}

/**
 * validate → read disk → plan: what plan, status and apply share, and the library's planPki. Writes
 * nothing. The disk is read here, so apply calls it only once the output folder's lock is held.
 */
export async function preparePlan(declared: Config, options: PrepareOptions): Promise<Prepared> {
  const { deps } = options;
  const { config, externals } = loadExternalCas(declared);
  const warnings = [...(options.warnings ?? []), ...launchWarnings(config)];
  if (options.strict && warnings.length) {
    throw new ProvisionError("lint", `${options.strict.file} has ${warnings.length} warning${warnings.length === 1 ? "" : "s"} and --strict is set`, {
      diagnostics: warnings,
      hint: "fix them, or run without --strict; nothing was written",
    });
  }
  const observed = await readObservedState(config, deps.env, externals);
  const pendingHooks = await readPendingHooks(config.outputDir);
  const plan = buildPlan(config, observed, options.now ?? deps.now(), {
    rotateCaKeys: new Set(options.rotateCaKeys ?? []),
    adoptCaKeys: new Set(options.adoptCaKeys ?? []),
    ownCaKeys: readOwnCaKeys(deps.env, config.outputDir),
    prune: options.prune ?? false,
    ...(options.revokeSerials ? { revokeSerials: options.revokeSerials } : {}),
    pendingHooks: pendingHooks.pending,
    locate: locateInFile(config),
    setEnvVars: new Set(Object.keys(deps.env).filter((name) => deps.env[name] !== undefined && deps.env[name] !== "")),
  });
  if (pendingHooks.problem) plan.notes.push(pendingHooks.problem);
  return { config, observed, plan, warnings, deps };
}
