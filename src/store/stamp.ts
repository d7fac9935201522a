import { statSync } from "node:fs";

/**
 * A file's identity as the file system reports it: inode, size, mtime and ctime (as git's index does).
 * Every write provision makes is a rename of a new file, so it changes the inode and the ctime; editing,
 * truncating or replacing a file changes at least one. null: no such file.
 */
export type Stamp = string | null;

export function stampOf(file: string): Stamp {
  try {
    const info = statSync(file, { throwIfNoEntry: false });
    return info ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : null;
  } catch {
    // Unreadable (permissions): a stamp that never matches, so the file is read and the error reported.
    return "unreadable";
  }
}

/** The stamps of one identity's files. */
export interface FileStamps {
  cert: Stamp;
  key: Stamp;
  chain?: Stamp;
  fullchain?: Stamp;
}
