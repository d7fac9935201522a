import path from "node:path";
import { isScalar, LineCounter, parseDocument, visit, type Document } from "yaml";
import type { z } from "zod";
import { formatPath, type Diagnostic } from "../errors.js";
import { MAX_EXPANDED_NODES, measureExpansion, type Expansion } from "./expansion.js";
import { makeLocator, type Locate } from "./locate.js";
import { normalizeIdentities } from "./normalize.js";
import { runRules, sortByIssuer } from "./rules.js";
import { parseDuration } from "./duration.js";
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
  // yaml's own uniqueKeys check is quadratic in the size of a map; duplicateKeys() below is linear.
  // merge: YAML 1.1 merge keys (<<: *anchor), which people use to share settings between identities.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    const excerpt = pos ? text.split(/\r?\n/)[pos.line - 1]?.trim() : undefined;
    const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    diagnostics.push({ severity: "error", file, line: pos.line, col: pos.col, message: excerpt ? `${message}\n    ${excerpt}` : message });
  }
  if (diagnostics.length) return { diagnostics };
  diagnostics.push(...duplicateKeys(doc, lineCounter, file));
  if (diagnostics.length) return { diagnostics };

  const expansion = measureExpansion(doc);
  if (expansion.culprit) return { diagnostics: [aliasDiagnostic(expansion, lineCounter, file)] };

  const locate = makeLocator(file, doc, lineCounter);
  // Aliases are limited by the size they expand to (measureExpansion), not by yaml's count of 100.
  const raw: unknown = doc.toJS({ maxAliasCount: -1 });
  if (raw === null || raw === undefined) {
    return { diagnostics: [{ severity: "error", file, message: "the file is empty; expected a map starting with `version: 1`" }] };
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { diagnostics: [{ severity: "error", ...locate([]), message: "expected a map (version, output, defaults, cas, servers, clients) at the top level" }] };
  }

  // Top-level keys starting with "x-" are for the user (YAML anchors), as in docker-compose files.
  const parsed = pkiSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith("x-"))));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) diagnostics.push(issueToDiagnostic(issue, locate));
    return { diagnostics: sortDiagnostics(diagnostics) };
  }

  const identities = normalizeIdentities(parsed.data, locate, diagnostics);
  const maxLeaf = parsed.data.lint?.maxLeafValidity;
  runRules(identities, locate, diagnostics, { maxLeafValiditySeconds: maxLeaf === undefined ? null : parseDuration(maxLeaf)! });
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

/** Keys that appear twice in one map, each reported where it appears again. */
function duplicateKeys(doc: Document, lineCounter: LineCounter, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Map(_key, map, ancestry) {
      const seen = new Map<string, number>();
      const path = ancestry.flatMap((node) => ("key" in (node as object) && isScalar((node as { key: unknown }).key) ? [String(((node as { key: { value: unknown } }).key).value)] : []));
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, offset);
          continue;
        }
        const { line, col } = lineCounter.linePos(offset);
        found.push({ severity: "error", file, line, col, path: formatPath([...path, key]), message: `duplicate key "${key}" (first on line ${lineCounter.linePos(first).line}); map keys must be unique` });
      }
    },
  });
  return found;
}

function aliasDiagnostic({ culprit, cyclic }: Expansion, lineCounter: LineCounter, file: string): Diagnostic {
  const { line, col } = lineCounter.linePos(culprit!.range?.[0] ?? 0);
  const message = cyclic
    ? `alias *${culprit!.source} refers to a node that contains it, so it never ends`
    : `aliases such as *${culprit!.source} here expand this file past ${MAX_EXPANDED_NODES.toLocaleString("en-US")} YAML nodes; refusing it as a resource-exhaustion attack`;
  return { severity: "error", file, line, col, message };
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
