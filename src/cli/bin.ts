#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
// libuv's thread pool (4 threads by default) runs fsync and key generation; a batch of file writes is
// fsynced concurrently, so give it more threads. It must be set before the pool's first use, hence the
// dynamic import below.
process.env.UV_THREADPOOL_SIZE ??= "32";
// V8 lets the heap grow to up to 4x what was live at the last full collection before collecting again. A large
// first run makes garbage all along (keys, DER, each batch's state.json), so a 10,000-identity create peaked at
// ≈430 MB with under 100 MB live; at 1.5x it peaks at ≈270 MB for the same CPU time (docs/PERFORMANCE.md).
// Read by V8 at each collection, so setting it here, before any work, is enough.
setFlagsFromString("--heap-growing-percent=50");
const { main } = await import("./main.js");

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb",
  interactive: Boolean(process.stderr.isTTY),
});
process.exitCode = code;
