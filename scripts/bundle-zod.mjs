// Run by `npm run build` after tsc: bundles dist/config/zod.js (src/config/zod.ts, the parts of zod provision
// uses) into one file. Loading "zod" itself loads every one of its locales (≈50 modules, about half of what
// importing zod costs) whichever entry point is used; bundled with only the exports provision names, zod's own code
// is kept as it is and everything else, locales but English included, is left out (docs/PERFORMANCE.md).
import { readFileSync } from "node:fs";
import { buildSync } from "esbuild";

const file = new URL("../dist/config/zod.js", import.meta.url).pathname;
// zod's MIT licence asks that its notice go with copies of it.
const licence = readFileSync(new URL("../node_modules/zod/LICENSE", import.meta.url), "utf8").trim().split("\n").map((line) => `// ${line}`.trimEnd()).join("\n");
buildSync({ entryPoints: [file], outfile: file, banner: { js: `// zod, bundled by scripts/bundle-zod.mjs from node_modules/zod (src/config/zod.ts says why).\n${licence}` }, allowOverwrite: true, bundle: true, format: "esm", platform: "node", target: "node20", legalComments: "eof", logLevel: "warning" });
