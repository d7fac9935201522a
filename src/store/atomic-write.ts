import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fsync, lstatSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { open, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import { fsError, ProvisionError } from "../errors.js";
import { abandonFolder, finishFolder, foldersOf, placeIn, startFolder, swapFolder, type FolderBuild } from "./folder-swap.js";

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
    // A missing folder is one a whole-folder write creates, with its own mode.
    const dir = statSync(dirName, { throwIfNoEntry: false });
    if (dir && (dir.mode & 0o002) !== 0) {
      throw new ProvisionError("unsafe-path", `refusing to write a private key into ${path.dirname(write.path)}: others can write to that folder`, {
        hint: `run chmod o-w ${path.dirname(write.path)}`,
      });
    }
  }
}

/**
 * How many files provision holds open at once, whatever the number of files written: macOS's default
 * limit is 256 descriptors per process, and Node itself holds a few dozen.
 */
export const MAX_OPEN_FILES = 16;

const RESOURCE_HINTS = new Map([
  ["ENOSPC", "free some disk space and run provision again"],
  ["EDQUOT", "free some disk space and run provision again"],
  ["EMFILE", "raise the open-file limit (ulimit -n) and run provision again"],
  ["ENFILE", "close some programs and run provision again"],
]);

/** fsError for a failed write, with the fix when the disk or the descriptors ran out. */
function writeError(operation: "write" | "rename", file: string, error: unknown): Error {
  return fsError(operation, file, error, { hint: RESOURCE_HINTS.get((error as NodeJS.ErrnoException).code ?? "") });
}

/** Runs a synchronous or asynchronous write step, reporting its failure through writeError. */
function writing<T>(operation: "write" | "rename", file: string, run: () => T): T {
  try {
    const result = run();
    return (result instanceof Promise ? result.catch((error: unknown) => { throw writeError(operation, file, error); }) : result) as T;
  } catch (error) {
    throw writeError(operation, file, error);
  }
}

/** A folder written as a whole (store/folder-swap.ts): every write below `dir` goes into its new version. */
export interface WholeFolder {
  dir: string;
  mode: number;
}

/** Which of `folders` holds `file` (at any depth), by walking up from the file: no scan of every folder. */
export function wholeFolderOf(folders: readonly WholeFolder[]): (file: string) => WholeFolder | undefined {
  const byDir = new Map(folders.map((f) => [f.dir, f]));
  return (file) => {
    if (byDir.size === 0) return undefined;
    for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const folder = byDir.get(dir);
      if (folder) return folder;
    }
    return undefined;
  };
}

/**
 * Writes every file through a temp file in its own folder (created with the final mode, so a key is
 * never readable by others), fsyncs them all, then renames them in the order given and fsyncs the
 * folders. A crash leaves each file either old or new; stray temp files are removed by the next run.
 * Writes below one of `wholeFolders` go into a new version of that folder instead, put in place by a
 * folder rename at the position of its first write (store/folder-swap.ts): a crash leaves that folder
 * wholly old or wholly new. `dropped` are files inside those folders that the new version leaves out (the
 * swap that adds one file removes another with it). At most MAX_OPEN_FILES descriptors are open at any moment.
 */
export async function writeFilesAtomically(writes: readonly FileWrite[], wholeFolders: readonly WholeFolder[] = [], dropped: readonly string[] = []): Promise<void> {
  const temps: { temp: string; target: string }[] = [];
  const builds = new Map<string, FolderBuild>();
  const folderOf = wholeFolderOf(wholeFolders);
  try {
    const checkedDirs = new Set<string>();
    for (const write of writes) checkTarget(write, checkedDirs);
    const replaced = new Set([...writes.filter((w) => folderOf(w.path)).map((w) => w.path), ...dropped.filter((file) => folderOf(file))]);
    for (const folder of wholeFolders) builds.set(folder.dir, startFolder(folder.dir, folder.mode, replaced));
    // Where each write's bytes go first: a temp file beside its target, or its place in a new folder.
    const firstPaths = writes.map((write) => {
      const folder = folderOf(write.path);
      if (folder) return placeIn(builds.get(folder.dir)!, write.path);
      const temp = tempPathFor(write.path);
      temps.push({ temp, target: write.path });
      return temp;
    });
    // Open and write synchronously (microseconds each), then fsync a group concurrently on the thread
    // pool (concurrent fsyncs share journal commits) and close it before opening the next group.
    // Nothing is renamed until every temp file is durable.
    for (let start = 0; start < writes.length; start += MAX_OPEN_FILES) {
      const fds: number[] = [];
      try {
        const group = writes.slice(start, start + MAX_OPEN_FILES);
        for (const [i, write] of group.entries()) {
          const fd = writing("write", write.path, () => openSync(firstPaths[start + i]!, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, write.mode));
          fds.push(fd);
          writing("write", write.path, () => {
            writeFileSync(fd, write.content);
            fchmodSync(fd, write.mode);
          });
        }
        await Promise.all(fds.map((fd, i) => writing("write", group[i]!.path, () => fsyncAsync(fd))));
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    }
    await syncDirs([...builds.values()].flatMap(foldersOf));
    const pending = new Map(temps.map((t) => [t.target, t.temp]));
    for (const write of writes) {
      const folder = folderOf(write.path);
      if (folder) {
        const build = builds.get(folder.dir)!;
        if (!build.swapped) writing("rename", folder.dir, () => swapFolder(build));
        continue;
      }
      const temp = pending.get(write.path)!;
      writing("rename", write.path, () => {
        try {
          renameSync(temp, write.path);
        } catch (error) {
          rmSync(temp, { force: true });
          throw error;
        }
      });
    }
    temps.splice(0);
    await syncDirs(new Set(writes.map((w) => path.dirname(folderOf(w.path)?.dir ?? w.path))));
    // Only once the new folders' renames are durable do the old versions go.
    for (const build of builds.values()) finishFolder(build);
  } finally {
    for (const { temp } of temps) rmSync(temp, { force: true });
    for (const build of builds.values()) abandonFolder(build);
  }
}

/** fsyncs folders so the renames in them are durable, MAX_OPEN_FILES at a time. */
async function syncDirs(dirs: Iterable<string>): Promise<void> {
  await forEachLimited([...dirs], MAX_OPEN_FILES, async (dir) => {
    const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
    if (!handle) return;
    await handle.sync().catch(() => undefined);
    await handle.close();
  });
}

/** Runs `task` over `items` with at most `limit` running at once. */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
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
