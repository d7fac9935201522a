import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../config/load.js";
import { fsError, ProvisionError } from "../../errors.js";
import { Unrepresentable } from "../../render/escape.js";
import { renderSchedule, type ScheduleFiles } from "../../render/schedule.js";
import { writeFilesAtomically } from "../../store/atomic-write.js";
import { prepareFolder } from "../../store/guard.js";
import { MODES } from "../../store/layout.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";

// This module sits three folders below the package root both as src/cli/commands/*.ts and as
// dist/cli/commands/*.js; the scheduled job always runs the built CLI.
const BIN = fileURLToPath(new URL("../../../dist/cli/bin.js", import.meta.url));

/** `provision schedule`: writes a systemd service + timer and a crontab line that run `provision apply` daily. */
export async function runSchedule(options: CliOptions, io: Io): Promise<number> {
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const outDir = path.resolve(io.cwd, options.out ?? path.join(config.outputDir, "schedule"));
  const configFile = path.resolve(io.cwd, options.file);
  let files: ScheduleFiles;
  try {
    files = renderSchedule({ node: process.execPath, bin: BIN, configFile, workingDir: config.baseDir, logFile: path.join(outDir, "provision-cron.log") });
  } catch (error) {
    if (error instanceof Unrepresentable) throw new ProvisionError("unsafe-path", `cannot render the schedule: ${error.message}`, { hint: "move pki.yaml to a path without line breaks" });
    throw error;
  }
  const inside = !path.relative(config.outputDir, outDir).startsWith("..") && !path.isAbsolute(path.relative(config.outputDir, outDir));
  if (inside) prepareFolder(config.outputDir, outDir, MODES.publicDir);
  else {
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (error) {
      throw fsError("create", outDir, error);
    }
  }
  const written = [
    { path: path.join(outDir, "provision.service"), content: files.service, mode: MODES.cert },
    { path: path.join(outDir, "provision.timer"), content: files.timer, mode: MODES.cert },
    { path: path.join(outDir, "provision.cron"), content: files.cron, mode: MODES.cert },
  ];
  await writeFilesAtomically(written);
  const rel = (file: string) => path.relative(io.cwd, file) || file;
  io.stdout(`wrote ${written.map((w) => rel(w.path)).join(", ")}
systemd (as root):  cp ${rel(written[0]!.path)} ${rel(written[1]!.path)} /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now provision.timer
cron (this user):   (crontab -l 2>/dev/null; cat ${rel(written[2]!.path)}) | crontab -
`);
  return EXIT.ok;
}
