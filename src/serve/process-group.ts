import { execa } from "execa";
import { onPath } from "../on-path.js";

/** A server process leading its own process group (uwsgi's master and workers, nginx's master and workers). */
export interface GroupProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the leader has exited. */
  readonly exited: Promise<number | null>;
  /** Stops the whole group: SIGTERM each second, SIGKILL after 5 s, then SIGKILL for any straggler. */
  stop(): Promise<void>;
}

/**
 * A shell that leads the group in front of a program whose workers outlive their master (nginx): it runs
 * the program and passes on its exit status; the SIGUSR1 it gets when provision dies (setpriv's
 * --pdeathsig) kills the whole group, workers included. SIGTERM, SIGINT and SIGHUP sent to the group are
 * for the program: the shell waits for it to finish.
 */
const GROUP_GUARD = `trap 'kill -KILL 0' USR1; trap : TERM INT HUP; "$@" & c=$!; while :; do wait $c; s=$?; kill -0 $c 2>/dev/null || exit $s; done`;

/**
 * Starts argv detached, so it leads its own process group: one kill reaches the master and its workers,
 * and a Ctrl-C in the terminal reaches provision only (which stops the group once, cleanly). On Linux it
 * runs under `setpriv --pdeathsig`, so it also goes when provision is killed outright: SIGKILL for uwsgi
 * (not SIGTERM: uwsgi ignores it while it starts, and the signal is sent once; no-orphans takes its workers
 * along), and for a program whose workers would be orphaned (`guardGroup`) the group guard above.
 */
export function startGroup(name: string, argv: readonly string[], env: NodeJS.ProcessEnv, { guardGroup = false } = {}): GroupProcess {
  const guarded = guardGroup ? ["sh", "-c", GROUP_GUARD, "sh", ...argv] : argv;
  const [file, ...args] = process.platform === "linux" && onPath("setpriv", env) ? ["setpriv", "--pdeathsig", guardGroup ? "SIGUSR1" : "SIGKILL", "--", ...guarded] : guarded;
  const child = execa(file!, args, { stdio: "inherit", reject: false, env, extendEnv: false, detached: true, cleanup: false });
  const pid = child.pid ?? 0; // 0: it could not be started, and exited says so
  const killGroup = (signal: NodeJS.Signals) => {
    if (pid === 0) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const exited = child.then((result) => result.exitCode ?? null);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // uwsgi ignores SIGTERM until its master has started: SIGTERM is repeated each second, and SIGKILL
      // after a grace period covers a process that never gets there.
      killGroup("SIGTERM");
      const again = setInterval(() => killGroup("SIGTERM"), 1000);
      const timer = setTimeout(() => killGroup("SIGKILL"), 5000);
      await exited;
      clearInterval(again);
      clearTimeout(timer);
      killGroup("SIGKILL"); // a worker that outlived its master
    })());
  return { name, pid, exited, stop };
}
