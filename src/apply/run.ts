import { rmdir } from "node:fs/promises";
import type { Config } from "../config/types.js";
import { renderLaunchFiles } from "../render/launch.js";
import { prepareOutputFolder } from "../store/guard.js";
import { kindDir, KINDS, lockPath } from "../store/layout.js";
import { recoverFolderSwaps } from "../store/folder-swap.js";
import { acquireLock } from "../store/lock.js";
import { writePendingHooks } from "../store/pending-hooks.js";
import { applyPlan, type ApplyOptions, type ApplyResult } from "./apply.js";
import { runHooks, stillPending, type HookOutcome } from "./hooks.js";
import { preparePlan, type PrepareOptions, type Prepared } from "./prepare.js";

export interface ApplyRunOptions extends PrepareOptions {
  /** Called once the plan is made, before the first write (to print warnings); may return a key-progress callback. */
  onPlanned?: (prepared: Prepared) => ApplyOptions["onKeyGenerated"] | void;
  /** Called once the files are committed, before the afterChange hooks run. */
  onCommitted?: (prepared: Prepared, result: ApplyResult) => void;
  /** Where hook output goes, line by line (default: standard error). */
  hookOutput?: (text: string) => void;
  /** Identities per commit (tests make it small). */
  batchSize?: number;
}

export interface ApplyRun extends Prepared, ApplyResult {
  /** The afterChange hooks this run ran, in order, with how each ended. */
  hooks: HookOutcome[];
}

/**
 * One locked run, what `provision`, `provision watch` and the library's applyPki all do: plan, write, then
 * run the afterChange hooks of what changed. Hooks are recorded as pending before they start, so a run
 * killed while they execute retries them, and removed once they succeed, so a no-op run after a success
 * runs none. A first run that fails leaves no empty output folder behind.
 */
export async function applyConfig(config: Config, options: ApplyRunOptions): Promise<ApplyRun> {
  const created = prepareOutputFolder(config.outputDir);
  const lock = await acquireLock(lockPath(config.outputDir));
  let failed = true;
  try {
    // Before anything is read: a run killed in the middle of a folder swap may have left an identity aside.
    const restored = recoverFolderSwaps(config.outputDir, KINDS.map((kind) => kindDir(config.outputDir, kind)));
    const prepared = await preparePlan(config, options);
    for (const folder of restored) prepared.plan.notes.push(`${folder}: put back from where an interrupted run had moved it`);
    const onKeyGenerated = options.onPlanned?.(prepared) ?? undefined;
    const result = await applyPlan(prepared.config, prepared.plan, prepared.observed, prepared.deps, {
      renderExtra: (certOf) => renderLaunchFiles(prepared.config, certOf),
      onKeyGenerated,
      batchSize: options.batchSize,
    });
    options.onCommitted?.(prepared, result);
    const { hooks: planned } = prepared.plan;
    let hooks: HookOutcome[] = [];
    if (planned.length) {
      await writePendingHooks(config.outputDir, planned);
      hooks = await runHooks(prepared.config, planned, { stderr: options.hookOutput ?? ((text) => process.stderr.write(text)), env: prepared.deps.env });
      await writePendingHooks(config.outputDir, stillPending(hooks));
    }
    failed = false;
    return { ...prepared, ...result, hooks };
  } finally {
    await lock.release();
    if (failed && created) await rmdir(config.outputDir).catch(() => undefined);
  }
}
