import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fsync, lstatSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { open, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import { fsError, ProvisionError } from "../errors.js";

export interface FileWrite {
  path: string;
  content: string | Buffer;
  mode: number;
}

const fsyncAsync = promisify(fsync);
const TEMP_SUFFIX = /^\..+\.[0-9a-f]{12}\.tmp$/;

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/** Refuses targets that are symlinks, and private files in folders others may write to. */
function checkTarget(write: FileWrite, checkedDirs: Set<string>): void {
  const existing = lstatSync(write.path, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) {
    throw new ProvisionError("unsafe-path", `refusing to write ${write.path}: it is a symlink`, {
      hint: "provision never writes through symlinks; remove the link and run again",
    });
  }
  const dirName = path.dirname(write.path);
  if ((write.mode & 0o077) === 0 && !checkedDirs.has(dirName)) {
    checkedDirs.add(dirName);
    const dir = statSync(dirName);
    if ((dir.mode & 0o002) !== 0) {
      throw new ProvisionError("unsafe-path", `refusing to write a private key into ${path.dirname(write.path)}: others can write to that folder`, {
        hint: `run chmod o-w ${path.dirname(write.path)}`,
      });
    }
  }
}

/**
 * Writes every file through a temp file in its own folder (created with the final mode, so a key is
 * never readable by others), fsyncs them all, then renames them in the order given and fsyncs the
 * folders. A crash leaves each file either old or new; stray temp files are removed by the next run.
 */
export async function writeFilesAtomically(writes: readonly FileWrite[]): Promise<void> {
  const temps: { temp: string; target: string }[] = [];
  try {
    const checkedDirs = new Set<string>();
    for (const write of writes) checkTarget(write, checkedDirs);
    // Open and write synchronously (microseconds each), then fsync every file concurrently on the thread
    // pool: concurrent fsyncs share journal commits. Nothing is renamed until all are durable.
    const fds: number[] = [];
    try {
      for (const write of writes) {
        const temp = tempPathFor(write.path);
        try {
          const fd = openSync(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, write.mode);
          temps.push({ temp, target: write.path });
          fds.push(fd);
          writeFileSync(fd, write.content);
          fchmodSync(fd, write.mode);
        } catch (error) {
          throw fsError("write", write.path, error);
        }
      }
      await Promise.all(fds.map((fd, i) => fsyncAsync(fd).catch((error: unknown) => Promise.reject(fsError("write", temps[i]!.target, error)))));
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    for (const { temp, target } of temps.splice(0)) {
      try {
        renameSync(temp, target);
      } catch (error) {
        rmSync(temp, { force: true });
        throw fsError("write", target, error);
      }
    }
    await syncDirs(new Set(writes.map((w) => path.dirname(w.path))));
  } finally {
    for (const { temp } of temps) rmSync(temp, { force: true });
  }
}

async function syncDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...dirs].map(async (dir) => {
      const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
      if (!handle) return;
      await handle.sync().catch(() => undefined);
      await handle.close();
    }),
  );
}

/** Deletes temp files a killed run left behind in these folders. Returns how many it removed. */
export async function removeStaleTemps(dirs: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (TEMP_SUFFIX.test(name)) {
        await unlink(path.join(dir, name)).catch(() => undefined);
        removed++;
      }
    }
  }
  return removed;
}
