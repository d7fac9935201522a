import path from "node:path";
import { importCertificate } from "../../apply/import.js";
import { loadConfig } from "../../config/load.js";
import { locateInFile } from "../../config/locate.js";
import { ProvisionError } from "../../errors.js";
import { MAX_READ_BYTES, readUserFile } from "../../store/guard.js";
import { loadExternalCas } from "../../store/external.js";
import type { CliOptions } from "../args.js";
import { depsOf, type Io } from "../io.js";
import { runApply } from "./apply.js";

/**
 * `provision import <identity> <cert.pem>`: takes in the certificate an external CA's holder signed for this
 * identity (after checking it), then runs provision so its chain, fullchain and the bundle are written.
 */
export async function runImport(options: CliOptions, io: Io): Promise<number> {
  const [name, file] = options.positionals;
  if (!name || !file) throw new ProvisionError("usage", "import needs an identity and a certificate file", { hint: "usage: provision import <identity> <cert.pem>" });
  const { config: declared } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const { config, externals } = loadExternalCas(declared);
  const absolute = path.resolve(io.cwd, file);
  const text = readUserFile(absolute, MAX_READ_BYTES, file);
  const deps = depsOf(io);
  const result = await importCertificate({ config, externals, name, source: file, text, env: deps.env, now: deps.now(), locate: locateInFile(config) });
  io.stderr(`imported ${file} as ${path.relative(io.cwd, result.certFile)}${result.keyFile ? `, with the pending key of its request as ${path.relative(io.cwd, result.keyFile)} (swapped in together)` : ""}\n`);
  for (const difference of result.differences) io.stderr(`warning: it differs from ${options.file}: ${difference}; the plan asks for a new certificate\n`);
  return runApply({ ...options, command: "apply", positionals: [] }, io);
}
