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
 * ProvisionError is every failure a user can act on: bad input, a missing passphrase, a held lock.
 * Only cli/ prints it and chooses the exit code.
 */
export class ProvisionError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly diagnostics: Diagnostic[];

  constructor(code: string, message: string, options: { hint?: string; diagnostics?: Diagnostic[] } = {}) {
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

/** A file-system error in words: "no such file" for ENOENT, else its code. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" ? "no such file" : (code ?? String(error));
}
