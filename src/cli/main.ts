import { createRequire } from "node:module";
import { formatDiagnostic, InternalError, ProvisionError } from "../errors.js";
import { parseCliArgs, type CliOptions } from "./args.js";
import { EXIT, type Io } from "./io.js";

export const HELP = `provision: turn pki.yaml into a private PKI, idempotently

Usage:
  provision [apply] [-f pki.yaml] [--dry-run] [--json] [--now TIME] [--rotate-ca-key CA]... [--prune]
  provision plan    [-f pki.yaml] [--json] [--now TIME]
  provision status  [-f pki.yaml] [--json] [--now TIME] [--within 30d]
  provision watch   [-f pki.yaml]              stay running: apply on every change and renewal
  provision schedule [-f pki.yaml] [--out DIR]  a daily systemd timer and cron line for hosts without CI
  provision acme    [-f pki.yaml]              serve pki.yaml's acme: block as an ACME (RFC 8555) endpoint
  provision exec <server> -- <command...>     run a command with that server's client environment
  provision serve <server> [--engine uwsgi|node]  start the server its launch config describes
  provision init [--dir DIR]                  write a starter pki.yaml
  provision inspect <cert.pem>                summarise a certificate
  provision csr <identity> [--out req.pem]    a CSR for an identity, signed with its local key
  provision sign --csr req.pem --issuer CA --profile server|client [--validity 90d] [--out cert.pem]
  provision import <identity> <cert.pem>      take in a certificate an external CA's holder signed
  provision trust install|uninstall|status [--ca ROOT] [--store system,nss] [--nssdb DIR]
  provision export cert-manager [--namespace NS] [--ca NAME] [--cluster-issuer] [--out FILE]
                                              cert-manager and trust-manager YAML for kubectl apply

Options:
  -f, --file FILE        the pki.yaml to use (default ./pki.yaml)
      --dry-run          show the plan, write nothing
      --json             machine-readable output on stdout
      --now TIME         evaluate as if at this time: 2027-03-01T09:00:00Z, or +30d from now
      --rotate-ca-key CA replace that CA's key; everything it signed is re-issued
      --adopt-ca-key CA  use the key.pem found for that CA although provision has no record of it
      --prune            delete the files of identities no longer in pki.yaml
      --strict           treat warnings (lifetimes clients refuse) as errors
      --within DURATION  status: exit 2 if any renewal falls due within DURATION (by renewBefore)
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

/** Help for each command: `provision <command> --help`. */
export const COMMAND_HELP: Record<string, string> = {
  apply: `provision [apply]: create or refresh everything pki.yaml describes

Usage: provision [apply] [-f pki.yaml] [--dry-run] [--json] [--now TIME] [--rotate-ca-key CA]... [--adopt-ca-key CA]... [--prune] [--strict]

Prints one line per identity (create, reissue, renew, unchanged, orphaned) with the reason, then writes only
what changed. Exit 0 on success, 1 on any error (nothing is written then).

Examples:
  provision                                first run: creates every key and certificate
  provision --dry-run                      show what would change, write nothing
  provision --rotate-ca-key intermediate   new key for that CA; everything below it is re-issued
  provision --prune                        also delete identities removed from pki.yaml
`,
  plan: `provision plan: what a run would do, without doing it

Usage: provision plan [-f pki.yaml] [--json] [--now TIME] [--rotate-ca-key CA]... [--prune] [--strict]

Exit 0 when nothing would change, 2 when changes are pending, 1 on error (like terraform plan -detailed-exitcode).

Examples:
  provision plan --json > plan.json; echo $?
  provision plan --now 2027-06-01T00:00:00Z     rehearse a future night's rotation
`,
  status: `provision status: every identity's certificate, its expiry and state

Usage: provision status [-f pki.yaml] [--json] [--now TIME] [--within DURATION]

States: ok, renew soon, expired, spec changed, missing, orphaned. RENEW FROM is when the renewal window
opens (notAfter minus renewBefore): from then on provision renews the certificate. With --within, exit 2 and
mark "(due)" whatever needs work now or whose renewal window opens within DURATION (30d, 12h, 2w), else 0.
It asks "will provision renew anything in that time?", not "does anything expire in that time?".

