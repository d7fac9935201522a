import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, chmodSync, openSync, readdirSync, readSync, rmdirSync, rmSync, statSync, type Stats } from "node:fs";
import path from "node:path";
import { fsError, ProvisionError } from "../errors.js";
import { MODES } from "./layout.js";

/**
 * The output folder is written by provision and read back, but whoever can create an entry in it (another
 * user on a shared machine, anyone who can push to the branch holding it) must not be able to steer a write
 * outside it or into a place others can read. Before anything is written or deleted, every folder on the
 * way from the output folder down is checked with lstat: a folder, not a symlink, owned by the user running
 * provision, not writable by group or others. The output folder itself may be a symlink the user made (to
 * another volume, say); it is checked through the link, and its mode is never widened.
 */

const uid = process.getuid?.();

function refuse(dir: string, why: string, hint: string): never {
  throw new ProvisionError("unsafe-path", `refusing to write into ${dir}: ${why}`, { hint });
}

function checkFolder(dir: string, info: Stats, isRoot: boolean): void {
  if (info.isSymbolicLink()) refuse(dir, "it is a symlink", "provision never follows a symlink inside the output folder (the output folder itself may be one); remove the link and run again");
  if (!info.isDirectory()) refuse(dir, "it is not a folder", isRoot ? "point output: in pki.yaml at a folder" : "remove what stands there and run again");
  if (uid !== undefined && info.uid !== uid) refuse(dir, `it belongs to uid ${info.uid}, not to you (uid ${uid})`, `chown it to yourself, or point output: somewhere of your own`);
  if ((info.mode & 0o022) !== 0) {
    refuse(dir, `others can write to that folder (mode ${(info.mode & 0o777).toString(8).padStart(4, "0")})`, `run chmod go-w ${dir}, or point output: somewhere private`);
  }
}

function lstatOrNull(dir: string, follow: boolean): Stats | null {
  try {
    return follow ? statSync(dir) : lstatSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ENOTDIR") refuse(dir, "a part of its path is a file, not a folder", "point output: in pki.yaml at a folder");
    throw fsError("check", dir, error);
  }
}

/** The folders from the output folder down to `dir`, outermost first; throws when `dir` is not inside. */
function foldersBelow(outputDir: string, dir: string): string[] {
  const relative = path.relative(outputDir, dir);
  if (relative === "") return [];
  if (relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new ProvisionError("unsafe-path", `refusing to touch ${dir}: it is outside the output folder ${outputDir}`);
  }
  const parts = relative.split(path.sep);
  return parts.map((_, i) => path.join(outputDir, ...parts.slice(0, i + 1)));
}

/** Throws unless `file` lies inside `outputDir` (lexically: no `..`, not absolute elsewhere). */
export function assertInside(outputDir: string, file: string): void {
  foldersBelow(outputDir, path.dirname(file));
  if (path.relative(outputDir, file) === "") throw new ProvisionError("unsafe-path", `refusing to touch the output folder ${outputDir} itself`);
}

/**
 * Checks (and creates, when missing) the output folder. A new one is made with `mode`; an existing one is
 * checked through a symlink and never chmod'ed: a 0700 folder stays 0700. Returns whether it was created.
 */
