import { isAlias, isMap, isNode, isScalar, LineCounter, parseDocument, visit, type Document, type YAMLMap } from "yaml";
import { formatPath, type Diagnostic } from "../errors.js";
import { MAX_EXPANDED_NODES, measureExpansion } from "./expansion.js";
import { makeLocator, type Locate } from "./locate.js";
import { normalizeIdentities } from "./normalize.js";
import { RULES, runRules, sortByIssuer } from "./rules.js";
import { EXTERNAL_RULES } from "./external.js";
import { pkiSchema, type PkiInput } from "./schema.js";
import { duplicateKeys } from "./duplicate-keys.js";
import { loneSurrogate } from "./unicode.js";
import type { Config, IdentitySpec, LintSpec } from "./types.js";

/**
 * Re-reading only the entries of pki.yaml that changed since the last run (issue 13: one change among 10,000
 * identities should cost about what a no-op costs). The last parse is remembered with its text and where each
 * identity's entry lies in it (a SourceLayout). A new text is compared with that text; when everything that
 * differs lies inside entries of one identity section (cas, servers or clients), only those entries are composed
 * by `yaml` and validated by the schema, every other identity is taken as it was, and the cross-identity rules run
 * over the whole set as a full parse runs them. Whatever this cannot decide with certainty returns null and is
 * parsed in full: a change outside the entries (defaults, output, lint, x- anchors, a section's key), anchors,
 * aliases or tags in the changed entries, any error (so every error is reported by the full parse, located as
 * always), documents, directives, CRLF text, a file with `acme:`. test/config/incremental.test.ts checks that
 * random edits give what a full parse gives.
 */

export type NamedSection = "cas" | "servers" | "clients";
export const NAMED_SECTIONS: readonly NamedSection[] = ["cas", "servers", "clients"];

/** One identity's entry: from the start of its key's line to the start of the next entry's (or section's) line. */
export interface LayoutEntry {
  name: string;
  start: number;
  end: number;
  /** 1-based line of `start`. */
  line: number;
}

export interface SourceLayout {
  /** The identity sections written as block maps, each entry's key at column `indent`. */
  sections: { section: NamedSection; indent: number; entries: LayoutEntry[] }[];
  /** Every identity's name in the order the full parse validates them (the order its rules report in). */
  order: string[];
  /** What normalization needs from outside the entries, as validated. */
  defaults: PkiInput["defaults"];
  lint: LintSpec;
  /** An upper bound of the document's size with its aliases expanded (measureExpansion). */
  expandedNodes: number;
}

export interface Remembered {
  text: string;
  layout: SourceLayout;
  config: Omit<Config, "file">;
}

export interface Reparsed {
  config: Config;
  warnings: Diagnostic[];
  layout: SourceLayout;
}

/** Text whose meaning may depend on more than its entries: directives, several documents, CR line ends. */
const DOCUMENT_LEVEL = /\r|^(?:%|---|\.\.\.)/m;

/**
 * Where each identity's entry lies in a file that parsed without errors (null when nothing can be re-read
 * incrementally). Cheap next to the parse: one pass over the identity sections' keys.
 */
export function sourceLayout(text: string, doc: Document, lineCounter: LineCounter, data: PkiInput, identities: readonly IdentitySpec[], lint: LintSpec, expandedNodes: number): SourceLayout | undefined {
  if (data.acme || DOCUMENT_LEVEL.test(text)) return undefined;
  const root = doc.contents;
  if (!isMap(root) || root.flow) return undefined;
  const sections: SourceLayout["sections"] = [];
  root.items.forEach((pair, index) => {
    const name = isScalar(pair.key) ? pair.key.value : undefined;
    if (!NAMED_SECTIONS.includes(name as NamedSection) || !isMap(pair.value) || pair.value.flow || !pair.value.items.length) return;
    const next = root.items[index + 1];
    const sectionEnd = next && isScalar(next.key) && next.key.range ? lineStart(text, next.key.range[0]) : text.length;
    const entries = entriesOf(text, pair.value, sectionEnd, lineCounter);
    if (entries) sections.push({ section: name as NamedSection, indent: entries.indent, entries: entries.entries });
  });
  return { sections, order: identities.map((id) => id.name), defaults: data.defaults, lint, expandedNodes };
}

/**
 * The remembered layout describes the remembered text: each entry starts a line, at its column, with its name,
 * on the line it says, and ends where the next begins. The cache is the user's, not ours (one pass, no parse).
 */
