import path from "node:path";
import { isAlias, LineCounter, parseDocument, visit, type Document } from "yaml";
import type * as z from "./zod.js";
import { formatPath, type Diagnostic } from "../errors.js";
import { MAX_EXPANDED_NODES, measureExpansion, type Expansion } from "./expansion.js";
import { makeLocator, type Locate } from "./locate.js";
import { normalizeIdentities } from "./normalize.js";
import { normalizeAcme } from "./acme.js";
import { RULES, runRules, sortByIssuer } from "./rules.js";
import { EXTERNAL_RULES } from "./external.js";
import { parseDuration } from "./duration.js";
import { declaredEffects, pkiSchema } from "./schema.js";
import { closest } from "../suggest.js";
import { yamlSyntaxDiagnostics } from "./yaml-errors.js";
import { duplicateKeys } from "./duplicate-keys.js";
import { loneSurrogate } from "./unicode.js";
import { sourceLayout, type SourceLayout } from "./incremental.js";
import type { Config } from "./types.js";

export interface ParseResult {
  config?: Config;
  /** Errors and warnings, sorted by line. */
  diagnostics: Diagnostic[];
  /** Where each identity's entry lies in `text`, for reading the next version incrementally (config/incremental.ts). */
  layout?: SourceLayout;
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
  diagnostics.push(...yamlSyntaxDiagnostics(doc.errors, text, lineCounter, file));
  if (diagnostics.length) return { diagnostics };
  diagnostics.push(...nodeProblems(doc, lineCounter, file));
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
  const input = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith("x-")));
  const parsed = pkiSchema.safeParse(input);
  if (!parsed.success) {
    diagnostics.push(...issuesToDiagnostics(parsed.error.issues, input, locate));
    return { diagnostics: sortDiagnostics(diagnostics) };
  }

  const identities = normalizeIdentities(parsed.data, locate, diagnostics);
  const acme = parsed.data.acme ? normalizeAcme(parsed.data.acme, identities, locate, diagnostics) : undefined;
  const maxLeaf = parsed.data.lint?.maxLeafValidity;
  const lint = { maxLeafValiditySeconds: maxLeaf === undefined ? null : parseDuration(maxLeaf)! };
  runRules(identities, locate, diagnostics, lint, [...RULES, ...EXTERNAL_RULES]);
  if (identities.length === 0) diagnostics.push({ severity: "error", ...locate([]), message: "no identities: add at least one CA under cas" });
  if (diagnostics.some((d) => d.severity === "error")) return { diagnostics: sortDiagnostics(diagnostics) };

  const baseDir = path.dirname(path.resolve(options.cwd ?? process.cwd(), file));
  const config: Config = {
    file,
    baseDir,
    outputDir: path.resolve(baseDir, parsed.data.output ?? "./pki"),
    identities: sortByIssuer(identities),
    ...(acme ? { acme } : {}),
  };
  const layout = sourceLayout(text, doc, lineCounter, parsed.data, identities, lint, expansion.nodes);
  return { config, diagnostics: sortDiagnostics(diagnostics), ...(layout ? { layout } : {}) };
}

/**
 * `*name` with no `&name` before it. YAML reads an unquoted wildcard (`[*.example.test]`) as such an alias, and
 * the library throws when converting it, so it is found here first. In the same walk: a string holding a lone
 * UTF-16 surrogate (config/unicode.ts), which nothing downstream could encode.
 */
