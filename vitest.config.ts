import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    {
      // Vitest writes a missing snapshot or golden file and passes, unless CI is set. Here a missing golden
      // fails wherever the suite runs; only `vitest -u` writes them (updateSnapshot "all").
      name: "strict-snapshots",
      configureVitest({ vitest }) {
        const options = vitest.config.snapshotOptions;
        if (options.updateSnapshot === "new") options.updateSnapshot = "none";
      },
    },
  ],
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Certificate work is CPU-bound (RSA keygen); two workers match the two cores here.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
