import { watch, type FSWatcher } from "node:fs";
import path from "node:path";

/** Stops watching. */
export type StopWatching = () => void;

/**
 * Calls onChange `debounceMs` after the last change to any of `files`, so a server picks up a re-issued
 * certificate or a new CRL without a restart. provision writes by rename, which replaces a file's inode:
 * each file's folder is watched, not the file. A folder that cannot be watched is skipped (the server
 * still runs, without reloads for what it holds).
 */
export function watchFiles(files: readonly string[], onChange: () => void, debounceMs = 200): StopWatching {
  const byFolder = new Map<string, Set<string>>();
  for (const file of files) {
    const folder = path.dirname(file);
    byFolder.set(folder, (byFolder.get(folder) ?? new Set()).add(path.basename(file)));
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of byFolder) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        // name can be null on some platforms: then any change in the folder counts
        if (name !== null && !names.has(String(name))) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      });
      watcher.on("error", () => watcher.close());
      watchers.push(watcher);
    } catch {
      // not watchable: no reloads for these files
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