export function layoutFits(text: string, layout: SourceLayout): boolean {
  // The last entry checked: where it starts and ends, and the line it starts on.
  let start = 0;
  let end = 0;
  let line = 1;
  for (const { indent, entries } of layout.sections) {
    if (!entries.length || !(indent > 0)) return false;
    for (const [i, entry] of entries.entries()) {
      // A section's first entry lies past the section before it (its own key's line comes between); every other
      // entry starts where the one before it ends.
      if (!(i === 0 ? entry.start > end : entry.start === end) || !(entry.end > entry.start) || !(entry.end <= text.length)) return false;
      if (text[entry.start - 1] !== "\n") return false;
      line += count(text.slice(start, entry.start), "\n");
      start = entry.start;
      end = entry.end;
      const key = text.slice(entry.start + indent, entry.start + indent + entry.name.length + 1);
      if (entry.line !== line || text.slice(entry.start, entry.start + indent) !== " ".repeat(indent) || !(key === `${entry.name}:` || /^["']/.test(key))) return false;
    }
  }
  return true;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Every key of `map` on its own line at one column, with a string name: the entries, or null. */
function entriesOf(text: string, map: YAMLMap, end: number, lineCounter: LineCounter | null, base = 0): { indent: number; entries: LayoutEntry[] } | null {
  const entries: LayoutEntry[] = [];
  let indent = -1;
  for (const pair of map.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== "string" || !pair.key.range) return null;
    const offset = pair.key.range[0];
    const start = lineStart(text, offset);
    if (!/^ +$/.test(text.slice(start, offset)) || (indent !== -1 && offset - start !== indent)) return null;
    indent = offset - start;
    const previous = entries[entries.length - 1];
    if (previous) previous.end = base + start;
    entries.push({ name: pair.key.value, start: base + start, end: base + end, line: lineCounter ? lineCounter.linePos(start).line : 0 });
  }
  return indent > 0 ? { indent, entries } : null;
}

/** Thrown by the locator when a diagnostic's place cannot be found without the whole document. */
class NeedsFullParse extends Error {}

/**
 * pki.yaml `text` read again from `previous` (its last valid parse) when the two differ only inside entries
 * of one identity section; null when that cannot be done with certainty, or the result has any error.
 */
export function reparseChanged(previous: Remembered, text: string, file: string): Reparsed | null {
  const old = previous.text;
  const { layout } = previous;
  if (text === old || DOCUMENT_LEVEL.test(text) || !layoutFits(old, layout)) return null;
  const max = Math.min(old.length, text.length);
  let prefix = 0;
  while (prefix < max && old.charCodeAt(prefix) === text.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && old.charCodeAt(old.length - 1 - suffix) === text.charCodeAt(text.length - 1 - suffix)) suffix++;
  const changedEnd = old.length - suffix;
  const delta = text.length - old.length;

  const at = layout.sections.findIndex(({ entries }) => entries[0]!.start <= prefix && changedEnd <= entries[entries.length - 1]!.end);
  if (at < 0) return null;
  const { indent, entries } = layout.sections[at]!;
  // The entries the change touches (one that merely ends or starts where it does included).
  let first = 0;
  while (entries[first]!.end < prefix) first++;
  let last = entries.length - 1;
  while (entries[last]!.start > changedEnd) last--;
  const oldEnd = entries[last]!.end;
  // The unchanged text after the fragment must still start a line (text typed at the start of the next section's
  // line would otherwise be read as the end of this entry).
  if (oldEnd + delta < text.length && text[oldEnd + delta - 1] !== "\n") return null;
  let read = readFragment(text, entries[first]!.start, oldEnd + delta, indent, file);
  // Blank or comment lines at the fragment's start belong to the entry before it (and may be part of its value: a
  // block scalar kept with |+): take that entry in too. Before the section's first entry they are not an entry's.
  while (read === "leading lines" && first > 0) read = readFragment(text, entries[--first]!.start, oldEnd + delta, indent, file);
  if (read === null || read === "leading lines") return null;
  const { doc, lineCounter, entries: changedEntries } = read;
  const start = entries[first]!.start;
  const fragment = text.slice(start, oldEnd + delta);
  // An anchor in a replaced entry may be used by another entry.
  if (old.slice(start, oldEnd).includes("&")) return null;
  const changed = { entries: changedEntries };
  const firstLine = entries[first]!.line;
  for (const entry of changed.entries) entry.line = firstLine + lineCounter.linePos(entry.start - start).line - 1;
  const lineDelta = count(fragment, "\n") - count(old.slice(start, oldEnd), "\n");

  // The section's entries after the edit; no name twice (the full parse reports a duplicate key), and none empty.
  const sectionEntries = [...entries.slice(0, first), ...changed.entries, ...entries.slice(last + 1).map((e) => shifted(e, delta, lineDelta))];
  const names = new Set(sectionEntries.map((e) => e.name));
  if (names.size !== sectionEntries.length || names.has("__proto__") || !sectionEntries.length) return null;
  const expandedNodes = layout.expandedNodes + (doc.contents ? measureExpansion(doc).nodes : 0);
  if (expandedNodes > MAX_EXPANDED_NODES) return null;

  try {
    return validateChanged(previous, text, file, { at, first, last, start, oldEnd, doc, lineCounter, changed: changed.entries, sectionEntries, delta, lineDelta, expandedNodes });
  } catch (error) {
    if (error instanceof NeedsFullParse) return null;
    throw error;
  }
}

/**
 * The text from `start` to `end` composed alone: a block map of plain entries at column `indent` (no anchors,
 * aliases, tags or duplicate keys), every line at least that far in. "leading lines" when it does not start
 * with an entry's key; null when it cannot stand for those lines of the whole file.
 */
function readFragment(text: string, start: number, end: number, indent: number, file: string): { doc: Document; lineCounter: LineCounter; entries: LayoutEntry[] } | "leading lines" | null {
  const fragment = text.slice(start, end);
  // A line left of the entries' column would end the section in the whole file but not in the fragment read alone.
  if (!linesIndentedAtLeast(fragment, indent)) return null;
  const lineCounter = new LineCounter();
  const doc = parseDocument(fragment, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
  if (doc.errors.length || doc.warnings.length) return null;
  if (doc.contents !== null && (!isMap(doc.contents) || doc.contents.flow)) return null;
  let plain = true;
  visit(doc, {
    Node(_key, node) {
      // A lone surrogate is an error: the full parse reports it, located.
      if (isAlias(node) || node.anchor || node.tag || loneSurrogate(node)) plain = false;
    },
  });
  if (!plain || duplicateKeys(doc, lineCounter, file).length) return null;
  const changed = doc.contents ? entriesOf(fragment, doc.contents, fragment.length, null, start) : { indent, entries: [] };
  if (!changed || (changed.entries.length && changed.indent !== indent)) return null;
  if (fragment.length && changed.entries[0]?.start !== start) return "leading lines";
  return { doc, lineCounter, entries: changed.entries };
}

interface Change {
  /** The section's index in the layout, the first and last entry replaced, and where they were in the old text. */
  at: number;
  first: number;
  last: number;
  start: number;
  oldEnd: number;
  /** The replacing entries composed alone, and where they are. */
  doc: Document;
  lineCounter: LineCounter;
  changed: LayoutEntry[];
  sectionEntries: LayoutEntry[];
  delta: number;
  lineDelta: number;
  expandedNodes: number;
}

/** The changed entries validated and normalized as the full parse does, with the same defaults; then every rule. */
function validateChanged(previous: Remembered, text: string, file: string, change: Change): Reparsed | null {
  const { layout } = previous;
  const { section, indent, entries } = layout.sections[change.at]!;
  const raw = (change.doc.toJS({ maxAliasCount: -1 }) ?? {}) as Record<string, unknown>;
  const parsed = (pkiSchema.shape[section] as unknown as { safeParse(value: unknown): { success: boolean; data?: unknown } }).safeParse(raw);
  if (!parsed.success) return null;
  const diagnostics: Diagnostic[] = [];
  const firstLine = entries[change.first]!.line;
  const fragmentLocate = makeLocator(file, change.doc, change.lineCounter);
  const locateChanged: Locate = (path, options) => shiftLocation(fragmentLocate(path.slice(1), options), firstLine - 1, path);
  const fresh = normalizeIdentities({ version: 1, defaults: layout.defaults, [section]: parsed.data } as PkiInput, locateChanged, diagnostics);
  if (diagnostics.length) return null;

  const sections = layout.sections.map((s, i) =>
    i === change.at
      ? { section, indent, entries: change.sectionEntries }
      : s.entries[0]!.start >= change.oldEnd
        ? { ...s, entries: s.entries.map((e) => shifted(e, change.delta, change.lineDelta)) }
        : s,
  );
  const replaced = new Set(entries.slice(change.first, change.last + 1).map((e) => e.name));
  const identities = mergeIdentities(previous, sections, replaced, fresh, section, firstLine, change.lineDelta);
  if (!identities) return null;
  runRules(identities, entryLocator(text, file, sections), diagnostics, layout.lint, [...RULES, ...EXTERNAL_RULES]);
  if (diagnostics.some((d) => d.severity === "error")) return null;
  const config: Config = { file, baseDir: previous.config.baseDir, outputDir: previous.config.outputDir, identities: sortByIssuer(identities) };
  const warnings = diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return { config, warnings, layout: { ...layout, sections, order: identities.map((id) => id.name), expandedNodes: change.expandedNodes } };
}

/**
 * The identities in the order the full parse validates them: cas, servers, clients, each in the order of its
 * record (JavaScript's: integer-like names first), the changed section's from its entries. Unchanged identities
 * are taken as remembered, with the lines of their `serve` moved by the lines the edit added or removed.
 */
function mergeIdentities(previous: Remembered, sections: SourceLayout["sections"], replaced: Set<string>, fresh: IdentitySpec[], section: NamedSection, firstLine: number, lineDelta: number): IdentitySpec[] | null {
  const { layout } = previous;
  const byName = new Map<string, IdentitySpec>(previous.config.identities.map((id) => [id.name, id]));
  if (byName.size !== layout.order.length) return null;
  const freshByName = new Map(fresh.map((id) => [id.name, id]));
  const kindOf = { cas: "ca", servers: "server", clients: "client" } as const;
  const out: IdentitySpec[] = [];
  let taken = 0;
  for (const name of NAMED_SECTIONS) {
    const inLayout = sections.find((s) => s.section === name);
    const names = inLayout ? Object.keys(Object.fromEntries(inLayout.entries.map((e) => [e.name, 0]))) : layout.order.filter((n) => byName.get(n)?.kind === kindOf[name]);
    for (const n of names) {
      const fromEdit = name === section ? freshByName.get(n) : undefined;
      if (fromEdit) {
        out.push(fromEdit);
        continue;
      }
      const kept = replaced.has(n) ? undefined : byName.get(n);
      if (!kept || kept.kind !== kindOf[name]) return null;
      out.push(kept.serve && kept.serve.at.line !== undefined && kept.serve.at.line >= firstLine && lineDelta ? movedServe(kept, lineDelta) : kept);
      taken++;
    }
  }
  // Every remembered identity is either kept or one of the entries the edit replaced. One left out would vanish from
  // the config: a section not in the layout takes its names from the remembered order and kinds, and the cache that
  // holds them is the user's file (a name in the order the config does not have, a kind changed).
  return taken === byName.size - replaced.size ? out : null;
}

function movedServe(id: IdentitySpec, lineDelta: number): IdentitySpec {
  const serve = id.serve!;
  const move = <T extends { line?: number }>(at: T): T => (at.line === undefined ? at : { ...at, line: at.line + lineDelta });
  return { ...id, serve: { ...serve, at: move(serve.at), appAt: serve.appAt && move(serve.appAt) } };
}

/**
 * Locations for the rules' diagnostics: the entry named by the path, composed alone on demand (a rule reports
 * rarely). A path outside an identity's entry, or an entry that does not read alone, needs the whole file.
 */
function entryLocator(text: string, file: string, sections: SourceLayout["sections"]): Locate {
  const located = new Map<LayoutEntry, Locate>();
  return (path, options) => {
    const entry = path.length >= 2 ? sections.find((s) => s.section === path[0])?.entries.find((e) => e.name === path[1]) : undefined;
    if (!entry) throw new NeedsFullParse();
    let locate = located.get(entry);
    if (!locate) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(text.slice(entry.start, entry.end), { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
      if (doc.errors.length || !isNode(doc.contents)) throw new NeedsFullParse();
      let aliases = false;
      visit(doc, { Alias: () => void (aliases = true) });
      if (aliases) throw new NeedsFullParse();
      const inEntry = makeLocator(file, doc, lineCounter);
      locate = (p, o) => shiftLocation(inEntry(p.slice(1), o), entry.line - 1, p);
      located.set(entry, locate);
    }
    return locate(path, options);
  };
}

function shiftLocation<T extends { line?: number; path?: string }>(at: T, lines: number, path: readonly (string | number)[]): T {
  // makeLocator gives no line only for a document without contents, which a fragment or an entry read alone with
  // the path's entry in it is not; should that change, the full parse finds the place.
  if (at.line === undefined) throw new NeedsFullParse();
  return { ...at, line: at.line + lines, path: formatPath(path) };
}

function shifted(entry: LayoutEntry, delta: number, lineDelta: number): LayoutEntry {
  return { name: entry.name, start: entry.start + delta, end: entry.end + delta, line: entry.line + lineDelta };
}

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** Every line that is not blank starts with at least `indent` spaces (and no tab among its leading blanks). */
function linesIndentedAtLeast(text: string, indent: number): boolean {
  for (const line of text.split("\n")) {
    const lead = /^[ \t]*/.exec(line)![0];
    if (lead.includes("\t")) return false;
    if (lead.length !== line.length && lead.length < indent) return false;
  }
  return true;
}
