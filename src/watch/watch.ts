import { watch as watchFs, type FSWatcher } from "node:fs";
import path from "node:path";
import type { Config } from "../config/types.js";
import { nextDue, type NextDue } from "../plan/renewal.js";
import type { Plan } from "../plan/types.js";

/** One applied run, as the watch loop needs it: what was configured, what the plan was, whether hooks failed. */
export interface WatchRun {
  config: Config;
  plan: Plan;
  failedHooks: number;
}

export interface WatchDeps {
  /** Loads, plans and applies once (the same path as `provision apply`); throws on bad input. */
  runOnce(): Promise<WatchRun>;
  /** Reports a failed run (located errors for a bad edit); the loop keeps the last good files and goes on. */
  onError(error: unknown): void;
  /** Tells the user what the loop waits for. */
  onIdle(next: NextDue | null, wakeAt: number): void;
  now(): number;
  /** Resolves after `ms`, or as soon as `wake` is aborted. */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
  /** Resolves at the next (debounced) change of a watched file, or when `wake` is aborted. */
  nextChange(wake: AbortSignal): Promise<void>;
  /** Aborted on SIGINT/SIGTERM: the loop ends after the run in progress. */
  stop: AbortSignal;
}

const RETRY_FIRST_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;
/** Never re-plan in a tight loop, whatever the clock says is due. */
const MIN_WAIT_MS = 1000;

/**
 * The long-running loop of `provision watch`: apply, then sleep until the next certificate enters its
 * renewal window or a watched file changes, whichever comes first. There is no polling: between events
 * the process waits on one timer and the file watcher. Failed hooks are retried with a growing delay.
 */
export async function watchLoop(deps: WatchDeps): Promise<void> {
  let last: WatchRun | null = null;
  let failures = 0;
  while (!deps.stop.aborted) {
    try {
      last = await deps.runOnce();
      failures = last.failedHooks > 0 ? failures + 1 : 0;
    } catch (error) {
      deps.onError(error);
      failures++;
    }
    if (deps.stop.aborted) break;
    const due = last ? nextDue(last.config, last.plan) : null;
    const now = deps.now();
    let wakeAt = due?.at ?? Number.POSITIVE_INFINITY;
    if (failures > 0) wakeAt = Math.min(wakeAt, now + Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS));
    wakeAt = Math.max(wakeAt, now + MIN_WAIT_MS);
    deps.onIdle(due, wakeAt);
    const wake = new AbortController();
    const onStop = () => wake.abort();
    deps.stop.addEventListener("abort", onStop, { once: true });
    try {
      await Promise.race([deps.sleep(wakeAt - now, wake.signal), deps.nextChange(wake.signal)]);
    } finally {
      wake.abort();
      deps.stop.removeEventListener("abort", onStop);
    }
  }
}

/** A real sleep that can be cut short; long waits are chained because timers hold at most ~24.8 days. */
export function sleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (wake.aborted) return resolve();
    let timer: NodeJS.Timeout;
    const deadline = Date.now() + ms;
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) return done();
      timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
    };
    const done = () => {
      clearTimeout(timer);
      wake.removeEventListener("abort", done);
      resolve();
    };
    wake.addEventListener("abort", done, { once: true });
    if (Number.isFinite(ms)) arm();
  });
}

/**
 * Watches pki.yaml (by its folder, since editors save by renaming a new file over the old one) and the
 * output folder (a certificate deleted or replaced by hand). Events caused by the loop's own writes are
 * ignored while `busy()` says a run is in progress and shortly after. Changes are debounced.
 */
export function fileChanges(configFile: string, outputDir: string, busy: () => boolean, { debounceMs = 300 } = {}): { nextChange(wake: AbortSignal): Promise<void>; close(): void } {
  const watchers: FSWatcher[] = [];
  let pending: (() => void) | null = null;
  // A change that arrives while nobody waits (during a run) is kept, so the next wait returns at once.
  let missed = false;
  let timer: NodeJS.Timeout | undefined;
  let quietUntil = 0;
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const resolve = pending;
      pending = null;
      if (resolve) resolve();
      else missed = true;
    }, debounceMs);
  };
  const onConfigEvent = () => settle();
  const onOutputEvent = () => {
    // The run's own writes: ignored while it runs and for a moment after.
    if (busy()) quietUntil = Date.now() + debounceMs;
    else if (Date.now() >= quietUntil) settle();
  };
  const base = path.basename(configFile);
  const add = (dir: string, filter: (name: string | null) => boolean, recursive: boolean, fire: () => void) => {
    try {
      const w = watchFs(dir, { recursive, persistent: true }, (_event, name) => {
        if (filter(name === null ? null : String(name))) fire();
      });
      w.on("error", () => undefined);
      watchers.push(w);
    } catch {
      // A folder that does not exist yet (the output before the first run) is simply not watched.
    }
  };
  add(path.dirname(configFile), (name) => name === null || name === base, false, onConfigEvent);
  const ownFiles = /(^|\/)(\.provision[^/]*\.lock|hooks-pending\.json|state\.json|\.[^/]+\.tmp)$/;
  add(outputDir, (name) => name !== null && !ownFiles.test(name), true, onOutputEvent);
  return {
    nextChange(wake) {
      return new Promise((resolve) => {
        const finish = () => {
          pending = null;
          resolve();
        };
        if (wake.aborted) return resolve();
        if (missed) {
          missed = false;
          return resolve();
        }
        pending = finish;
        wake.addEventListener("abort", finish, { once: true });
      });
    },
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
