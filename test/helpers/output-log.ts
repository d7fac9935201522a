import { tmpdir } from "node:os";
import path from "node:path";

/** Every CLI output of the suite is appended here, so the global teardown can grep it all for secrets. */
export const OUTPUT_LOG = path.join(tmpdir(), "provision-test-output.log");
