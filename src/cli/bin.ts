#!/usr/bin/env node
// libuv's thread pool (4 threads by default) runs fsync and key generation; a batch of file writes is
// fsynced concurrently, so give it more threads. It must be set before the pool's first use, hence the
// dynamic import below.
process.env.UV_THREADPOOL_SIZE ??= "32";
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
