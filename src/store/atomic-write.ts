import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { ProvisionError } from "../errors.js";

export interface FileWrite {
  path: string;
  content: string | Buffer;
  mode: number;
}

const TEMP_SUFFIX = /^\..+\.[0-9a-f]{12}\.tmp$/;

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Creates a folder chain with the given mode on the last level, whatever the umask. An existing folder
 * that others may write to is refused: whoever can write there can swap the files provision writes.
 * Returns whether the folder was created.
 */
export async function ensureDir(dir: string, mode: number): Promise<boolean> {
  const before = await lstat(dir).catch(() => undefined);
  if (before?.isDirectory() && (before.mode & 0o002) !== 0) {
    throw new ProvisionError("unsafe-path", `refusing to write into ${dir}: others can write to that folder`, {
      hint: `run chmod o-w ${dir}, or point output: somewhere private`,
    });
  }
  await mkdir(dir, { recursive: true, mode });
  const info = await lstat(dir);
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new ProvisionError("unsafe-path", `${dir} is not a plain folder (a symlink or a file stands there)`, {
      hint: "remove it or point output: somewhere else",
    });
  }
  if ((info.mode & 0o777) !== mode) await chmod(dir, mode);
  return before === undefined;
}

/** Refuses targets that are symlinks, and private files in folders others may write to. */
async function checkTarget(write: FileWrite): Promise<void> {
  const existing = await lstat(write.path).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    throw new ProvisionError("unsafe-path", `refusing to write ${write.path}: it is a symlink`, {
      hint: "provision never writes through symlinks; remove the link and run again",
    });
  }
  if ((write.mode & 0o077) === 0) {
    const dir = await stat(path.dirname(write.path));
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
    for (const write of writes) {
      await checkTarget(write);
      const temp = tempPathFor(write.path);
      const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, write.mode);
      temps.push({ temp, target: write.path });
      try {
        await handle.writeFile(write.content);
        await handle.chmod(write.mode);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const { temp, target } of temps.splice(0)) await rename(temp, target);
    await syncDirs(new Set(writes.map((w) => path.dirname(w.path))));
  } finally {
    await Promise.all(temps.map(({ temp }) => unlink(temp).catch(() => undefined)));
  }
}

async function syncDirs(dirs: Iterable<string>): Promise<void> {
  for (const dir of dirs) {
    const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
    if (!handle) continue;
    await handle.sync().catch(() => undefined);
    await handle.close();
  }
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
