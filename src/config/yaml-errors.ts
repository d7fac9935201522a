import type { LineCounter, YAMLError } from "yaml";
import type { Diagnostic } from "../errors.js";

/**
 * The YAML library's syntax errors in a user's terms, on the line where the mistake is. The parser often notices
 * a mistake one line late (an over-indented key is reported on the line above it, an unclosed `[` where the next
 * key starts), and reports one tab per line; this reads the text around each error to name the real line once.
 */
export function yamlSyntaxDiagnostics(errors: readonly YAMLError[], text: string, lineCounter: LineCounter, file: string): Diagnostic[] {
  const lines = text.split(/\r?\n/);
  // One diagnostic at most: the tab report, or the first error reworded.
  const out: Diagnostic[] = [];
  const push = (line: number, col: number, message: string) => {
    const excerpt = lines[line - 1]?.trim();
    out.push({ severity: "error", file, line, col, message: excerpt ? `${message}\n    ${excerpt}` : message });
  };

  const tabLines = errors.filter((e) => e.code === "TAB_AS_INDENT").map((e) => lineCounter.linePos(e.pos[0]).line);
  if (tabLines.length) {
    const more = tabLines.length > 1 ? ` (lines ${[...new Set(tabLines)].join(", ")})` : "";
    push(tabLines[0]!, 1, `tabs are not allowed for indentation in YAML; use spaces${more}`);
  }
  if (out.length) return out;
  // After its first syntax error the parser is out of step with the file, and what it reports next is mostly an
  // echo of that one mistake (an unclosed quote swallows the rest): report the first, reworded.
  const first = errors.find((e) => e.code === "MISSING_CHAR") ?? errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const reworded = reword(first, line, col, lines);
    push(reworded.line, reworded.col, reworded.message);
  }
  return out;
}

function indentOf(text: string): number {
  return /^ */.exec(text)![0].length;
}

/** The nearest line before `line` (1-based) that holds content, not a blank or a comment. */
function previousContent(lines: readonly string[], line: number): number | undefined {
  for (let l = line - 1; l >= 1; l--) if (!/^\s*(#.*)?$/.test(lines[l - 1]!)) return l;
  return undefined;
}

function nextContent(lines: readonly string[], line: number): number | undefined {
  for (let l = line + 1; l <= lines.length; l++) if (!/^\s*(#.*)?$/.test(lines[l - 1]!)) return l;
  return undefined;
}

/** The indentations of the maps still open above `line`, deepest first (every field belongs to one of them). */
function openIndents(lines: readonly string[], line: number): number[] {
  const levels: number[] = [];
  for (let l = previousContent(lines, line); l !== undefined; l = previousContent(lines, l)) {
    const indent = indentOf(lines[l - 1]!);
    if (levels.length === 0 || indent < levels[levels.length - 1]!) levels.push(indent);
  }
  return levels.reverse();
}

/** The last line at or before `line` with more `open` than `close` characters outside quotes. */
function unclosedLine(lines: readonly string[], line: number, open: string, close: string): number | undefined {
  let depth = 0;
  for (let l = Math.min(line, lines.length); l >= 1; l--) {
    const bare = lines[l - 1]!.replace(/"[^"]*"|'[^']*'/g, "").replace(/\s#.*$/, "");
    depth += [...bare].filter((c) => c === open).length - [...bare].filter((c) => c === close).length;
    if (depth > 0) return l;
  }
  return undefined;
}

function keyOf(text: string): string {
  return /^\s*(?:- )?([^:#]+?):/.exec(text)?.[1] ?? text.trim();
}

/** `line` is indented under `above`, a field that already has a value, so it cannot be nested there. */
function overIndented(line: number, above: string, lines: readonly string[]): { line: number; col: number; message: string } {
  const text = lines[line - 1]!;
  return {
    line,
    col: indentOf(text) + 1,
    message: `"${keyOf(text)}" is indented more than "${keyOf(above)}" above it, which already has a value; indent it by ${indentOf(above)} spaces like "${keyOf(above)}"`,
  };
}

function reword(error: YAMLError, line: number, col: number, lines: readonly string[]): { line: number; col: number; message: string } {
  const here = lines[line - 1] ?? "";
  switch (error.code) {
    case "BAD_INDENT": {
      const flow = /^Flow (sequence|map)/.exec(error.message);
      if (flow) {
        const [open, close] = flow[1] === "sequence" ? ["[", "]"] : ["{", "}"];
        const at = unclosedLine(lines, line, open!, close!) ?? line;
        return { line: at, col: lines[at - 1]!.indexOf(open!) + 1, message: `this "${open}" is not closed: end the ${flow[1] === "sequence" ? "list" : "map"} with "${close}"` };
      }
      // The parser may name the blank or comment line before the key that is out of line: judge that key.
      const next = /^\s*(#.*)?$/.test(here) ? nextContent(lines, line) : undefined;
      if (next !== undefined) return reword(error, next, indentOf(lines[next - 1]!) + 1, lines);
      const prev = previousContent(lines, line);
      const indent = indentOf(here);
      if (prev !== undefined && /^\s*- /.test(lines[prev - 1]!) && indentOf(lines[prev - 1]!) === indent) {
        return { line, col: indent + 1, message: `"${keyOf(here)}" lines up with the list item above it; a list and a map cannot be mixed at one level` };
      }
      const above = prev === undefined ? "" : lines[prev - 1]!;
      if (prev !== undefined && indent > indentOf(above) && /:\s*[^\s#]/.test(above)) return overIndented(line, above, lines);
      const levels = openIndents(lines, line);
      const message = levels.length === 0
        ? "wrong indentation"
        : `"${keyOf(here)}" is indented by ${indent} space${indent === 1 ? "" : "s"}, but the fields above it by ${levels.join(", ").replace(/, (\d+)$/, " or $1")}; indent it exactly like the other fields of its map`;
      return { line, col: indent + 1, message };
    }
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY": {
      const rest = here.slice(col - 1);
      if (/:(\s|$)/.test(rest)) {
        return { line, col, message: `a value holding ": " must be quoted: ${keyOf(here)}: "${rest.trim()}"` };
      }
      const next = nextContent(lines, line);
      if (next !== undefined && indentOf(lines[next - 1]!) > indentOf(here) && /:\s*\S/.test(here)) return overIndented(next, here, lines);
      const glued = /^(\s*[\w-]+):(\S.*)$/.exec(here);
      if (glued) return { line, col: indentOf(here) + 1, message: `put a space after the colon: ${glued[1]!.trim()}: ${glued[2]}` };
      if (!/:/.test(here)) return { line, col: indentOf(here) + 1, message: `"${here.trim()}" is missing the ":" between a field and its value` };
      break;
    }
    case "MISSING_CHAR": {
      const quote = /closing (["'])/.exec(error.message)?.[1];
      if (quote) {
        for (let l = Math.min(line, lines.length); l >= 1; l--) {
          if ((lines[l - 1]!.split(quote).length - 1) % 2 === 1) return { line: l, col: lines[l - 1]!.indexOf(quote) + 1, message: `this quoted value is not closed: add the closing ${quote}` };
        }
      }
      break;
    }
    case "BAD_SCALAR_START": {
      const char = /reserved character (\S)/.exec(error.message)?.[1];
      if (char) return { line, col, message: `a value starting with ${char} must be quoted: "${here.slice(col - 1).replace(/[\]},].*$/, "").trim()}"` };
      break;
    }
  }
  const first = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return { line, col, message: first.charAt(0).toLowerCase() + first.slice(1) };
}
