import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ProvisionError } from "../../src/errors.js";
import { acquireLock } from "../../src/store/lock.js";

/** The output folder's lock against real files: who holds it, what counts as stale, and how long a live one is waited for. */
function lockFile(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-lock-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, ".provision.lock");
}

/** A pid that is certainly not running: a child that has exited and been reaped. */
const deadPid = () => Number(execFileSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).trim());

async function refused(file: string, options: { waitMs?: number; pollMs?: number } = { waitMs: 0 }): Promise<ProvisionError> {
  const error = await acquireLock(file, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProvisionError);
  return error as ProvisionError;
}

describe("acquireLock", () => {
  it("writes its pid and host into a private file; release removes it (twice is fine); then it can be taken again", async () => {
    const file = lockFile();
    const lock = await acquireLock(file);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await lock.release();
    expect(existsSync(file)).toBe(false);
    await lock.release();
    const again = await acquireLock(file, { waitMs: 0 });
    expect(existsSync(file)).toBe(true);
    await again.release();
  });

  it("a live holder is waited for, then reported with its pid and the file to delete", async () => {
    const file = lockFile();
    const held = await acquireLock(file);
    const started = Date.now();
    const error = await refused(file, { waitMs: 300, pollMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(error.code).toBe("locked");
    expect(error.message).toBe(`another provision run holds the lock (pid ${process.pid})`);
    expect(error.hint).toBe(`wait for it to finish; if no such run exists, delete ${file}`);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await held.release();
  });

  it("a holder that finishes while it is waited for lets the waiter in", async () => {
    const file = lockFile();
    const held = await acquireLock(file);
    setTimeout(() => void held.release(), 100);
    const lock = await acquireLock(file, { waitMs: 3000, pollMs: 20 });
    expect(readFileSync(file, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await lock.release();
  });

  it("a lock of a process gone from this host, or one that names no valid pid, is taken over at once", async () => {
    const file = lockFile();
    for (const holder of [`${deadPid()} ${hostname()}\n`, "abc host\n", "0 host\n", "-5 host\n", "1.5 host\n"]) {
      writeFileSync(file, holder);
      const lock = await acquireLock(file, { waitMs: 0 });
      expect(readFileSync(file, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
      await lock.release();
    }
  });

  it("a lock of another host is never judged by a local pid; an empty lock is taken over only once it is old", async () => {
    const file = lockFile();
    writeFileSync(file, `${deadPid()} not-${hostname()}\n`);
    expect((await refused(file)).code).toBe("locked");
    writeFileSync(file, "");
    expect((await refused(file)).message).toBe("another provision run holds the lock (pid 0)");
    const old = (Date.now() - 6000) / 1000;
    utimesSync(file, old, old);
    const lock = await acquireLock(file, { waitMs: 0 });
    expect(readFileSync(file, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await lock.release();
    // Five seconds is the limit: an empty lock 4 s old is still being written.
    writeFileSync(file, "");
    const recent = (Date.now() - 4000) / 1000;
    utimesSync(file, recent, recent);
    expect((await refused(file)).code).toBe("locked");
  });

  it("a folder that cannot hold the lock is an fs error, not a wait", async () => {
    const error = await refused(path.join(path.dirname(lockFile()), "missing", ".provision.lock"));
    expect(error.code).toBe("fs-error");
    expect(error.message).toMatch(/^cannot create .*missing\/\.provision\.lock/);
  });
});
