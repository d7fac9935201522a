import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { appendFileSync } from "node:fs";
import { execa, type Options } from "execa";
import { OUTPUT_LOG } from "./output-log.js";

/**
 * spawn() whose stdout and stderr are kept and appended to the suite's output log when the process exits,
 * so the secrets check (test/global-setup.ts) sees the output of every process a test starts.
 */
export function spawnLogged(file: string, args: string[], options: SpawnOptions = {}): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      appendFileSync(OUTPUT_LOG, `${output}\n`);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exited };
}

/**
 * execa() whose combined output is appended to the suite's output log (for the secrets check), used for
 * every process a test starts that runs provision or handles its files: shell jobs, su, script, servers.
 */
export const execaLogged = ((file: string, args?: readonly string[], options?: Record<string, unknown>) => {
  const child = execa(file, args ?? [], { all: true, ...options } as Options);
  child.then(
    (result) => appendFileSync(OUTPUT_LOG, `${String(result.all ?? "")}\n`),
    (error: { all?: unknown }) => appendFileSync(OUTPUT_LOG, `${String(error.all ?? "")}\n`),
  );
  return child;
}) as unknown as typeof execa;

/**
 * Plain execa, not logged: only for a command whose output is key material the test reads on purpose (the
 * private key inside identity.p12, a key.pem shown from git). Everything else goes through execaLogged.
 */
export const execaReadingKeys = execa;
