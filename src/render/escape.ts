// One escaper per rendered format. Every value written into a launch file goes through the escaper of
// that file's format, even values the config grammar already restricts (host, app, port): the output
// folder's path is not restricted, and may hold spaces, quotes, `$`, backticks or newlines.

/** A value the format cannot represent; the renderer writes an explanation instead of the file. */
export class Unrepresentable extends Error {
  constructor(readonly format: string, readonly value: string, readonly reason: string) {
    super(`${format} cannot hold ${JSON.stringify(value)}: ${reason}`);
  }
}

/**
 * POSIX sh: a word that `sh`, `bash` and `dash` read back verbatim. Single quotes stop every expansion
 * (`$`, backticks, `\`); a single quote itself is closed, escaped and reopened. Plain words stay bare.
 */
export function shWord(value: string): string {
  if (/^[A-Za-z0-9_./:@+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A quoted string in curl's config file (`-K`): inside double quotes curl reads \\ \" \t \n \r \v as
 * escapes, so a newline cannot start a new option.
 */
export function curlrcString(value: string): string {
  const escaped = value.replace(/[\\"\t\n\r\v]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\v": "\\v" })[c]!);
  return `"${escaped}"`;
}

/**
 * A double-quoted nginx parameter: nginx unescapes \" \\ \t \r \n in quoted strings. A `$` cannot be
 * escaped (ssl_certificate and ssl_certificate_key take variables), so it is refused. Plain words stay bare.
 */
export function nginxString(value: string): string {
  if (value.includes("$")) throw new Unrepresentable("nginx.conf", value, `"$" starts an nginx variable and cannot be escaped`);
  if (/^[A-Za-z0-9_./:*[\]-]+$/.test(value)) return value;
  const escaped = value.replace(/[\\"\t\n\r]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!);
  return `"${escaped}"`;
}

/**
 * Text that uwsgi's ini reader keeps as written inside one option value. uwsgi has no quoting: it
 * replaces %x (magic variables, %% for a literal %) in the whole file before splitting lines, so a
 * newline in an expanded %d would start a new option; then it expands $(ENV), @(file) and %(option) in
 * every value. `literal` is our own text (its % are doubled); `expanded` is what %d stands for (the
 * ini's folder), checked but not escaped since uwsgi does not rescan it.
 */
export function checkUwsgiValue(value: string, { literal, commaSeparated }: { literal: boolean; commaSeparated: boolean }): string {
  const problem = /[\n\r\0]/.test(value)
    ? "a line break would start a new uwsgi option"
    : /[$@%]\(/.test(value)
      ? "uwsgi expands $(…), @(…) and %(…) in option values (environment, file contents, options)"
      : commaSeparated && value.includes(",")
        ? "uwsgi's https-socket option is comma-separated"
        : /^\s|\s$/.test(value)
          ? "uwsgi strips spaces at the ends of a value"
          : null;
  if (problem) throw new Unrepresentable("uwsgi.ini", value, problem);
  return literal ? value.replace(/%/g, "%%") : value;
}

/**
 * A unix socket path that both uwsgi and nginx read back whole: uwsgi cuts a socket path at 102 bytes
 * (core/socket.c) and takes any name with a ":" for host:port; nginx ends a `unix:` path at its first ":".
 */
export function unixSocketPath(value: string, format: string): string {
  if (Buffer.byteLength(value) > 102) throw new Unrepresentable(format, value, "a unix socket path longer than 102 bytes is cut short by uwsgi");
  if (value.includes(":")) throw new Unrepresentable(format, value, `a ":" in a unix socket path makes uwsgi and nginx read it as an address`);
  return value;
}

/** A comment line's text with line breaks shown as \n, so no comment can end early and start a directive. */
export function commentText(value: string): string {
  return value.replace(/[\r\n\0]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * One argument of a systemd ExecStart= line. systemd splits on spaces honouring double quotes (with C
 * escapes inside), expands `%` specifiers and `$VAR`: `%%` and `$$` keep them literal. A line break cannot
 * be written in a unit file.
 */
export function systemdArg(value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Unrepresentable("systemd unit", value, "a line break cannot be written in a unit file");
  const literal = value.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_./:@+,=-]+$/.test(literal)) return literal;
  return `"${literal.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A systemd setting's value that is a path (WorkingDirectory=): specifiers are doubled; no quoting exists. */
export function systemdPath(value: string): string {
  if (/[\n\r\0]/.test(value) || /^\s|\s$/.test(value)) throw new Unrepresentable("systemd unit", value, "a path with a line break or surrounding spaces cannot be written there");
  return value.replace(/%/g, "%%");
}

/** A crontab command: a shell line in which cron turns an unescaped `%` into a line break. */
export function cronCommand(words: readonly string[]): string {
  const line = words.join(" ");
  if (/[\n\r\0]/.test(line)) throw new Unrepresentable("crontab", line, "a line break would end the cron entry");
  return line.replace(/%/g, "\\%");
}
