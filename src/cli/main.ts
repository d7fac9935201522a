import { createRequire } from "node:module";
import { formatDiagnostic, InternalError, ProvisionError } from "../errors.js";
import { parseCliArgs, type CliOptions } from "./args.js";
import { EXIT, type Io } from "./io.js";

export const HELP = `provision: turn pki.yaml into a private PKI, idempotently

Usage:
  provision [apply] [-f pki.yaml] [--dry-run] [--json] [--now TIME] [--rotate-ca-key CA]... [--prune]
  provision plan    [-f pki.yaml] [--json] [--now TIME]
  provision status  [-f pki.yaml] [--json] [--now TIME] [--within 30d]
  provision exec <server> -- <command...>     run a command with that server's client environment
  provision serve <server> [--engine uwsgi|node]  start the server its launch config describes
  provision init [--dir DIR]                  write a starter pki.yaml
  provision inspect <cert.pem>                summarise a certificate

Options:
  -f, --file FILE        the pki.yaml to use (default ./pki.yaml)
      --dry-run          show the plan, write nothing
      --json             machine-readable output on stdout
      --now TIME         evaluate as if at this ISO-8601 time (rehearse renewals)
      --rotate-ca-key CA replace that CA's key; everything it signed is re-issued
      --prune            delete the files of identities no longer in pki.yaml
      --strict           treat warnings (lifetimes clients refuse) as errors
      --within DURATION  status: exit 2 if anything needs renewal within DURATION
  -h, --help             this help
  -V, --version          print the version

Exit codes:
  0  success; for plan and status --within: nothing to do
  1  error (bad pki.yaml, unreadable key, missing passphrase, lock held, ...); nothing was written
  2  plan / status --within: changes are pending

Examples:
  provision                      create or refresh everything pki.yaml describes
  provision plan --json          what would change, for scripts (exit 2 if anything would)
  provision status --within 30d  is anything due for renewal in the next 30 days?
  provision --rotate-ca-key intermediate
`;

function version(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

async function dispatch(options: CliOptions, io: Io): Promise<number> {
  switch (options.command) {
    case "apply": return (await import("./commands/apply.js")).runApply(options, io);
    case "plan": return (await import("./commands/plan.js")).runPlan(options, io);
    case "status": return (await import("./commands/status.js")).runStatus(options, io);
    case "exec": return (await import("./commands/launch.js")).runExec(options, io);
    case "serve": return (await import("./commands/launch.js")).runServe(options, io);
    case "init": return (await import("./commands/init.js")).runInit(options, io);
    case "help": io.stdout(HELP); return EXIT.ok;
    default: throw new ProvisionError("usage", `provision ${options.command} is not available yet`);
  }
}

/** Runs the CLI in-process and returns the exit code; only bin.ts calls process.exit. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let options: CliOptions | undefined;
  try {
    options = parseCliArgs(argv);
    if (options.help) { io.stdout(HELP); return EXIT.ok; }
    if (options.version) { io.stdout(`${version()}\n`); return EXIT.ok; }
    return await dispatch(options, io);
  } catch (error) {
    return reportError(error, options?.json ?? argv.includes("--json"), io);
  }
}

function reportError(error: unknown, json: boolean, io: Io): number {
  if (error instanceof ProvisionError) {
    if (json) {
      io.stdout(`${JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint ?? null, diagnostics: error.diagnostics } }, null, 2)}\n`);
    } else {
      for (const d of error.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
      io.stderr(`error: ${error.message}\n`);
      if (error.hint) io.stderr(`hint: ${error.hint}\n`);
    }
    return EXIT.error;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const bug = error instanceof InternalError ? "internal error" : "unexpected error";
  if (json) io.stdout(`${JSON.stringify({ error: { code: "internal", message: String((error as Error)?.message ?? error) } })}\n`);
  io.stderr(`${bug}: ${message}\nThis is a bug in provision; please report it with the command you ran.\n`);
  return EXIT.error;
}
