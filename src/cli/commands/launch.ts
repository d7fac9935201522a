import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { loadConfig } from "../../config/load.js";
import { ProvisionError } from "../../errors.js";
import { clientEnvironment, launchFacts, type LaunchFacts } from "../../render/launch-facts.js";
import type { CliOptions } from "../args.js";
import { onPath } from "../../on-path.js";
import { EXIT, type Io } from "../io.js";

async function factsFor(options: CliOptions, io: Io, usage: string): Promise<LaunchFacts> {
  const server = options.positionals[0];
  if (!server) throw new ProvisionError("usage", `missing server name`, { hint: `usage: ${usage}` });
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const facts = launchFacts(config, server);
  for (const file of [facts.files.caBundle, facts.files.cert, path.join(facts.dir, "launch.json")]) {
    if (!existsSync(file)) {
      throw new ProvisionError("not-provisioned", `${path.relative(io.cwd, file)} does not exist yet`, { hint: `run provision${options.file === "pki.yaml" ? "" : ` -f ${options.file}`} first` });
    }
  }
  return facts;
}

/** `provision exec <server> -- <command…>`: runs the command with that server's client environment. */
export async function runExec(options: CliOptions, io: Io): Promise<number> {
  const usage = "provision exec <server> -- <command> [args...]";
  const facts = await factsFor(options, io, usage);
  const command = options.rest.length ? options.rest : options.positionals.slice(1);
  if (command.length === 0) throw new ProvisionError("usage", "no command to run", { hint: `usage: ${usage}` });
  const child = await execa(command[0]!, command.slice(1), {
    cwd: io.cwd,
    env: { ...io.env, ...clientEnvironment(facts) },
    extendEnv: false,
    stdio: "inherit",
    reject: false,
  });
  if (child.failed && child.exitCode === undefined && child.signal === undefined) {
    throw new ProvisionError("exec-failed", `cannot run ${command[0]}: ${child.code ?? child.shortMessage}`, { hint: "check that the command exists and is on PATH" });
  }
  return child.exitCode ?? 1;
}

/**
 * `provision serve <server>`: uwsgi with the rendered ini when serve.app is set and uwsgi is installed,
 * otherwise the bundled Node secret server. Stops cleanly on Ctrl-C or SIGTERM.
 */
export async function runServe(options: CliOptions, io: Io): Promise<number> {
  const facts = await factsFor(options, io, "provision serve <server>");
  const engine = options.engine ?? (facts.app && onPath("uwsgi", io.env) ? "uwsgi" : "node");
  if (engine === "uwsgi") {
    if (!facts.app) throw new ProvisionError("usage", `server ${facts.server} has no serve.app in ${options.file}, so uwsgi has nothing to run`, { hint: "add serve: { app: module:callable } or use --engine node" });
    io.stderr(`starting uwsgi --ini ${path.join(facts.dir, "uwsgi.ini")} (${facts.url})\n`);
    const child = execa("uwsgi", ["--ini", path.join(facts.dir, "uwsgi.ini")], { stdio: "inherit", reject: false, env: io.env, extendEnv: false });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    try {
      const result = await child;
      return result.signal === "SIGINT" || result.signal === "SIGTERM" ? EXIT.ok : (result.exitCode ?? EXIT.error);
    } finally {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    }
  }
  const { startNodeSecretServer } = await import("../../serve/node-server.js");
  const server = await startNodeSecretServer(facts, io.env.SECRET_MESSAGE ?? "fluffy tail");
  io.stderr(`secret server (node) listening on ${facts.url}; Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return EXIT.ok;
}