export function prepareOutputFolder(outputDir: string, mode: number = MODES.publicDir): boolean {
  const before = lstatOrNull(outputDir, true);
  if (before) {
    checkFolder(outputDir, before, true);
    return false;
  }
  // The parents are the user's business (they chose output:); only the last level gets our mode.
  try {
    mkdirSync(path.dirname(outputDir), { recursive: true });
    mkdirSync(outputDir, { mode });
    chmodSync(outputDir, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") refuse(outputDir, "a part of its path is a file, not a folder", "point output: in pki.yaml at a folder");
    throw fsError("create", outputDir, error);
  }
  checkFolder(outputDir, statSync(outputDir), true);
  return true;
}

/**
 * Makes `dir` (inside the output folder) ready for writes: every folder on the way is checked, missing
 * ones are created (`mode` for the last level, the public folder mode above it). An existing folder's mode
 * is only ever narrowed to `mode` (a key folder that became 0755 is closed to 0700 again), never widened.
 * `checked` remembers folders already done in this run.
 */
export function prepareFolder(outputDir: string, dir: string, mode: number, checked: Set<string> = new Set()): void {
  const chain = foldersBelow(outputDir, dir);
  if (!checked.has(outputDir)) {
    const root = lstatOrNull(outputDir, true);
    if (!root) prepareOutputFolder(outputDir);
    else checkFolder(outputDir, root, true);
    checked.add(outputDir);
  }
  chain.forEach((folder, index) => {
    if (checked.has(folder)) return;
    const want = index === chain.length - 1 ? mode : MODES.publicDir;
    let info = lstatOrNull(folder, false);
    if (!info) {
      try {
        mkdirSync(folder, { mode: want });
        chmodSync(folder, want);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw fsError("create", folder, error);
      }
      info = lstatSync(folder);
    }
    checkFolder(folder, info, false);
    const current = info.mode & 0o777;
    if (index === chain.length - 1 && (current & ~want) !== 0) {
      try {
        chmodSync(folder, current & want);
      } catch (error) {
        throw fsError("chmod", folder, error);
      }
    }
    checked.add(folder);
  });
}

/**
 * prepareFolder for a folder written as a whole (store/folder-swap.ts): the folder itself when it exists (a
 * symlink or a foreign folder is refused as always), else the folders above it, created when missing; the swap
 * creates the folder itself. Returns whether the folder exists (and was checked).
 */
export function prepareWholeFolder(outputDir: string, dir: string, mode: number, checked: Set<string> = new Set()): boolean {
  if (checked.has(dir) || lstatOrNull(dir, false)) {
    prepareFolder(outputDir, dir, mode, checked);
    return true;
  }
  prepareFolder(outputDir, path.dirname(dir), MODES.publicDir, checked);
  return false;
}

/** Checks every folder on the way to `target` (which must be inside the output folder) before it is deleted. */
export function checkBeforeDelete(outputDir: string, target: string): boolean {
  assertInside(outputDir, target);
  const root = lstatOrNull(outputDir, true);
  if (!root) return false;
  checkFolder(outputDir, root, true);
  for (const folder of foldersBelow(outputDir, path.dirname(target))) {
    const info = lstatOrNull(folder, false);
    if (!info) return false;
    checkFolder(folder, info, false);
  }
  return true;
}

/**
 * Deletes `target` (a file or a whole folder) inside the output folder after checking every folder on the
 * way, then removes the folders it leaves empty, up to (not including) the output folder. A symlink is
 * removed as a link, never followed. Returns whether anything was there.
 */
export function deleteInside(outputDir: string, target: string): boolean {
  if (!checkBeforeDelete(outputDir, target)) return false;
  const existed = lstatSync(target, { throwIfNoEntry: false }) !== undefined;
  try {
    rmSync(target, { recursive: true, force: true });
  } catch (error) {
    throw fsError("remove", target, error);
  }
  for (let dir = path.dirname(target); path.relative(outputDir, dir) !== "" && !path.relative(outputDir, dir).startsWith(".."); dir = path.dirname(dir)) {
    try {
      if (readdirSync(dir).length > 0) break;
      rmdirSync(dir);
    } catch {
      break;
    }
  }
  return existed;
}

/** Sets a private file's mode without following a symlink (the folders on the way were checked by prepareFolder). */
export function chmodPrivate(file: string, mode: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) throw new ProvisionError("unsafe-path", `refusing to chmod ${file}: not a regular file`);
    fchmodSync(fd, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw fsError("chmod", file, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Files provision reads back are small; anything larger is not one of them. */
export const MAX_READ_BYTES = 16 * 1024 * 1024;

/**
 * Reads a file of the output tree: never through a symlink (O_NOFOLLOW), only a regular file, at most
 * `maxBytes`. null when there is no such file.
 */
export function readOutputFile(file: string, maxBytes: number = MAX_READ_BYTES): string | null {
  return readBounded(file, { maxBytes, followSymlink: false, missingIsNull: true })?.toString("utf8") ?? null;
}

/** readOutputFile for a binary file (crl.der): the bytes as they are. */
export function readOutputBytes(file: string, maxBytes: number = MAX_READ_BYTES): Buffer | null {
  return readBounded(file, { maxBytes, followSymlink: false, missingIsNull: true });
}

/**
 * Reads a file the user named (inspect, sign --csr, pki.yaml): symlinks are followed, but only a regular
 * file of at most `maxBytes` is read, so a device (`/dev/zero`) or a FIFO is refused instead of hanging.
 */
export function readUserFile(file: string, maxBytes: number = MAX_READ_BYTES, shownAs: string = file): string {
  return readBounded(file, { maxBytes, followSymlink: true, missingIsNull: false, shownAs })!.toString("utf8");
}

function readBounded(file: string, options: { maxBytes: number; followSymlink: boolean; missingIsNull: boolean; shownAs?: string }): Buffer | null {
  const shown = options.shownAs ?? file;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlink ? 0 : constants.O_NOFOLLOW));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (options.missingIsNull && (code === "ENOENT" || code === "ENOTDIR")) return null;
    if (code === "ELOOP" && !options.followSymlink) throw new ProvisionError("unsafe-path", `refusing to read ${shown}: it is a symlink`, { hint: "provision never follows symlinks inside the output folder; remove the link and run again" });
    throw fsError("read", shown, error);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new ProvisionError(options.followSymlink ? "unreadable" : "unsafe-path", `refusing to read ${shown}: not a regular file`, { hint: options.followSymlink ? "name a file" : "remove what stands there and run again" });
    if (info.size > options.maxBytes) throw new ProvisionError("unreadable", `refusing to read ${shown}: ${info.size} bytes is more than the ${options.maxBytes} provision reads`);
    const buffer = Buffer.alloc(info.size);
    let offset = 0;
    while (offset < info.size) {
      const n = readSync(fd, buffer, offset, info.size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } catch (error) {
    throw fsError("read", shown, error);
  } finally {
    closeSync(fd);
  }
}
