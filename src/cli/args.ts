import { parseArgs, type ParseArgsConfig } from "node:util";
import { closest } from "../suggest.js";
import { ProvisionError } from "../errors.js";
import { parseNow, type NowOption } from "./now.js";

export const COMMANDS = ["apply", "plan", "status", "exec", "serve", "init", "inspect", "csr", "sign", "import", "trust", "export", "watch", "schedule", "acme", "help"] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CliOptions {
  command: CommandName;
  file: string;
  json: boolean;
  dryRun: boolean;
  /** --now: a fixed time or an offset from the clock; resolve it with resolveNow(). */
  now: NowOption | null;
  rotateCaKeys: string[];
  /** CAs whose existing key.pem (without a certificate or record) the user says is theirs. */
  adoptCaKeys: string[];
  prune: boolean;
  /** Treat lint warnings (lifetimes clients refuse) as errors. */
  strict: boolean;
  within: string | null;
  help: boolean;
  version: boolean;
  dir: string | null;
  engine: "uwsgi" | "node" | null;
  out: string | null;
  csr: string | null;
  issuer: string | null;
  profile: string | null;
  validity: string | null;
  ca: string | null;
  store: string | null;
  nssdb: string | null;
  /** export: the namespace of the Issuer and Certificates. */
  namespace: string | null;
  clusterIssuer: boolean;
  includeRootKey: boolean;
  /** csr: replace a pending renewal key with a fresh one. */
  newKey: boolean;
  positionals: string[];
  /** Everything after `--` (for exec). */
  rest: string[];
}

const COMMON = ["file", "json", "now", "help", "version"];
const PLANNING = [...COMMON, "rotate-ca-key", "adopt-ca-key", "prune", "strict"];
/** Which options each command takes; anything else is an error rather than silently ignored. */
const ALLOWED: Record<CommandName, readonly string[]> = {
  apply: [...PLANNING, "dry-run"],
  plan: PLANNING,
  status: [...COMMON, "within", "strict"],
  exec: ["file", "help"],
  serve: ["file", "help", "engine"],
  init: ["dir", "help"],
  inspect: ["json", "now", "help"],
  csr: ["file", "out", "new-key", "help"],
  sign: ["file", "csr", "issuer", "profile", "validity", "out", "now", "help"],
  import: ["file", "help"],
  trust: ["file", "json", "ca", "store", "nssdb", "dry-run", "help"],
  export: ["file", "namespace", "ca", "cluster-issuer", "include-root-key", "out", "help"],
  watch: ["file", "help"],
  schedule: ["file", "out", "help"],
  acme: ["file", "help"],
  help: ["help", "version"],
};

const OPTIONS = {
  file: { type: "string", short: "f" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  now: { type: "string" },
  "rotate-ca-key": { type: "string", multiple: true },
  "adopt-ca-key": { type: "string", multiple: true },
  prune: { type: "boolean" },
  strict: { type: "boolean" },
  within: { type: "string" },
  dir: { type: "string" },
  engine: { type: "string" },
  out: { type: "string", short: "o" },
  csr: { type: "string" },
  issuer: { type: "string" },
  profile: { type: "string" },
  validity: { type: "string" },
  ca: { type: "string" },
  store: { type: "string" },
  nssdb: { type: "string" },
  namespace: { type: "string", short: "n" },
  "cluster-issuer": { type: "boolean" },
  "include-root-key": { type: "boolean" },
  "new-key": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const satisfies ParseArgsConfig["options"];

/** parseArgs's errors in our words (its own text quotes unevenly and suggests `--` for a typo). */
function usageError(error: Error & { code?: string }): ProvisionError {
  const hint = "run provision --help for the options";
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) {
    const typed = unknown[1]!;
    const guess = typed.startsWith("--") ? closest(typed.slice(2).split("=")[0]!, Object.keys(OPTIONS)) : undefined;
    return new ProvisionError("usage", `unknown option ${typed}${guess ? `; did you mean --${guess}?` : ""}`, { hint });
  }
  const option = /^Option '(?:-\w, )?(--[\w-]+)/.exec(error.message)?.[1];
  if (option && /argument missing/.test(error.message)) return new ProvisionError("usage", `${option} needs a value`, { hint });
  if (option && /does not take an argument/.test(error.message)) return new ProvisionError("usage", `${option} takes no value`, { hint });
  return new ProvisionError("usage", error.message.split("\n")[0]!, { hint });
}

/** Parses argv (without node and the script). Unknown options are errors, as in every strict CLI. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const dashDash = argv.indexOf("--");
  const own = dashDash === -1 ? [...argv] : argv.slice(0, dashDash);
  const rest = dashDash === -1 ? [] : argv.slice(dashDash + 1);
  let parsed;
  try {
    parsed = parseArgs({ args: own, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw usageError(error as Error & { code?: string });
  }
  const { values, positionals } = parsed;
  // A NUL cannot reach argv from a shell, but can from a program calling main(): no path may hold one.
  for (const [option, value] of Object.entries(values)) {
    for (const text of [value].flat()) {
      if (typeof text === "string" && text.includes("\0")) throw new ProvisionError("usage", `--${option}: the value contains a NUL character`);
    }
  }
  for (const text of [...positionals, ...rest]) {
    if (text.includes("\0")) throw new ProvisionError("usage", `argument ${JSON.stringify(text)} contains a NUL character`);
  }
  let command: CommandName = "apply";
  if (positionals.length && (COMMANDS as readonly string[]).includes(positionals[0]!)) command = positionals.shift() as CommandName;
  else if (positionals.length) {
    const guess = closest(positionals[0]!, COMMANDS);
    throw new ProvisionError("usage", `unknown command "${positionals[0]}"${guess ? `; did you mean ${guess}?` : ""}`, { hint: `commands: ${COMMANDS.join(", ")}` });
  }
  for (const option of Object.keys(values)) {
    if (!ALLOWED[command].includes(option)) {
      throw new ProvisionError("usage", `--${option} does not apply to provision ${command}`, { hint: `run provision ${command} --help for its options` });
    }
  }
  const now = values.now === undefined ? null : parseNow(values.now);
  if (values.engine !== undefined && values.engine !== "uwsgi" && values.engine !== "node") {
    throw new ProvisionError("usage", `--engine ${values.engine}: expected uwsgi or node`);
  }
  return {
    command,
    engine: (values.engine as "uwsgi" | "node" | undefined) ?? null,
    out: values.out ?? null,
    csr: values.csr ?? null,
    issuer: values.issuer ?? null,
    profile: values.profile ?? null,
    validity: values.validity ?? null,
    ca: values.ca ?? null,
    store: values.store ?? null,
    nssdb: values.nssdb ?? null,
    namespace: values.namespace ?? null,
    clusterIssuer: values["cluster-issuer"] ?? false,
    includeRootKey: values["include-root-key"] ?? false,
    newKey: values["new-key"] ?? false,
    file: values.file ?? "pki.yaml",
    json: values.json ?? false,
    dryRun: values["dry-run"] ?? false,
    now,
    rotateCaKeys: values["rotate-ca-key"] ?? [],
    adoptCaKeys: values["adopt-ca-key"] ?? [],
    prune: values.prune ?? false,
    strict: values.strict ?? false,
    within: values.within ?? null,
    help: values.help ?? false,
    version: values.version ?? false,
    dir: values.dir ?? null,
    positionals,
    rest,
  };
}
