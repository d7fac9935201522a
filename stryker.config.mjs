// Mutation testing (not part of npm test): which changes to the logic do the fast unit tests notice? Results and
// the surviving mutants are discussed in docs/MUTATION.md. `npm run mutate` (scripts/mutate.mjs) runs Stryker once
// per group of scripts/mutation-groups.mjs, each against only the test files that cover it; one group by hand:
// MUTATE_TESTS=test/config/cidr.test.ts npx stryker run --mutate src/config/cidr.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  mutate: ["src/config/**/*.ts", "src/plan/**/*.ts", "src/x509/**/*.ts", "src/store/**/*.ts"],
  coverageAnalysis: "perTest",
  concurrency: 1,
  timeoutMS: 30_000,
  ignoreStatic: true,
  reporters: ["clear-text", "progress", "json"],
  // scripts/mutate.mjs gives each group its own report file.
  jsonReporter: { fileName: process.env.MUTATE_REPORT ?? "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
