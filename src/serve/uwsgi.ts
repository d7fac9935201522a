import { mkdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { ProvisionError, withFs } from "../errors.js";
import { onPath } from "../on-path.js";
import { hostForUrl, type LaunchFacts } from "../render/launch-facts.js";
import { startGroup, type GroupProcess } from "./process-group.js";
import { watchFiles } from "./watch-files.js";

export interface ServeIo {
  env: NodeJS.ProcessEnv;
  stderr: (text: string) => void;
}

/** The arguments every nginx call gets: its own config, errors on stderr (never the system nginx or its log). */
function nginxArgs(front: NonNullable<LaunchFacts["front"]>): string[] {
  return ["-e", "stderr", "-c", front.conf];
}

/** As root, nginx would run its workers as nobody, who cannot reach the socket or the temp folders. */
function rootUser(): string[] {
  return process.getuid?.() === 0 ? ["-g", "user root;"] : [];
}

/**
 * Runs uwsgi with the rendered ini until `stopped` resolves or uwsgi exits. A server that checks client
 * certificates gets nginx in front (nginx-front.conf: TLS, client certificates, CRLs), reloaded with
 * `nginx -s reload` 200 ms after its certificate, key, client-ca.pem or crl-bundle.pem changes; nginx's
 * reload is graceful (old workers finish their requests, the listening sockets stay). uwsgi alone reloads
 * itself (touch-reload in the ini). Returns the exit code for provision serve.
 */
export async function serveWithUwsgi(facts: LaunchFacts, io: ServeIo, stopped: Promise<string>): Promise<number> {
  const ini = path.join(facts.dir, "uwsgi.ini");
  const front = facts.front;
  if (front && !onPath("nginx", io.env)) {
    throw new ProvisionError("serve-needs-nginx", `${facts.server} checks client certificates, and uwsgi cannot check them against the CRLs: nginx is needed in front of it, and is not installed`, {
      hint: "install nginx (Debian: apt-get install nginx-light), or use --engine node (it checks the CRLs itself)",
    });
  }
  const listening = facts.bind.map((a) => `${hostForUrl(a)}:${facts.port}`).join(", ");
  const processes: GroupProcess[] = [];
  let stopWatching = () => {};
  try {
    if (front) {
      // Its pid, temp files and uwsgi's socket; only the user running serve may reach the socket.
      withFs("create", front.runDir, () => mkdirSync(front.runDir, { recursive: true, mode: 0o700 }));
      io.stderr(`starting uwsgi --ini ${ini} (on ${front.socket}) behind nginx -c ${front.conf} (${listening}; ${facts.url})\n`);
      processes.push(startGroup("uwsgi", ["uwsgi", "--ini", ini], io.env));
      // As root, nginx would run its workers as nobody, who cannot reach the socket or the temp folders:
      // they run as the user that runs provision serve, as uwsgi does.
      const user = rootUser();
      processes.push(startGroup("nginx", ["nginx", ...nginxArgs(front), ...user], io.env, { guardGroup: true }));
      stopWatching = watchFiles([facts.files.cert, facts.files.key, facts.files.clientCa!, ...(facts.files.crl ? [facts.files.crl] : [])], () => void reloadNginx(front, io));
    } else {
      io.stderr(`starting uwsgi --ini ${ini} (${listening}; ${facts.url})\n`);
      processes.push(startGroup("uwsgi", ["uwsgi", "--ini", ini], io.env));
    }
    const ended = Promise.race(processes.map((p) => p.exited.then((code) => ({ name: p.name, code }))));
    const reason = await Promise.race([stopped, ended]);
    if (typeof reason !== "string") {
      io.stderr(`${reason.name} exited (${reason.code ?? "killed"}); stopping the rest\n`);
      return reason.code ?? 1;
    }
    io.stderr(`stopping ${processes.map((p) => p.name).join(" and ")} (${reason})\n`);
    return 0;
  } finally {
    stopWatching();
    await Promise.all(processes.map((p) => p.stop()));
  }
}

/**
 * `nginx -t` on the new files, then `nginx -s reload` with the front's own config (so its own pid file). The
 * reload only sends a signal, and a master that cannot load the new certificate, key or CRL keeps its old
 * workers without a word to us: so the files are tested first, and a rejection is reported as an error with
 * nginx's own message (nginx goes on serving the old files). "nginx reloaded" means nginx accepted them.
 */
async function reloadNginx(front: NonNullable<LaunchFacts["front"]>, io: ServeIo): Promise<void> {
  const test = await execa("nginx", [...nginxArgs(front), ...rootUser(), "-t", "-q"], { reject: false, env: io.env, extendEnv: false, all: true });
  if (test.exitCode !== 0) {
    io.stderr(`error: nginx rejects the changed certificate, key or CRL, and keeps serving the old ones: ${(test.all ?? "").trim()}\n`);
    return;
  }
  const run = await execa("nginx", [...nginxArgs(front), "-s", "reload"], { reject: false, env: io.env, extendEnv: false, all: true });
  io.stderr(run.exitCode === 0 ? "certificate or CRL changed: nginx reloaded\n" : `error: nginx -s reload failed (nginx keeps its old config): ${(run.all ?? "").trim()}\n`);
}
