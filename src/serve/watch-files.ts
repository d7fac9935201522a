import { watch, type FSWatcher } from "node:fs";
import path from "node:path";

/** Stops watching. */
export type StopWatching = () => void;

/**
 * Calls onChange `debounceMs` after the last change to any of `files`, so a server picks up a re-issued
 * certificate or a new CRL without a restart. provision writes by rename, which replaces a file's inode:
 * each file's folder is watched, not the file. A new key comes with a new folder (store/folder-swap.ts), which
 * replaces the folder's inode too: each folder's parent is watched for the folder's name, and the folder is
 * watched again when it changes. A folder that cannot be watched is skipped (the server still runs, without
 * reloads for what it holds).
 */
export function watchFiles(files: readonly string[], onChange: () => void, debounceMs = 200): StopWatching {
  const byFolder = new Map<string, Set<string>>();
  for (const file of files) {
    const folder = path.dirname(file);
    byFolder.set(folder, (byFolder.get(folder) ?? new Set()).add(path.basename(file)));
  }
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const folderWatchers = new Map<string, FSWatcher>();
  const parentWatchers: FSWatcher[] = [];
  const watchFolder = (folder: string, names: ReadonlySet<string>) => {
    folderWatchers.get(folder)?.close();
    folderWatchers.delete(folder);
    const watcher = tryWatch(folder, (name) => {
      // name can be null on some platforms: then any change in the folder counts
      if (name === null || names.has(name)) changed();
    });
    if (watcher) folderWatchers.set(folder, watcher);
  };
  const byParent = new Map<string, Map<string, string>>();
  for (const [folder, names] of byFolder) {
    watchFolder(folder, names);
    const parent = path.dirname(folder);
    byParent.set(parent, (byParent.get(parent) ?? new Map()).set(path.basename(folder), folder));
  }
  for (const [parent, folders] of byParent) {
    const watcher = tryWatch(parent, (name) => {
      const folder = name === null ? undefined : folders.get(name);
      if (folder === undefined) return;
      watchFolder(folder, byFolder.get(folder)!);
      changed();
    });
    if (watcher) parentWatchers.push(watcher);
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of [...folderWatchers.values(), ...parentWatchers]) watcher.close();
  };
}

function tryWatch(folder: string, onName: (name: string | null) => void): FSWatcher | undefined {
  try {
    const watcher = watch(folder, { persistent: false }, (_event, name) => onName(name === null ? null : String(name)));
    watcher.on("error", () => watcher.close());
    return watcher;
  } catch {
    // not watchable (missing for a moment, or not allowed): no reloads through this folder
    return undefined;
  }
}
