// Mutation testing (npm run mutate; not part of npm test): which changes to the logic do the fast unit tests
// notice? Results and the surviving mutants are discussed in docs/MUTATION.md. A full run is slow on two
// cores; scope it with --mutate, e.g. npx stryker run --mutate 'src/config/san.ts,src/config/duration.ts'.
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
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
