/**
 * The parts of zod that provision uses, and the only module that imports "zod". Every entry point of zod (zod,
 * zod/mini, zod/v4/core) imports its ≈50 locale modules, about half of what loading zod costs; the build bundles
 * this module with exactly these exports (scripts/bundle-zod.mjs), so a run that validates loads one file and
 * English messages only. Validation and messages are zod's own code, unchanged.
 */
export {
  array,
  boolean,
  custom,
  enum,
  literal,
  NEVER,
  number,
  record,
  registry,
  strictObject,
  string,
  toJSONSchema,
  union,
  unknown,
  url,
  ZodDefault,
  ZodError,
  ZodNullable,
  ZodObject,
  ZodOptional,
  ZodRecord,
  ZodString,
  ZodType,
} from "zod";
export type { core, infer, input, RefinementCtx } from "zod";
