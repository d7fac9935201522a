import { createServer, connect } from "node:net";
import { appendFileSync } from "node:fs";
import { execa, type ResultPromise } from "execa";
import { OUTPUT_LOG } from "./output-log.js";
import { onTestFinished } from "vitest";

/** A free TCP port on 127.0.0.1 (bound and released, so the service can take it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host }, () => { socket.destroy(); resolve(true); });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a long-running process and stops it by PID when the test ends: SIGTERM, then SIGKILL after 5 s,
 * waiting until it has exited so its port is free again.
 */
export function startService(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { pid: number; output: () => string; stop: () => Promise<void> } {
  const child: ResultPromise = execa(file, args, { ...options, reject: false, all: true, buffer: true, cleanup: true });
  let output = "";
  child.all?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // However it ends, its output goes to the log the secrets check reads (test/global-setup.ts).
  void child.then(() => appendFileSync(OUTPUT_LOG, `${output}\n`));
  const pid = child.pid!;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try { process.kill(pid, "SIGTERM"); } catch { return; }
      const timer = setTimeout(() => { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }, 5000);
      await child;
      clearTimeout(timer);
    })());
  onTestFinished(stop);
  return { pid, output: () => output, stop };
}
