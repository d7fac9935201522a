import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { loadConfig } from "../../config/load.js";
import { ProvisionError } from "../../errors.js";
import { clientEnvironment, hostForUrl, launchFacts, type LaunchFacts } from "../../render/launch-facts.js";
import { unrenderableLaunchFiles } from "../../render/launch.js";
import type { CliOptions } from "../args.js";
import { onPath } from "../../on-path.js";
import { serveWithUwsgi } from "../../serve/uwsgi.js";
import { EXIT, type Io } from "../io.js";

async function factsFor(options: CliOptions, io: Io, usage: string, needs: (facts: LaunchFacts) => string[] = () => []): Promise<LaunchFacts> {
  const server = options.positionals[0];
  if (!server) throw new ProvisionError("usage", `missing server name`, { hint: `usage: ${usage}` });
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const facts = launchFacts(config, server);
  for (const file of [facts.files.caBundle, facts.files.cert, path.join(facts.dir, "launch.json"), ...needs(facts)]) {
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

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Resolves when `provision serve` should stop its server: on SIGINT, SIGTERM or SIGHUP, or when its
 * parent process dies (a script's `npx provision serve … &` whose npx is killed, a closed terminal):
 * the parent pid is polled, since a reparented process gets a new one.
 */
function stopRequested(): { stopped: Promise<string>; dispose: () => void } {
  const parent = process.ppid;
  let dispose = () => {};
  const stopped = new Promise<string>((resolve) => {
    const handlers = STOP_SIGNALS.map((signal) => [signal, () => resolve(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const poll = setInterval(() => process.ppid !== parent && resolve("parent exited"), 500);
    dispose = () => {
      clearInterval(poll);
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  });
  return { stopped, dispose };
}

/**
 * `provision serve <server>`: uwsgi with the rendered ini when serve.app is set and uwsgi is installed
 * (behind the nginx front when the server checks client certificates, if nginx is installed), otherwise
 * the bundled Node secret server. The server stops when provision is told to stop (SIGINT, SIGTERM,
 * SIGHUP) or its parent dies (src/serve/process-group.ts).
 */
export async function runServe(options: CliOptions, io: Io): Promise<number> {
  // A server that checks client certificates checks them against the CRLs too.
  const facts = await factsFor(options, io, "provision serve <server>", (f) => (f.files.crl ? [f.files.crl] : []));
  const problem = unrenderableLaunchFiles(facts).find((f) => f.file === "uwsgi.ini" || f.file === "nginx-front.conf");
  const frontReady = facts.front === null || onPath("nginx", io.env);
  const engine = options.engine ?? (facts.app && !problem && frontReady && onPath("uwsgi", io.env) ? "uwsgi" : "node");
  const stop = stopRequested();
  try {
    if (engine === "uwsgi") {
      if (!facts.app) throw new ProvisionError("usage", `server ${facts.server} has no serve.app in ${options.file}, so uwsgi has nothing to run`, { hint: "add serve: { app: module:callable } or use --engine node" });
      if (problem) throw new ProvisionError("launch-unusable", `${problem.file} of ${facts.server} cannot be used: ${problem.reason}`, { hint: "use --engine node, or move the output folder to a path without those characters" });
      return await serveWithUwsgi(facts, { env: io.env, stderr: io.stderr }, stop.stopped);
    }
    return await serveWithNode(facts, io, stop.stopped);
  } finally {
    stop.dispose();
  }
}

async function serveWithNode(facts: LaunchFacts, io: Io, stopped: Promise<string>): Promise<number> {
  const { startNodeSecretServer } = await import("../../serve/node-server.js");
  let server;
  try {
    server = await startNodeSecretServer(facts, io.env.SECRET_MESSAGE ?? "fluffy tail");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EACCES") {
      const what = code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "permission denied" : "the address is not available on this machine";
      throw new ProvisionError("serve-bind", `cannot listen on ${facts.bind.map((a) => `${hostForUrl(a)}:${facts.port}`).join(", ")}: ${what}`, { hint: "stop what holds it, or set another serve.port / serve.host in pki.yaml" });
    }
    throw error;
  }
  io.stderr(`secret server (node) listening on ${facts.bind.map((a) => `${hostForUrl(a)}:${facts.port}`).join(", ")} (${facts.url}); Ctrl-C stops it\n`);
  await stopped;
  await server.close();
  return EXIT.ok;
}
