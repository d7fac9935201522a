import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";
import { isAlive } from "./src/store/lock.js";
import base from "./vitest.config.js";

// The tests Stryker runs against each mutant: the in-process unit tests that import src/ directly. The scenario
// tests run the built dist/ CLI, which a mutant of src/ does not reach; those that sit in these layer folders are
// excluded by name.
// Stryker's vitest runner uses worker threads, which cannot set a umask; test/store/guard.test.ts needs one that
// takes bits the guard wants (so the chmod after mkdir is what gives a folder its mode). umask is per process.
process.umask(0o077);
// Stryker re-runs each test file's beforeAll for every mutant; fixtures built there (real runs of the binary,
// openssl) are built once per runner process instead (test/helpers/fixtures.ts), and removed when it exits.
// Stryker ends its runners with a kill, so "exit" does not always run: the folders of runners no longer alive
// are removed when the next runner starts.
const FIXTURES = /^provision-mutate-fixtures-(\d+)$/;
for (const name of readdirSync(tmpdir())) {
  const pid = FIXTURES.exec(name)?.[1];
  if (pid !== undefined && !isAlive(Number(pid))) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
}
if (!process.env.PROVISION_TEST_FIXTURES) {
  const fixtures = path.join(tmpdir(), `provision-mutate-fixtures-${process.pid}`);
  process.env.PROVISION_TEST_FIXTURES = fixtures;
  process.on("exit", () => rmSync(fixtures, { recursive: true, force: true }));
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // MUTATE_TESTS narrows a scoped run to the fast files that cover its module (docs/MUTATION.md):
    // MUTATE_TESTS=test/config/edges.test.ts npx stryker run --mutate src/config/duration.ts
    include: process.env.MUTATE_TESTS?.split(",") ?? ["test/config/**/*.test.ts", "test/x509/x509.test.ts", "test/x509/forge.test.ts", "test/x509/crl.test.ts", "test/x509/csr.test.ts", "test/x509/pem.test.ts", "test/x509/pkcs12.test.ts", "test/x509/keys.test.ts", "test/x509/issue.test.ts", "test/store/guard.test.ts", "test/store/state-file.test.ts", "test/store/read-state.test.ts", "test/store/read-state-trust.test.ts", "test/store/folder-swap.test.ts", "test/store/atomic-write.test.ts", "test/store/layout.test.ts", "test/store/own-keys.test.ts", "test/store/read-crls.test.ts", "test/store/stamp.test.ts", "test/store/state-cache.test.ts", "test/store/lock.test.ts", "test/store/passphrase.test.ts", "test/store/pending-hooks.test.ts", "test/store/external.test.ts", "test/sign/**/*.test.ts", "test/plan/**/*.test.ts"],
    exclude: [
      ...configDefaults.exclude,
      "test/config/bad-input.test.ts",
      "test/config/yaml-aliases.test.ts",
      "test/plan/idempotency.test.ts",
      "test/plan/renewal.test.ts",
      "test/plan/status-within.test.ts",
    ],
    reporters: ["default"],
  },
});