Example:
  provision status --within 14d || echo "renewals due"
`,
  exec: `provision exec: run a command as a client of a server

Usage: provision exec <server> -- <command> [args...]

Sets SECRET_URL and the CA bundle (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS), plus
CLIENT_CERT_FILE/CLIENT_KEY_FILE under mTLS, and passes stdio and the exit code through.

Example:
  provision exec secret-server -- python3 client.py
`,
  serve: `provision serve: start a server from its launch config

Usage: provision serve <server> [--engine uwsgi|node]

uwsgi --ini pki/launch/<server>/uwsgi.ini when serve.app is set and uwsgi is installed, else the bundled Node
secret server (answers $SECRET_MESSAGE, default "fluffy tail"). With host localhost it listens on every loopback
address the certificate names (127.0.0.1, ::1). Ctrl-C, SIGTERM or SIGHUP stop it, and so does the exit of the
process that started it (a script that ran it with &); uwsgi goes with it, workers included. A re-issued or
renewed certificate is served without a restart and without dropping a request.
`,
  init: `provision init: write a starter pki.yaml

Usage: provision init [--dir DIR]

The starter has a name-constrained development root, an intermediate and a localhost server. An existing
pki.yaml is never overwritten.
`,
  csr: `provision csr: a certificate request for an identity, signed with its own key

Usage: provision csr <identity> [-f pki.yaml] [--out req.pem] [--new-key]

Uses the identity's key under the output folder, generating it (0600) if it does not exist yet. The subject
and alt names come from pki.yaml. Send the request to whoever holds the CA; the key never leaves this machine.
A renewal under an external CA without its key (rotateKey: always, the default) gets a fresh key in
next-key.pem beside the key and certificate in use, which stay until provision import takes in the signed
certificate; csr again reuses that pending key, --new-key replaces it.
`,
  sign: `provision sign: issue a certificate for someone else's request

Usage: provision sign --csr req.pem --issuer <ca> --profile server|client [--validity 90d] [--out cert.pem]

Checks the request's signature, takes its subject and alt names, checks them against the name constraints of
every CA on the issuer's path, and signs with the CA's key (its passphraseEnv must be set). Not recorded in
state.json: provision does not renew it.

Example:
  provision sign --csr alice.csr --issuer intermediate --profile client --out alice.pem
`,
  import: `provision import: take in a certificate signed by an external CA's holder

Usage: provision import <identity> <cert.pem> [-f pki.yaml]

