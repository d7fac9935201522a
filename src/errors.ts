/** Where in pki.yaml a problem was found. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
  /** YAML path such as `servers.secret-server.altNames[2]`. */
  path?: string;
}

export interface Diagnostic extends SourceLocation {
  severity: "error" | "warning";
  message: string;
}

/**
 * Every code a ProvisionError can carry: `--json` prints it as `error.code`, so scripts may match on it.
 * The README lists each one with its meaning (a test checks the two agree); add a code there when you add it here.
 */
export const ERROR_CODES = [
  "bad-csr", // sign: the request does not parse, its signature fails, or a name in it is invalid
  "bad-flag", // a flag names something that does not exist (--rotate-ca-key NAME)
  "ca-key-change", // pki.yaml changes a CA's key type, which needs --rotate-ca-key
  "ca-key-mismatch", // a CA's key.pem does not match its cert.pem
  "ca-key-missing", // a CA's key.pem is gone
  "ca-key-unreadable", // a CA's key.pem is not a readable key
  "ca-key-unknown", // a CA's key.pem exists without certificate or record: provision did not make it (--adopt-ca-key)
  "certificate-refused", // import: the certificate is for another key, not signed by the external CA, or expired
  "config-unreadable", // pki.yaml cannot be read (missing, permissions)
  "exec-failed", // provision exec could not start the command
  "exists", // init: pki.yaml already exists
  "export-ca-ambiguous", // export: no --ca, and the servers (or clients) are not issued by exactly one CA
  "export-name", // export: a name cannot become a Kubernetes object name, or two names become the same one
  "export-root-key", // export: the CA is a root; its key is exported only with --ca ROOT --include-root-key
  "export-stale", // export: the CA's files are expired, do not fit together or are not in ca-bundle.pem; run provision first
  "external-ca", // an external CA's files are missing, unreadable, or not a CA chain up to a root
  "fs-error", // a file operation failed; the message names the operation, the file and the cause
  "hook-failed", // an afterChange command failed; the files are committed and the next run retries it
  "invalid-config", // pki.yaml has errors; each is in `diagnostics`
  "key-unreadable", // a private key file does not parse
  "launch-unusable", // serve --engine uwsgi: the output folder's path cannot be written into uwsgi.ini
  "lint", // --strict and pki.yaml has warnings
  "locked", // another run holds the lock
  "needs-root", // trust: the system store needs root
  "not-a-certificate", // inspect: the file holds no certificate that parses
  "not-provisioned", // a command needs files that provision has not written yet
  "outlives-issuer", // sign: the certificate would outlive its CA
  "outside-constraints", // sign: a requested name is outside a CA's name constraints
  "passphrase-missing", // a key is encrypted and its passphrase variable is not set
  "passphrase-wrong", // the passphrase does not decrypt the key
  "pending-key", // csr/import: the pending key of a renewal request (next-key.pem) is a symlink, readable by others, not a key, or not of pki.yaml's key type
  "revoked-identity", // pki.yaml un-revokes an identity, or reuses the name of one that was revoked
  "serve-bind", // serve: the server cannot listen on its address and port
  "serve-needs-nginx", // serve --engine uwsgi: the server checks client certificates, and nginx (its front) is not installed
  "trust-failed", // a trust-store tool (update-ca-certificates, certutil) failed
  "unknown-ca", // trust --ca names no root CA; export --ca names no CA
  "unknown-identity", // csr names no identity
  "unknown-issuer", // sign --issuer names no CA
  "unknown-server", // exec/serve name no server
  "unreadable", // a file provision needs exists but cannot be read
  "unsafe-path", // a read or write would go through a symlink, into a folder others can write to or do not own, or outside the output folder
  "usage", // wrong command-line arguments
] as const;

/** ErrorCode is what `--json` reports as `error.code` (plus `internal` for a bug, which is no ProvisionError). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * ProvisionError is every failure a user can act on: bad input, a missing passphrase, a held lock.
 * Only cli/ prints it and chooses the exit code.
 */
export class ProvisionError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly diagnostics: Diagnostic[];

  constructor(code: ErrorCode, message: string, options: { hint?: string; diagnostics?: Diagnostic[] } = {}) {
    super(message);
    this.name = "ProvisionError";
    this.code = code;
    this.hint = options.hint;
    this.diagnostics = options.diagnostics ?? [];
  }
}

/** InternalError means a bug in provision, never bad input. */
export class InternalError extends Error {
  override readonly name = "InternalError";
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.line, d.col].filter((part) => part !== undefined).join(":");
  const path = d.path ? ` ${d.path}` : "";
  const tag = d.severity === "warning" ? "warning: " : "";
  return `${where}${path}: ${tag}${d.message}`;
}

const ERRNO_WORDS = new Map([
  ["ENOENT", "no such file"],
  ["EACCES", "permission denied"],
  ["EPERM", "operation not permitted"],
  ["EISDIR", "is a folder"],
  ["ENOTDIR", "a path component is not a folder"],
  ["EEXIST", "already exists"],
  ["ENOSPC", "no space left on device"],
  ["EDQUOT", "disk quota exceeded"],
  ["EIO", "input/output error"],
  ["EROFS", "read-only file system"],
  ["ELOOP", "too many symbolic links"],
  ["EMFILE", "too many open files"],
  ["ENAMETOOLONG", "name too long"],
  ["EBUSY", "busy"],
]);

/** A file-system error in words, with its code for searching: `permission denied (EACCES)`. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string") return error instanceof Error ? error.message : String(error);
  const words = ERRNO_WORDS.get(code);
  return words ? `${words} (${code})` : code;
}

/** What was being done to a file, as mkcert says it: `cannot <operation> <file>`. */
export type FsOperation = "read" | "write" | "create" | "remove" | "list" | "copy" | "rename" | "inspect" | "chmod" | "check";

/**
 * fsError turns a raw file-system error into a ProvisionError naming the operation and the file:
 * `cannot read pki/cas/root/key.pem: permission denied (EACCES)`. A ProvisionError passes through unchanged.
 */
export function fsError(
  operation: FsOperation,
  file: string,
  error: unknown,
  options: { code?: ErrorCode; hint?: string } = {},
): ProvisionError {
  if (error instanceof ProvisionError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const hint =
    options.hint ??
    (errno === "EACCES" || errno === "EPERM"
      ? "check the file's permissions and owner"
      : errno === "ENOSPC" || errno === "EDQUOT"
        ? "free some space and run again; files not yet replaced keep their old content"
        : undefined);
  return new ProvisionError(options.code ?? "fs-error", `cannot ${operation} ${file}: ${fsReason(error)}`, { hint });
}

/**
 * withFs runs one file-system call and rethrows its failure through fsError; a Promise result is wrapped too.
 * Use it at every edge that touches the disk: `withFs("read", file, () => readFileSync(file, "utf8"))`.
 */
export function withFs<T>(operation: FsOperation, file: string, run: () => T, options: { code?: ErrorCode; hint?: string } = {}): T {
  let result: T;
  try {
    result = run();
  } catch (error) {
    throw fsError(operation, file, error, options);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw fsError(operation, file, error, options);
    }) as T;
  }
  return result;
}

