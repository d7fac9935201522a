import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface FileSnapshot {
  sha256: string;
  mtimeMs: number;
  mode: number;
}

/** Every file below a folder (and each folder's mode), for byte-and-mtime comparisons. */
export function snapshotTree(root: string): Record<string, FileSnapshot | { dir: true; mode: number }> {
  const out: Record<string, FileSnapshot | { dir: true; mode: number }> = {};
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries.sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const info = statSync(full);
      if (info.isDirectory()) {
        out[rel] = { dir: true, mode: info.mode & 0o777 };
        walk(full);
      } else {
        out[rel] = { sha256: createHash("sha256").update(readFileSync(full)).digest("hex"), mtimeMs: info.mtimeMs, mode: info.mode & 0o777 };
      }
    }
  };
  walk(root);
  return out;
}

/** Names of files whose content changed between two snapshots (added and removed included). */
export function changedFiles(before: ReturnType<typeof snapshotTree>, after: ReturnType<typeof snapshotTree>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => JSON.stringify(before[n]) !== JSON.stringify(after[n]) && !("dir" in (after[n] ?? before[n]!))).sort();
}
