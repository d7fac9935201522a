import path from "node:path";
import { loadConfig } from "../../config/load.js";
import { ProvisionError } from "../../errors.js";
import { prepareOutputFolder } from "../../store/guard.js";
import { watchLockPath } from "../../store/layout.js";
import { acquireLock } from "../../store/lock.js";
import { fileChanges, sleep, watchLoop, type WatchDeps } from "../../watch/watch.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";
import { reportError } from "../main.js";
import { applyOnce } from "./apply.js";

/** What tests replace: the clock, sleeping, file events and the stop signal. */
export type WatchControl = Partial<Pick<WatchDeps, "now" | "sleep" | "nextChange" | "stop">>;

/**
 * `provision watch`: apply now, then again whenever pki.yaml or the output tree changes and whenever a
 * certificate enters its renewal window. SIGINT/SIGTERM end it (exit 0) once the run in progress is done.
 */
export async function runWatch(options: CliOptions, io: Io, control: WatchControl = {}): Promise<number> {
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  prepareOutputFolder(config.outputDir);
  const lock = await acquireLock(watchLockPath(config.outputDir), { waitMs: 0 }).catch((error: unknown) => {
    if (error instanceof ProvisionError && error.code === "locked") {
      throw new ProvisionError("locked", `another provision watch is already running for ${path.relative(io.cwd, config.outputDir) || "."}`, {
        hint: `stop it first; one watch per output folder (its lock is ${path.relative(io.cwd, watchLockPath(config.outputDir))})`,
      });
    }
    throw error;
  });

  const stopper = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    io.stderr(`watch: ${signal} received; stopping after the run in progress\n`);
    stopper.abort();
  };
  const stop = control.stop ?? stopper.signal;
  if (!control.stop) for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, onSignal);

  let busy = false;
  const changes = control.nextChange ? null : fileChanges(path.resolve(io.cwd, options.file), config.outputDir, () => busy);
  const now = control.now ?? (() => (io.deps?.now ?? (() => new Date()))().getTime());
  try {
    await watchLoop({
      async runOnce() {
        busy = true;
        try {
          const run = await applyOnce({ ...options, now: null }, io);
          return { config: run.config, plan: run.plan, failedHooks: run.hooks.filter((o) => !o.ok).length };
        } finally {
          busy = false;
        }
      },
      onError: (error) => {
        reportError(error, false, io);
        io.stderr("watch: the last good files stay in place; waiting for the next change\n");
      },
      onIdle: (next, wakeAt) => {
        const what = next && next.at <= wakeAt ? `${next.what} at ${new Date(next.at).toISOString()}` : `retry at ${new Date(wakeAt).toISOString()}`;
        io.stderr(`watching ${options.file}; next: ${Number.isFinite(wakeAt) ? what : "nothing due (waiting for changes)"}\n`);
      },
      now,
      sleep: control.sleep ?? sleep,
      nextChange: control.nextChange ?? changes!.nextChange,
      stop,
    });
  } finally {
    changes?.close();
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, onSignal);
    await lock.release();
  }
  return EXIT.ok;
}
