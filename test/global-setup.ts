import { existsSync, readFileSync, rmSync } from "node:fs";
import { ALL_TEST_SECRETS } from "./helpers/secrets.js";
import { OUTPUT_LOG } from "./helpers/output-log.js";


/**
 * Starts the suite with an empty output log; at the end, no output of the CLI or of any process the tests
 * started (test/helpers/spawn.ts, process.ts) may carry key material or any passphrase in test/helpers/secrets.ts.
 */
export function setup(): () => void {
  rmSync(OUTPUT_LOG, { force: true });
  return () => {
    if (!existsSync(OUTPUT_LOG)) return; // a partial run that never called the CLI: nothing to check
    const text = readFileSync(OUTPUT_LOG, "utf8");
    // The second pattern is "-----BEGIN PRIVATE KEY-----" in base64, as in a Kubernetes Secret's data.
    const leaks = [/-----BEGIN (ENCRYPTED |RSA |EC )?PRIVATE KEY-----/, /LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t/, ...ALL_TEST_SECRETS.map((p) => new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))].filter((re) => re.test(text));
    // Silent when clean, so the reporter's "N passed, N failed" stays the last line.
    if (leaks.length) throw new Error(`secret material in CLI output (${text.length} bytes checked): ${leaks.join(", ")}`);
  };
}
