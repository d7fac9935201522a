// Preloaded into a provision run (`node --import log-modules.mjs dist/cli/bin.js`) by the start-up tests: writes
// every module the run loaded, one path a line, to $LOG_MODULES_FILE when the process exits: ES modules as the
// resolve hook sees them, CommonJS ones (node-forge, loaded with createRequire) from require's cache. Test-only.
import { appendFileSync, writeFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const file = process.env.LOG_MODULES_FILE;
if (!file) throw new Error("log-modules.mjs needs LOG_MODULES_FILE");
writeFileSync(file, "");
register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from "node:fs";
    import { fileURLToPath } from "node:url";
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      if (result.url.startsWith("file:")) appendFileSync(${JSON.stringify(file)}, fileURLToPath(result.url) + "\\n");
      return result;
    }`)}`,
);
process.on("exit", () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  appendFileSync(file, cjs.map((p) => `${p}\n`).join(""));
});