function nodeProblems(doc: Document, lineCounter: LineCounter, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  // An alias refers to the last anchor of its name before it in document order, the order visit() walks.
  // One walk: yaml's alias.resolve(doc) walks the whole document for each alias (10,000 merges took minutes).
  const anchors = new Set<string>();
  visit(doc, {
    Node(_key, node) {
      if (!isAlias(node)) {
        if (node.anchor) anchors.add(node.anchor);
        const surrogate = loneSurrogate(node);
        if (surrogate) {
          const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
          found.push({ severity: "error", file, line, col, message: `this string holds ${surrogate}, half of a UTF-16 surrogate pair, which is not a character; write the character itself (or its pair of escapes, e.g. "\\ud83d\\ude00")` });
        }
        return;
      }
      const alias = node;
      if (anchors.has(alias.source)) return;
      const { line, col } = lineCounter.linePos(alias.range?.[0] ?? 0);
      const message = alias.source.startsWith(".")
        ? `*${alias.source} must be quoted ("*${alias.source}"): an unquoted * starts a YAML alias`
        : `no anchor &${alias.source} is defined before this *${alias.source}; define it first, or quote the value ("*${alias.source}")`;
      found.push({ severity: "error", file, line, col, message });
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

/** Words people carry over from other tools or specs, folded (lower case, no `_`/`-`), and the field they mean. */
const FIELD_ALIASES = new Map<string, string>([
  ...["san", "sans", "subjectaltname", "subjectaltnames", "dnsnames", "hosts", "hostnames", "domains", "names"].map((w) => [w, "altNames"] as const),
  ...["cn", "name"].map((w) => [w, "commonName"] as const),
  ...["ca", "issuedby", "signedby", "parent", "signer"].map((w) => [w, "issuer"] as const),
  ...["keytype", "algorithm", "keyalgorithm", "alg"].map((w) => [w, "key"] as const),
  ...["lifetime", "expiry", "expires", "duration", "ttl", "days", "validfor"].map((w) => [w, "validity"] as const),
  ...["pathlen", "maxpathlength", "pathlenconstraint"].map((w) => [w, "pathLength"] as const),
  ...["constraints", "nameconstraint"].map((w) => [w, "nameConstraints"] as const),
  ...["password", "passphrase", "passwordenv"].map((w) => [w, "passphraseEnv"] as const),
  ...["o", "org", "organisation"].map((w) => [w, "organization"] as const),
  ...["ou", "orgunit", "organisationalunit"].map((w) => [w, "organizationalUnit"] as const),
  ["c", "country"], ["st", "state"], ["province", "state"], ["l", "locality"], ["city", "locality"],
  ...["permit", "allow", "allowed", "include", "included"].map((w) => [w, "permitted"] as const),
  ...["exclude", "deny", "denied", "forbidden"].map((w) => [w, "excluded"] as const),
  ["format", "formats"], ["outputs", "formats"], ["mtls", "clientAuth"],
]);

/** The sections whose keys are names the user chose (their children share one schema). */
const NAMED_SECTIONS = new Set(["cas", "servers", "clients"]);

/** The fields the schema allows in the map at `path` (["servers", "web"] → issuer, altNames, ...). */
function allowedFields(path: readonly (string | number)[]): string[] {
  const pattern = path.map((segment, i) => (i === 1 && NAMED_SECTIONS.has(String(path[0])) ? "*" : String(segment))).join(".");
  const prefix = pattern ? `${pattern}.` : "";
  return [...declaredEffects().keys()].filter((key) => key.startsWith(prefix) && !key.slice(prefix.length).includes("."))
    .map((key) => key.slice(prefix.length));
}

/** The value at `path` in the parsed YAML, and whether the last key is there at all (`key:` with no value is). */
function valueAt(root: unknown, path: readonly (string | number)[]): { present: boolean; value: unknown } {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object" || !Object.prototype.hasOwnProperty.call(current, segment)) return { present: false, value: undefined };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { present: true, value: current };
}

/** A value as the user would name it: `a string ("web.test")`, `a list`, `nothing`. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing (the field is empty)";
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)})`;
  if (typeof value === "number") return `a number (${value})`;
  if (typeof value === "boolean") return `${value} (a yes/no value)`;
  if (Array.isArray(value)) return "a list";
  return "a map";
}

const TYPE_NAMES: Record<string, string> = { object: "a map", array: "a list", string: "a string", number: "a number", boolean: "true or false", int: "a whole number" };

/**
 * One diagnostic per zod issue, in the user's terms: unknown fields with the closest allowed field, wrong types
 * with what was found, and a missing field only when it is really absent. A missing field that an unknown
 * field's suggestion already names (`altName` for `altNames`) is left out: one problem, one message.
 */
function issuesToDiagnostics(issues: readonly z.core.$ZodIssue[], input: unknown, locate: Locate): Diagnostic[] {
  const out: Diagnostic[] = [];
  const suggested = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const allowed = allowedFields(path);
    for (const key of issue.keys) {
      const guess = closest(key, allowed, FIELD_ALIASES);
      if (guess) suggested.add(formatPath([...path, guess]));
      const message = guess
        ? `unknown field ${JSON.stringify(key)}; did you mean ${guess}?`
        : `unknown field ${JSON.stringify(key)}; ${path.length ? "fields here" : "top-level fields"}: ${allowed.join(", ")}`;
      out.push({ severity: "error", ...locate([...path, key], { key: true }), message });
    }
  }
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") continue;
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const { present, value } = valueAt(input, path);
    let message = issue.message;
    if (issue.code === "invalid_type" && !present) {
      if (suggested.has(formatPath(path))) continue;
      message = `missing required field ${JSON.stringify(String(path[path.length - 1]))}: ${expectedPart(issue)}`;
    } else if (issue.code === "invalid_type") {
      message = `${expectedPart(issue)}, got ${describeValue(value)}`;
      // `key:rsa-2048` is one string to YAML: a map entry needs a space after its colon.
      if (typeof value === "string" && /^[\w-]+:\S/.test(value) && issue.expected === "object") message += `; put a space after the colon (${value.replace(":", ": ")})`;
    } else if ((issue.code === "too_small" || issue.code === "too_big") && /^Too (small|big)/.test(issue.message)) {
      message = sizeMessage(issue, value);
    } else if (issue.code === "invalid_value" && typeof value === "string") {
      const guess = closest(value, issue.values.map(String));
      const expected = /^Invalid option/.test(issue.message) ? `expected one of ${issue.values.map(String).join(", ")}` : issue.message;
      message = `${expected}, got ${JSON.stringify(value)}${guess ? `; did you mean ${guess}?` : ""}`;
    }
    out.push({ severity: "error", ...locate(path), message });
  }
  return out;
}

/** zod's "Too small: expected string to have >=1 characters" in the user's terms, with what was found. */
function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, value: unknown): string {
  const bound = Number("minimum" in issue ? issue.minimum : issue.maximum);
  const small = issue.code === "too_small";
  if (typeof value === "string") {
    if (small && bound === 1) return "must not be empty: write a value";
    // zod counts code points (an emoji is one character), and so does this message.
    const chars = [...value].length;
    return small ? `${chars} characters, fewer than the ${bound} required` : `${chars} characters, more than the ${bound} allowed here`;
  }
  if (Array.isArray(value)) return small ? `the list needs at least ${bound} item${bound === 1 ? "" : "s"}` : `the list has ${value.length} items, more than the ${bound} allowed`;
  return `${small ? "must be at least" : "must be at most"} ${bound}, got ${describeValue(value)}`;
}

/** "expected a list of names" from the schema's own message, or zod's generic "Invalid input: expected array". */
function expectedPart(issue: z.core.$ZodIssueInvalidType): string {
  if (!/^Invalid input/.test(issue.message)) return issue.message;
  return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
