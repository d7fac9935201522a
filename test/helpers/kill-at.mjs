// Preloaded into a provision run by the crash tests (`node --import kill-at.mjs dist/cli/bin.js`): the process
// SIGKILLs itself at an exact point of its write phase. A watcher in the test process can only approximate that
// point: on a busy machine its events arrive after the run has moved on (or finished). Test-only; provision reads
// none of these variables.
//   KILL_AT_SORT   temp: right after the COUNT-th temp file is created (a `.NAME.tmp` file, or any file inside a
//                  `.NAME.HEX.new` folder being built: store/folder-swap.ts); final: right after the COUNT-th rename
//                  onto a path inside KILL_AT_DIR (a file or a folder put in place, or a folder moved aside)
//   KILL_AT_COUNT  which one
//   KILL_AT_DIR    only files inside this folder count (caches elsewhere are written the same way)
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import path from "node:path";

const sort = process.env.KILL_AT_SORT;
const count = Number(process.env.KILL_AT_COUNT);
const dir = process.env.KILL_AT_DIR;
if ((sort !== "temp" && sort !== "final") || !Number.isInteger(count) || count < 1 || !dir) {
  throw new Error("kill-at.mjs needs KILL_AT_SORT (temp|final), KILL_AT_COUNT and KILL_AT_DIR");
}
const inside = (file) => path.resolve(String(file)).startsWith(dir + path.sep);
let seen = 0;
// SIGKILL to itself ends the process before the call returns: nothing after the point runs.
const hit = () => { if (++seen === count) process.kill(process.pid, "SIGKILL"); };

if (sort === "temp") {
  const openSync = fs.openSync;
  fs.openSync = function (file, ...rest) {
    const fd = openSync.call(this, file, ...rest);
    if (inside(file) && (String(file).endsWith(".tmp") || /^\..+\.[0-9a-f]{12}\.new$/.test(path.basename(path.dirname(String(file)))))) hit();
    return fd;
  };
} else {
  const renameSync = fs.renameSync;
  fs.renameSync = function (from, to) {
    renameSync.call(this, from, to);
    if (inside(to)) hit();
  };
}
// Named ESM imports of node:fs (import { openSync } from "node:fs") follow the patched functions from here on.
syncBuiltinESMExports();
