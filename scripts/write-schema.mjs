// npm run schema: regenerates pki.schema.json from the zod schema (test/cli/ecosystem.test.ts "editor schema" checks it is current).
import { writeFileSync } from "node:fs";
import { pkiJsonSchema } from "../dist/config/json-schema.js";

writeFileSync(new URL("../pki.schema.json", import.meta.url), pkiJsonSchema());
console.log("wrote pki.schema.json");
