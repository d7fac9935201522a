import { readFile } from "node:fs/promises";
import path from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ProvisionError, type Diagnostic } from "../errors.js";
import { makeLocator, type Locate } from "./locate.js";
import { normalizeIdentities } from "./normalize.js";
import { runRules, sortByIssuer } from "./rules.js";
import { pkiSchema } from "./schema.js";
import type { Config } from "./types.js";

export interface ParseResult {
  config?: Config;
  /** Errors and warnings, sorted by line. */
  diagnostics: Diagnostic[];
}

/**
 * Turns pki.yaml text into a Config: YAML → zod schema → defaults → cross-field rules.
 * Never throws for bad input; every problem found is returned with its line and YAML path.
 */
export function parseConfig(text: string, file: string, options: { cwd?: string } = {}): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    const excerpt = pos ? text.split(/\r?\n/)[pos.line - 1]?.trim() : undefined;
    const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    diagnostics.push({ severity: "error", file, line: pos.line, col: pos.col, message: excerpt ? `${message}\n    ${excerpt}` : message });
  }
  if (diagnostics.length) return { diagnostics };

  const locate = makeLocator(file, doc, lineCounter);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) {
    return { diagnostics: [{ severity: "error", file, message: "the file is empty; expected a map starting with `version: 1`" }] };
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { diagnostics: [{ severity: "error", ...locate([]), message: "expected a map (version, output, defaults, cas, servers, clients) at the top level" }] };
  }

  const parsed = pkiSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) diagnostics.push(issueToDiagnostic(issue, locate));
    return { diagnostics: sortDiagnostics(diagnostics) };
  }

  const identities = normalizeIdentities(parsed.data, locate, diagnostics);
  runRules(identities, locate, diagnostics);
  if (identities.length === 0) diagnostics.push({ severity: "error", ...locate([]), message: "no identities: add at least one CA under cas" });
  if (diagnostics.some((d) => d.severity === "error")) return { diagnostics: sortDiagnostics(diagnostics) };

  const baseDir = path.dirname(path.resolve(options.cwd ?? process.cwd(), file));
  const config: Config = {
    file,
    baseDir,
    outputDir: path.resolve(baseDir, parsed.data.output ?? "./pki"),
    identities: sortByIssuer(identities),
  };
  return { config, diagnostics: sortDiagnostics(diagnostics) };
}

/** Reads and parses pki.yaml; throws a ProvisionError carrying every diagnostic when it is not valid. */
export async function loadConfig(file: string, options: { cwd?: string } = {}): Promise<{ config: Config; warnings: Diagnostic[] }> {
  let text: string;
  try {
    text = await readFile(path.resolve(options.cwd ?? process.cwd(), file), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ProvisionError("config-unreadable", `cannot read ${file}: ${code === "ENOENT" ? "no such file" : String(code ?? error)}`, {
      hint: code === "ENOENT" ? "run `provision init` to write a starter pki.yaml, or pass -f <file>" : undefined,
    });
  }
  const { config, diagnostics } = parseConfig(text, file, options);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!config || errors.length) {
    throw new ProvisionError("invalid-config", `${file} is not valid (${errors.length} problem${errors.length === 1 ? "" : "s"})`, {
      diagnostics: errors,
      hint: "fix the lines above and run again; nothing was written",
    });
  }
  return { config, warnings: diagnostics.filter((d) => d.severity === "warning") };
}

function issueToDiagnostic(issue: z.core.$ZodIssue, locate: Locate): Diagnostic {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const more = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map((k) => JSON.stringify(k)).join(", ")})` : "";
    return { severity: "error", ...locate([...path, key], { key: true }), message: `unknown field ${JSON.stringify(key)}${more}` };
  }
  let message = issue.message;
  if (issue.code === "invalid_type" && issue.input === undefined) message = `missing required field: ${message}`;
  return { severity: "error", ...locate(path), message };
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
