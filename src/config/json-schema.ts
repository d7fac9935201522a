import * as z from "./zod.js";
import { pkiSchema } from "./schema.js";

/** The JSON Schema of pki.yaml, generated from the zod schema, for editors (yaml-language-server). */
export function pkiJsonSchema(): string {
  const schema = z.toJSONSchema(pkiSchema, { io: "input", unrepresentable: "any" });
  return `${JSON.stringify({ ...schema, title: "provision pki.yaml", $id: "https://provision.dev/pki.schema.json" }, null, 2)}\n`;
}
