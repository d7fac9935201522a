import { formatPlan } from "../../plan/format.js";
import { hasChanges } from "../../plan/types.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";
import { loadAndPlan, printWarnings } from "./prepare.js";

/** `provision plan`: exit 0 when nothing would change, 2 when changes are pending (terraform's -detailed-exitcode). */
export async function runPlan(options: CliOptions, io: Io): Promise<number> {
  const { plan, config, warnings } = await loadAndPlan(options, io);
  printWarnings(warnings, io);
  if (options.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else io.stdout(`${formatPlan(plan, config.outputDir, { color: io.color })}\n`);
  return hasChanges(plan) ? EXIT.changesPending : EXIT.ok;
}
