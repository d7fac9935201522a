import { hostname } from "node:os";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { fsError, ProvisionError } from "../errors.js";

export interface Lock {
  release(): Promise<void>;
}

/** Whether a process of this host with that pid is running (EPERM: it is, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the output folder's lock by exclusive create. A lock whose process is gone (same host) is taken
 * over; a live one is waited for up to `waitMs`, then reported with its pid.
 */
export async function acquireLock(file: string, { waitMs = 2000, pollMs = 100 } = {}): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  const me = `${process.pid} ${hostname()}\n`;
  for (;;) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(me);
      await handle.close();
      return { release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw fsError("create", file, error);
    }
    const holder = await readFile(file, "utf8").catch(() => "");
    const [pidText, host] = holder.trim().split(" ");
    const pid = Number(pidText);
    // An empty lock is one being written right now, unless it has stayed empty for a while.
    const age = Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? 0);
    const stale = holder === "" ? age > 5000 : !Number.isInteger(pid) || pid <= 0 || (host === hostname() && !isAlive(pid));
    if (stale) {
      // Remove only the lock we judged stale: if another run replaced it meanwhile, its content differs.
      if ((await readFile(file, "utf8").catch(() => "")) === holder) await unlink(file).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ProvisionError("locked", `another provision run holds the lock (pid ${pid})`, {
        hint: `wait for it to finish; if no such run exists, delete ${file}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
