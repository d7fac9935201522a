import { lstatSync } from "node:fs";

/**
 * A file's identity as the file system reports it: inode, size, mtime and ctime (as git's index does).
 * Every write provision makes is a rename of a new file, so it changes the inode and the ctime; editing,
 * truncating, replacing or chmod'ing a file changes at least one. null: no such file.
 */
export type Stamp = string | null;

/** A file's stamp and permission bits, from lstat: a symlink or anything but a regular file never matches a recorded stamp. */
export function statFile(file: string): { stamp: Stamp; mode: number | null } {
  try {
    const info = lstatSync(file, { throwIfNoEntry: false });
    if (!info) return { stamp: null, mode: null };
    if (!info.isFile()) return { stamp: "not-a-regular-file", mode: null };
    return { stamp: `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`, mode: info.mode & 0o777 };
  } catch {
    // Unreadable (permissions, or a file where a folder should be): a stamp that never matches, so the
    // file is read and the error reported.
    return { stamp: "unreadable", mode: null };
  }
}

export function stampOf(file: string): Stamp {
  return statFile(file).stamp;
}

/** The stamps of one identity's files. */
export interface FileStamps {
  cert: Stamp;
  key: Stamp;
  chain?: Stamp;
  fullchain?: Stamp;
}
