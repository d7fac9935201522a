import { randomBytes } from "node:crypto";
import { chmodSync, constants, copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fsError, ProvisionError } from "../errors.js";
import { checkBeforeDelete } from "./guard.js";

/**
 * A key and its certificate are two files, and no rename moves two files at once; a folder is one entry. So an
 * identity whose key changes gets its whole folder written beside it and renamed into place:
 *
 * - a new folder: `.<name>.<hex>.new` is built, then renamed to `<name>` (the target does not exist), so a
 *   killed run leaves either no folder or the whole of it;
 * - an existing folder: `.<name>.<hex>.new` holds hard links to the files that do not change and the new files;
 *   `<name>` is renamed to `.<name>.<hex>.old`, the new folder to `<name>`, and the old one is removed. A kill
 *   between the two renames leaves no `<name>` for that instant: the next run renames `.old` back
 *   (recoverFolderSwaps) before it reads anything, and state.json, written after the files, still describes it.
 *
 * Every file stays a regular file at its documented path (no symlinked layout: `stat` and `find -perm` keep
 * working). The folder names are made here and matched exactly by recoverFolderSwaps.
 */
const SWAP_NAME = /^\.([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.([0-9a-f]{12})\.(new|old)$/;
/** Stray temp files of the per-file writes (store/atomic-write.ts): never carried into a new folder. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** The identity name and stage of a swap leftover's entry name (`.web.0123456789ab.old` → web, old), or null. */
export function swapLeftover(entry: string): { name: string; stage: "new" | "old" } | null {
  const match = SWAP_NAME.exec(entry);
  return match ? { name: match[1]!, stage: match[3] as "new" | "old" } : null;
}

export interface FolderBuild {
  /** The folder as users see it. */
  dir: string;
  /** Where its new version is built. */
  fresh: string;
  /** Where the old version goes for the moment between the two renames. */
  aside: string;
  /** Whether `dir` existed when the build started (replace) or not (create). */
  existed: boolean;
  /** The new version is in place (the old one, if any, is still aside until finishFolder). */
  swapped: boolean;
}

/**
 * Starts the new version of `dir` (whose folders on the way were checked by the caller): a fresh sibling
 * folder with `mode`, holding hard links to every file of `dir` except those in `replaced` (they will be
 * written), the same subfolders, and the same symlinks (recreated, never followed).
 */
export function startFolder(dir: string, mode: number, replaced: ReadonlySet<string>): FolderBuild {
  const name = path.basename(dir);
  const tag = randomBytes(6).toString("hex");
  const build: FolderBuild = {
    dir,
    fresh: path.join(path.dirname(dir), `.${name}.${tag}.new`),
    aside: path.join(path.dirname(dir), `.${name}.${tag}.old`),
    existed: lstatSync(dir, { throwIfNoEntry: false }) !== undefined,
    swapped: false,
  };
  try {
    mkdirSync(build.fresh, { mode });
    chmodSync(build.fresh, mode);
  } catch (error) {
    throw fsError("create", build.fresh, error);
  }
  try {
    if (build.existed) mirror(dir, build.fresh, replaced);
  } catch (error) {
    abandonFolder(build);
    throw error;
  }
  return build;
}

function mirror(from: string, to: string, replaced: ReadonlySet<string>): void {
  for (const entry of readdirSync(from).sort()) {
    const source = path.join(from, entry);
    if (TEMP_NAME.test(entry) || replaced.has(source)) continue;
    const target = path.join(to, entry);
    const info = lstatSync(source);
    try {
      if (info.isFile()) linkOrCopy(source, target, info.mode & 0o777);
      else if (info.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
      else if (info.isDirectory()) {
        mkdirSync(target, { mode: info.mode & 0o777 });
        chmodSync(target, info.mode & 0o777);
        mirror(source, target, replaced);
      } else {
        throw new ProvisionError("unsafe-path", `refusing to replace ${path.dirname(source)}: ${source} is not a file, a folder or a symlink`, {
          hint: "remove it and run again",
        });
      }
    } catch (error) {
      throw fsError("copy", source, error);
    }
  }
}

/** Volumes without hard links (some network and FUSE file systems) get a copy with the same mode. */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS"]);

function linkOrCopy(source: string, target: string, mode: number): void {
  try {
    linkSync(source, target);
  } catch (error) {
    if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
    copyFileSync(source, target, constants.COPYFILE_EXCL);
    chmodSync(target, mode);
  }
}

/**
 * Where `file` (a path inside build.dir) is written in the new version; the folders on the way inside it are
 * created (0755, as prepareFolder makes them) or checked: never a symlink, as everywhere in the output tree.
 */
export function placeIn(build: FolderBuild, file: string): string {
  const relative = path.relative(build.dir, file);
  if (relative.startsWith("..") || path.isAbsolute(relative) || relative === "") throw new ProvisionError("unsafe-path", `refusing to write ${file}: it is outside ${build.dir}`);
  const parts = relative.split(path.sep);
  for (let i = 1; i < parts.length; i++) {
    const folder = path.join(build.fresh, ...parts.slice(0, i));
    const info = lstatSync(folder, { throwIfNoEntry: false });
    if (!info) {
      mkdirSync(folder, { mode: 0o755 });
      chmodSync(folder, 0o755);
    } else if (!info.isDirectory()) {
      const shown = path.join(build.dir, ...parts.slice(0, i));
      throw new ProvisionError("unsafe-path", `refusing to write into ${shown}: ${info.isSymbolicLink() ? "it is a symlink" : "it is not a folder"}`, {
        hint: "provision never follows a symlink inside the output folder; remove what stands there and run again",
      });
    }
  }
  return path.join(build.fresh, relative);
}

/** Every folder of the new version, for fsync. */
export function foldersOf(build: FolderBuild): string[] {
  const folders = [build.fresh];
  for (let i = 0; i < folders.length; i++) {
    for (const entry of readdirSync(folders[i]!, { withFileTypes: true })) if (entry.isDirectory()) folders.push(path.join(folders[i]!, entry.name));
  }
  return folders;
}

/** Puts the new version in place: one rename for a new folder, two (old aside, new in) for an existing one. */
export function swapFolder(build: FolderBuild): void {
  if (build.existed) {
    try {
      renameSync(build.dir, build.aside);
    } catch (error) {
      throw fsError("rename", build.dir, error);
    }
  }
  try {
    renameSync(build.fresh, build.dir);
  } catch (error) {
    if (build.existed) {
      try {
        renameSync(build.aside, build.dir);
      } catch {
        // recoverFolderSwaps puts it back on the next run
      }
    }
    throw fsError("rename", build.dir, error);
  }
  build.swapped = true;
}

/** Removes the old version once the new one is in place and durable. */
export function finishFolder(build: FolderBuild): void {
  if (build.existed && build.swapped) rmSync(build.aside, { recursive: true, force: true });
}

/** Removes a new version that was not put in place (the run failed before its swap). */
export function abandonFolder(build: FolderBuild): void {
  if (!build.swapped) rmSync(build.fresh, { recursive: true, force: true });
}

/**
 * Run first, under the lock, before the output folder is read: finishes what a run killed during folder swaps
 * left in `parents` (the kind folders). A `.<name>.<hex>.old` whose `<name>` is missing is renamed back (the kill
 * fell between the two renames); every other entry of exactly these names is removed: a `.new` is a folder that
 * was never put in place, an `.old` beside its `<name>` was already replaced. An `.old` that is not a plain
 * folder of this user (a symlink, a file: nothing provision made) is removed as an entry, never followed nor
 * renamed into place. Returns what was restored, as paths relative to the output folder.
 */
export function recoverFolderSwaps(outputDir: string, parents: readonly string[]): string[] {
  const restored: string[] = [];
  const uid = process.getuid?.();
  for (const parent of parents) {
    // A kind folder that is not a plain folder is refused by the checks before any write; nothing to do here.
    if (!lstatSync(parent, { throwIfNoEntry: false })?.isDirectory()) continue;
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch (error) {
      throw fsError("list", parent, error);
    }
    for (const entry of names.sort()) {
      const match = swapLeftover(entry);
      if (!match) continue;
      const leftover = path.join(parent, entry);
      const target = path.join(parent, match.name);
      const info = lstatSync(leftover, { throwIfNoEntry: false });
      if (!info) continue;
      const ours = info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0;
      if (match.stage === "old" && ours && !lstatSync(target, { throwIfNoEntry: false })) {
        try {
          renameSync(leftover, target);
        } catch (error) {
          throw fsError("rename", leftover, error);
        }
        restored.push(path.relative(outputDir, target));
        continue;
      }
      if (!checkBeforeDelete(outputDir, leftover)) continue;
      try {
        // rmSync removes a symlink as a link and never follows one inside a folder.
        rmSync(leftover, { recursive: true, force: true });
      } catch (error) {
        throw fsError("remove", leftover, error);
      }
    }
  }
  return restored;
}
