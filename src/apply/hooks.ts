import type { Config } from "../config/types.js";
import type { PendingHook, PlannedHook } from "../plan/hooks.js";
import { identityPaths } from "../store/layout.js";
import { ProvisionError } from "../errors.js";

export interface HookOutcome {
  hook: PlannedHook;
  ok: boolean;
  /** Why it failed, in words: "exit code 3", "timed out after 5m", "command not found". */
  problem: string | null;
}

export interface HookIo {
  /** Hook output goes here line by line, prefixed with the identity's name (stdout stays the plan's). */
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs afterChange hooks one after another, issuer-first as planned, each after its files are committed.
 * A failing hook does not stop the others; the caller records the failures so the next run retries them.
 */
export async function runHooks(config: Config, hooks: readonly PlannedHook[], io: HookIo): Promise<HookOutcome[]> {
  const outcomes: HookOutcome[] = [];
  for (const hook of hooks) outcomes.push(await runHook(config, hook, io));
  return outcomes;
}

async function runHook(config: Config, hook: PlannedHook, io: HookIo): Promise<HookOutcome> {
  const env = {
    ...io.env,
    PROVISION_NAME: hook.name,
    PROVISION_KIND: hook.kind,
    PROVISION_ACTION: hook.action,
    PROVISION_DIR: identityPaths(config.outputDir, hook.kind, hook.name).dir,
    PROVISION_OUTPUT: config.outputDir,
  };
  // A string is a shell command, as certbot's deploy hooks are (redirections and && work); a list is an argv.
  const [file, args] = typeof hook.command === "string" ? ["sh", ["-c", hook.command]] : [hook.command[0]!, hook.command.slice(1)];
  // Loaded here: a run without hooks (most runs) never pays for execa and its dependencies.
  const { execa } = await import("execa");
  // Its own process group, so a timeout stops what a shell command started too (sleep, a reload script).
  const child = execa(file, args, { cwd: config.baseDir, env, extendEnv: false, stdin: "ignore", all: true, reject: false, detached: true });
  let timedOut = false;
  const stopGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let forceKill: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup("SIGTERM");
    forceKill = setTimeout(() => stopGroup("SIGKILL"), 5000);
  }, hook.timeoutSeconds * 1000);
  try {
    for await (const line of child.iterable({ from: "all" })) io.stderr(`[${hook.name}] ${line}\n`);
  } finally {
    clearTimeout(timer);
  }
  const result = await child;
  clearTimeout(forceKill);
  if (timedOut) return { hook, ok: false, problem: `timed out after ${hook.timeoutSeconds}s` };
  if (result.failed) {
    const reason = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.signal ? `killed by ${result.signal}` : (result.originalMessage ?? result.shortMessage ?? "failed");
    return { hook, ok: false, problem: reason };
  }
  return { hook, ok: true, problem: null };
}

/** What the next run must retry: the hooks that failed, keeping the original action for the record. */
export function stillPending(outcomes: readonly HookOutcome[]): PendingHook[] {
  return outcomes.filter((o) => !o.ok).map((o) => ({ name: o.hook.name, action: o.hook.action }));
}

/** The error a run with failed hooks ends with (after its files are committed), or null when all succeeded. */
export function hookFailure(outcomes: readonly HookOutcome[]): ProvisionError | null {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return null;
  return new ProvisionError("hook-failed", `afterChange failed for ${failed.map((o) => `${o.hook.name} (${o.problem})`).join(", ")}`, {
    hint: "the files are committed; fix the command and run provision again: it retries only the hooks that failed",
  });
}

/** How each hook ended, as `provision --json` prints it and applyPki returns it. */
export interface HookResult {
  name: string;
  action: string;
  ok: boolean;
  problem: string | null;
}

export const hookResults = (outcomes: readonly HookOutcome[]): HookResult[] => outcomes.map((o) => ({ name: o.hook.name, action: o.hook.action, ok: o.ok, problem: o.problem }));
