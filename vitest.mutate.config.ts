import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// The tests Stryker runs against each mutant: the in-process unit tests that import src/ directly (the
// scenario tests run the built dist/ CLI, which a mutant of src/ does not reach).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/config/**/*.test.ts", "test/x509.test.ts", "test/sign/**/*.test.ts", "test/plan/**/*.test.ts"],
    reporters: ["default"],
  },
});
