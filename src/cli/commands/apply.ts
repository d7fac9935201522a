import { rmdir } from "node:fs/promises";
import path from "node:path";
import { applyPlan } from "../../apply/apply.js";
import { formatPlan, summarize } from "../../plan/format.js";
import { CLOCK_SKEW_SECONDS } from "../../x509/spec.js";
import { hasChanges } from "../../plan/types.js";
import { prepareOutputFolder } from "../../store/guard.js";
import { lockPath } from "../../store/layout.js";
import { acquireLock } from "../../store/lock.js";
import { renderLaunchFiles } from "../../render/launch.js";
import { loadConfig } from "../../config/load.js";
import type { CliOptions } from "../args.js";
import type { Config } from "../../config/types.js";
import type { Plan } from "../../plan/types.js";
import { EXIT, type Io } from "../io.js";
import { loadAndPlan, printWarnings } from "./prepare.js";
import { ProvisionError } from "../../errors.js";
import { runHooks, stillPending, type HookOutcome } from "../../apply/hooks.js";
import { writePendingHooks } from "../../store/pending-hooks.js";

/** `provision` / `provision apply`: plan, then write what the plan says (nothing when --dry-run). */
export async function runApply(options: CliOptions, io: Io): Promise<number> {
  if (options.dryRun) return printOnly(options, io);
  const { failedHooks } = await applyOnce(options, io);
  if (failedHooks.length) {
    throw new ProvisionError("hook-failed", `afterChange failed for ${failedHooks.map((o) => `${o.hook.name} (${o.problem})`).join(", ")}`, {
      hint: "the files are committed; fix the command and run provision again: it retries only the hooks that failed",
    });
  }
  return EXIT.ok;
}

export interface AppliedRun {
  config: Config;
  plan: Plan;
  failedHooks: HookOutcome[];
}

/**
 * One locked run: load, plan, write, then run the afterChange hooks of what changed. `provision watch`
 * calls this on every change. Hooks are recorded as pending before they start, so a run killed while they
 * execute retries them, and removed once they succeed, so a no-op run after a success runs none.
 */
export async function applyOnce(options: CliOptions, io: Io): Promise<AppliedRun> {
  // Validate before taking the lock: bad input must not even create the output folder.
  const loaded = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const { config } = loaded;
  const created = prepareOutputFolder(config.outputDir);
  const lock = await acquireLock(lockPath(config.outputDir));
  let failed = true;
  try {
    const prepared = await loadAndPlan(options, io, loaded);
    const { plan, observed, deps, warnings } = prepared;
    printWarnings(warnings, io);
    if (options.now && hasChanges(plan)) io.stderr(`note: issuing as of --now ${plan.now}; new certificates are not valid before ${new Date(Date.parse(plan.now) - CLOCK_SKEW_SECONDS * 1000).toISOString()}\n`);
    const result = await applyPlan(prepared.config, plan, observed, deps, {
      renderExtra: (certOf) => renderLaunchFiles(prepared.config, certOf),
      onKeyGenerated: keyProgress(plan, prepared.config, io),
    });
    if (!options.json) io.stdout(`${formatPlan(plan, prepared.config.outputDir, { color: io.color })}\n`);
    let outcomes: HookOutcome[] = [];
    if (plan.hooks.length) {
      await writePendingHooks(config.outputDir, plan.hooks);
      outcomes = await runHooks(prepared.config, plan.hooks, { stderr: io.stderr, env: deps.env });
      await writePendingHooks(config.outputDir, stillPending(outcomes));
    }
    if (options.json) {
      const hooks = outcomes.map((o) => ({ name: o.hook.name, action: o.hook.action, ok: o.ok, problem: o.problem }));
      io.stdout(`${JSON.stringify({ ...plan, written: result.written, deleted: result.deleted, hookResults: hooks }, null, 2)}\n`);
    } else {
      const where = path.relative(io.cwd, prepared.config.outputDir) || ".";
      const kept = plan.prune ? 0 : plan.actions.filter((a) => a.action === "orphaned").length;
      const waiting = plan.actions.filter((a) => a.action === "waiting").length;
      const changed = result.written.length || result.deleted.length;
      const parts = [`${result.written.length} file(s) written`, ...(result.deleted.length ? [`${result.deleted.length} deleted`] : [])];
      const ran = outcomes.length ? `; ${outcomes.filter((o) => o.ok).length}/${outcomes.length} afterChange hook(s) succeeded` : "";
      io.stdout(
        changed
          ? `done: ${summarize(plan)}; ${parts.join(", ")} in ${where}${ran}\n`
          : outcomes.length
            ? `files up to date in ${where}${ran}\n`
            : kept
              ? `nothing written in ${where}; ${kept} orphaned identit${kept === 1 ? "y is" : "ies are"} kept (run with --prune to delete ${kept === 1 ? "it" : "them"})\n`
              : waiting
                ? `nothing written in ${where}; ${waiting} identit${waiting === 1 ? "y waits" : "ies wait"} for a certificate from an external CA's holder (provision status says how)\n`
                : `nothing to do: everything in ${where} is up to date\n`,
      );
    }
    failed = false;
    return { config: prepared.config, plan, failedHooks: outcomes.filter((o) => !o.ok) };
  } finally {
    await lock.release();
    // A first run that failed (a missing passphrase, say) leaves no empty output folder behind.
    if (failed && created) await rmdir(config.outputDir).catch(() => undefined);
  }
}

/** RSA keys take a while: past a few, say how many and (on a terminal) count them down. */
function keyProgress(plan: Plan, config: Config, io: Io): ((done: number, total: number) => void) | undefined {
  const rsaNames = new Set(config.identities.filter((i) => i.key.startsWith("rsa")).map((i) => i.name));
  const rsa = plan.actions.filter((a) => a.key === "generate" && rsaNames.has(a.name)).length;
  if (rsa <= 3) return undefined;
  io.stderr(`generating ${plan.actions.filter((a) => a.key === "generate").length} keys (${rsa} RSA; these take a moment)${io.interactive ? "" : "…\n"}`);
  if (!io.interactive) return undefined;
  return (done, total) => io.stderr(`\rgenerating keys: ${done}/${total}${done === total ? "\n" : ""}`);
}

async function printOnly(options: CliOptions, io: Io): Promise<number> {
  const { plan, config, warnings } = await loadAndPlan(options, io);
  printWarnings(warnings, io);
  if (options.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else io.stdout(`${formatPlan(plan, config.outputDir, { color: io.color })}\n(dry run: nothing written)\n`);
  return EXIT.ok;
}
