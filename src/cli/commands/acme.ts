import path from "node:path";
import { startAcme } from "../../acme/run.js";
import { loadConfig } from "../../config/load.js";
import { hookFailure } from "../../apply/hooks.js";
import { applyConfig } from "../../apply/run.js";
import type { RevokeRequest } from "../../plan/types.js";
import { ProvisionError } from "../../errors.js";
import { bundlePath } from "../../store/layout.js";
import type { CliOptions } from "../args.js";
import { depsOf, EXIT, type Io } from "../io.js";

/** `provision acme`: serve pki.yaml's acme: block until SIGINT or SIGTERM. */
export async function runAcme(options: CliOptions, io: Io, stop?: AbortSignal): Promise<number> {
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  if (!config.acme) {
    throw new ProvisionError("usage", `${options.file} has no acme: block`, { hint: "add one (acme: { ca: intermediate, allow: [.test] }); see the README's \"Using the ACME endpoint\"" });
  }
  const log = (line: string) => io.stderr(`${line}\n`);
  // A revocation is one provision run on pki.yaml as it is now (not as it was when the endpoint started, which
  // could undo a later edit): it records the serial and re-signs the CRLs, and applies whatever else that
  // pki.yaml asks for, as \`provision\` would.
  const publishRevocation = async (request: RevokeRequest) => {
    const current = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
    const run = await applyConfig(current.config, { deps: depsOf(io), revokeSerials: [request], hookOutput: log });
    const failed = hookFailure(run.hooks);
    if (failed) log(`acme: ${failed.message}`);
  };
  const running = await startAcme(config, config.acme, { env: io.env, log, publishRevocation, ...(io.deps?.now ? { now: io.deps.now } : {}) });
  io.stdout(`ACME directory: ${running.directoryUrl}\n`);
  io.stdout(`trust: ${path.relative(io.cwd, bundlePath(config.outputDir)) || bundlePath(config.outputDir)}\n`);
  const stopper = new AbortController();
  const signal = stop ?? stopper.signal;
  const onSignal = () => stopper.abort();
  if (!stop) for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(name, onSignal);
  try {
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  } finally {
    for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(name, onSignal);
    await running.close();
  }
  io.stderr("acme: stopped\n");
  return EXIT.ok;
}