For an identity whose issuer is an external CA without a key (pki.yaml \`external:\` with no key). The
certificate must belong to the key provision csr made (key.pem, or the pending next-key.pem of a renewal)
and be signed by that CA; otherwise it is refused and nothing is written. For the pending key, key and
certificate are swapped in together (one folder rename). Then provision runs, writing chain.pem, fullchain.pem and the bundle. Copying the file to
the identity's cert.pem and running provision works too: the same checks decide whether it is used.

Example:
  provision import alice alice.pem
`,
  trust: `provision trust: make this machine trust your root CAs (as mkcert -install does)

Usage: provision trust install|uninstall|status [--ca ROOT] [--store system,nss] [--nssdb DIR] [--dry-run] [--json]

Stores: "system" (/usr/local/share/ca-certificates + update-ca-certificates on Debian/Ubuntu, or
/etc/pki/ca-trust/source/anchors + update-ca-trust; needs root) and "nss" (the NSS databases Chromium and
Firefox read: $HOME/.pki/nssdb and Firefox profiles; needs certutil from libnss3-tools). Prints what it will
change first; uninstall removes exactly what install added. Prints the commands for macOS and Windows.

Examples:
  provision trust install --store nss        only your browsers, no root needed
  provision trust status --json
`,
  watch: `provision watch: keep the PKI current while it runs

Usage: provision watch [-f pki.yaml]

Applies now, then again whenever pki.yaml or a file in the output folder changes (debounced) and whenever a
certificate enters its renewal window: it sleeps until then, it does not poll. A bad edit prints its located
errors and the last good files stay in place. afterChange hooks run as in provision apply; failed ones are
retried with a growing delay. One watch per output folder. SIGINT or SIGTERM end it (exit 0) after the run
in progress.

Example:
  provision watch &        # in a dev container, beside provision serve
`,
  schedule: `provision schedule: renew daily on a host without CI

Usage: provision schedule [-f pki.yaml] [--out DIR]

Writes provision.service and provision.timer (systemd: daily, randomized delay of up to an hour, catches up
after downtime) and provision.cron (the same as one crontab line) into DIR (default <output>/schedule), each
running provision apply -f <pki.yaml> with its afterChange hooks, and prints how to install them.

Examples:
  provision schedule && sudo cp pki/schedule/provision.service pki/schedule/provision.timer /etc/systemd/system/
  provision schedule --out ~/units
`,
  export: `provision export cert-manager: hand pki.yaml to cert-manager and trust-manager

Usage: provision export cert-manager [-f pki.yaml] [-n|--namespace NS] [--ca NAME] [--cluster-issuer]
                                     [--include-root-key] [-o|--out FILE]

Writes YAML for kubectl apply (stdout, or FILE written 0600): a kubernetes.io/tls Secret with the CA's
certificate and key (and the root as ca.crt), an Issuer (or ClusterIssuer) of type CA over it, a Certificate
per server and client that CA issues (names, lifetime, renewal window, key type and rotation as in pki.yaml)
and a trust-manager Bundle that puts the roots of ca-bundle.pem into ConfigMap provision-ca-bundle
(key ca-bundle.pem) in every namespace. What cert-manager cannot express is listed on stderr, per identity.

The CA is the one that issues the servers unless --ca names another. A root's key is exported only when
--ca names the root and --include-root-key confirms it. An encrypted CA key needs its passphraseEnv set.
With --cluster-issuer the Secret goes into namespace cert-manager (cert-manager's cluster resource namespace).

Examples:
  provision export cert-manager --namespace web | kubectl apply -f -
  provision export cert-manager --cluster-issuer --out cert-manager.yaml
`,
  acme: `provision acme: an ACME endpoint (RFC 8555) that issues from a CA of pki.yaml

Usage: provision acme [-f pki.yaml]

Serves the acme: block of pki.yaml over HTTPS at https://<listen>/directory (default 127.0.0.1:14000), so
certbot, lego, Caddy, Traefik or cert-manager get certificates from the dev CA as they would in production.
Issues only for names in acme.allow that are within the CA's name constraints, after an http-01 or
tls-alpn-01 challenge. Accounts, orders and certificates are kept in <output>/acme; a restart continues
pending orders. Point clients at <output>/ca-bundle.pem to trust the endpoint. SIGINT or SIGTERM stop it.

Example:
  provision acme &
  lego --server https://127.0.0.1:14000/directory --email a@b.test -d web.test --http run
`,
  inspect: `provision inspect: summarise certificates

Usage: provision inspect <file.pem> [--json]

Subject, issuer, names, validity, key, usages, constraints, serial and SHA-256 fingerprint of every
certificate in the file.
`,
};

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
    case "inspect": return (await import("./commands/inspect.js")).runInspect(options, io);
    case "csr": return (await import("./commands/csr.js")).runCsr(options, io);
    case "sign": return (await import("./commands/csr.js")).runSign(options, io);
    case "import": return (await import("./commands/import.js")).runImport(options, io);
    case "trust": return (await import("./commands/trust.js")).runTrust(options, io);
    case "export": return (await import("./commands/export.js")).runExport(options, io);
    case "watch": return (await import("./commands/watch.js")).runWatch(options, io);
    case "schedule": return (await import("./commands/schedule.js")).runSchedule(options, io);
    case "acme": return (await import("./commands/acme.js")).runAcme(options, io);
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
    if (options.help) { io.stdout(COMMAND_HELP[options.command] && argv.some((a) => a === options!.command) ? COMMAND_HELP[options.command]! : HELP); return EXIT.ok; }
    if (options.version) { io.stdout(`${version()}\n`); return EXIT.ok; }
    return await dispatch(options, io);
  } catch (error) {
    return reportError(error, options?.json ?? argv.includes("--json"), io);
  }
}

/** Prints an error for people (or as JSON) and returns the exit code; `provision watch` reports failed runs with it too. */
export function reportError(error: unknown, json: boolean, io: Io): number {
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
