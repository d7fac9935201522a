import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";

// One log per checkout, so suites run from two clones at once do not clear or read each other's log.
const checkout = createHash("sha256").update(path.resolve(import.meta.dirname, "../..")).digest("hex").slice(0, 12);

/** Every CLI output of the suite is appended here, so the global teardown can grep it all for secrets. */
export const OUTPUT_LOG = path.join(tmpdir(), `provision-test-output-${checkout}.log`);
