// Runs the provision CLI in this process and prints its peak RSS in KiB on stderr's last line:
// the same code path as bin.js, measured without relying on /usr/bin/time being installed.
import { main } from "../dist/cli/main.js";

const code = await main(process.argv.slice(2), { stdout: () => {}, stderr: (t) => process.stderr.write(t), env: process.env, cwd: process.cwd() });
process.stderr.write(`maxrss_kib=${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
