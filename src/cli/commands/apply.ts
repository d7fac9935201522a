import path from "node:path";
import { applyConfig, type ApplyRun } from "../../apply/run.js";
import { hookFailure, hookResults } from "../../apply/hooks.js";
import { formatPlan, summarize } from "../../plan/format.js";
import { CLOCK_SKEW_SECONDS } from "../../x509/spec.js";
import { hasChanges } from "../../plan/types.js";
import { loadConfig } from "../../config/load.js";
import type { CliOptions } from "../args.js";
import type { Config } from "../../config/types.js";
import type { Plan } from "../../plan/types.js";
import { EXIT, type Io } from "../io.js";
import { loadAndPlan, prepareOptions, printWarnings } from "./prepare.js";

/** `provision` / `provision apply`: plan, then write what the plan says (nothing when --dry-run). */
export async function runApply(options: CliOptions, io: Io): Promise<number> {
  if (options.dryRun) return printOnly(options, io);
  const { hooks } = await applyOnce(options, io);
  const failure = hookFailure(hooks);
  if (failure) throw failure;
  return EXIT.ok;
}

/** One locked run (applyConfig), printed: `provision watch` calls this on every change. */
export async function applyOnce(options: CliOptions, io: Io): Promise<ApplyRun> {
  // Validate before taking the lock: bad input must not even create the output folder.
  const loaded = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const run = await applyConfig(loaded.config, {
    ...prepareOptions(options, io, loaded.warnings),
    onPlanned: ({ plan, config, warnings }) => {
      printWarnings(warnings, io);
      if (options.now && hasChanges(plan)) io.stderr(`note: issuing as of --now ${plan.now}; new certificates are not valid before ${new Date(Date.parse(plan.now) - CLOCK_SKEW_SECONDS * 1000).toISOString()}\n`);
      return keyProgress(plan, config, io);
    },
    onCommitted: ({ plan, config }) => {
      if (!options.json) io.stdout(`${formatPlan(plan, config.outputDir, { color: io.color })}\n`);
    },
    hookOutput: io.stderr,
  });
  const { plan, config, written, deleted, hooks } = run;
  if (options.json) {
    io.stdout(`${JSON.stringify({ ...plan, written, deleted, hookResults: hookResults(hooks) }, null, 2)}\n`);
    return run;
  }
  const where = path.relative(io.cwd, config.outputDir) || ".";
  const kept = plan.prune ? 0 : plan.actions.filter((a) => a.action === "orphaned").length;
  const waiting = plan.actions.filter((a) => a.action === "waiting").length;
  const changed = written.length || deleted.length;
  const parts = [`${written.length} file(s) written`, ...(deleted.length ? [`${deleted.length} deleted`] : [])];
  const ran = hooks.length ? `; ${hooks.filter((o) => o.ok).length}/${hooks.length} afterChange hook(s) succeeded` : "";
  io.stdout(
    changed
      ? `done: ${summarize(plan)}; ${parts.join(", ")} in ${where}${ran}\n`
      : hooks.length
        ? `files up to date in ${where}${ran}\n`
        : kept
          ? `nothing written in ${where}; ${kept} orphaned identit${kept === 1 ? "y is" : "ies are"} kept (run with --prune to delete ${kept === 1 ? "it" : "them"})\n`
          : waiting
            ? `nothing written in ${where}; ${waiting} identit${waiting === 1 ? "y waits" : "ies wait"} for a certificate from an external CA's holder (provision status says how)\n`
            : `nothing to do: everything in ${where} is up to date\n`,
  );
  return run;
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
