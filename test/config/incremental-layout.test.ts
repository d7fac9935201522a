import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { layoutFits, reparseChanged, type Remembered, type SourceLayout } from "../../src/config/incremental.js";
import { MAX_EXPANDED_NODES, measureExpansion } from "../../src/config/expansion.js";
import { expectFast, expectNull, fullParse, remember } from "../helpers/incremental.js";

/**
 * The incremental re-read (config/incremental.ts), case by case: where each identity's entry lies (sourceLayout),
 * when a remembered layout is refused (layoutFits: the cache is the user's file), which edits take the fast path,
 * and which must step aside for the full parse. Every fast result is compared with the full parse of the same
 * text (config, warnings, layout); every step aside is asserted as null, so a check that merely widens or narrows
 * the fast path is caught too. incremental.test.ts holds the property test over random edits.
 */

const BASE = `version: 1
cas:
  root: {}
  int: { issuer: root }
servers:
  web: { issuer: int, altNames: [web.test] }
  "api": { issuer: int, altNames: [api.test] }
  db:
    issuer: int
    altNames:
      - db.test
clients:
  alice: { issuer: int }
`;

/** The edit is read incrementally, and gives exactly what the full parse gives. */
const fast = (before: string, after: string, from: Remembered = remember(before)) => expectFast(from, after);
/** The edit is left to the full parse. */
const stepsAside = (before: string, after: string, from: Remembered = remember(before)) => expectNull(from, after);

/** web holds an anchor that web2, added at the end of servers, merges. */
const ANCHORED = BASE.replace("  web: {", "  web: &web {").replace("clients:", "  web2: { <<: *web, altNames: [web2.test] }\nclients:");

const errorsOf = (text: string) => fullParse(text).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);

/** Offset of the line that starts with `prefix` (the first such line). */
function lineAt(text: string, prefix: string): number {
  const at = text.startsWith(prefix) ? 0 : text.indexOf(`\n${prefix}`) + 1;
  expect(at > 0 || text.startsWith(prefix)).toBe(true);
  return at;
}

describe("where each identity's entry lies (sourceLayout)", () => {
  it("one section per identity section written as a block map; each entry from its key's line to the next one's", () => {
    const layout = fullParse(BASE).layout!;
    const entry = (name: string, line: string, next: string, number: number) => ({ name, start: lineAt(BASE, line), end: next === "" ? BASE.length : lineAt(BASE, next), line: number });
    expect(layout).toEqual({
      sections: [
        { section: "cas", indent: 2, entries: [entry("root", "  root:", "  int:", 3), entry("int", "  int:", "servers:", 4)] },
        { section: "servers", indent: 2, entries: [entry("web", "  web:", '  "api":', 6), entry("api", '  "api":', "  db:", 7), entry("db", "  db:", "clients:", 8)] },
        { section: "clients", indent: 2, entries: [entry("alice", "  alice:", "", 13)] },
      ],
      order: ["root", "int", "web", "api", "db", "alice"],
      defaults: undefined,
      lint: { maxLeafValiditySeconds: null },
      expandedNodes: expect.any(Number),
    });
    expect(layout.expandedNodes).toBeGreaterThanOrEqual(measureExpansion(parseDocument(BASE)).nodes);
  });

  it("a block map that is not an identity section (defaults) is no section; the defaults are kept as validated", () => {
    const text = BASE.replace("cas:", "defaults:\n  validity: 30d\n  key: ecdsa-p256\ncas:");
    const layout = fullParse(text).layout!;
    expect(layout.sections.map((s) => s.section)).toEqual(["cas", "servers", "clients"]);
    expect(layout.defaults).toEqual({ validity: "30d", key: "ecdsa-p256" });
  });

  it("an identity section that cannot be re-read by entries is left out: flow style, a name YAML reads as a number, an explicit key", () => {
    const flow = BASE.replace("clients:\n  alice: { issuer: int }\n", "clients: { alice: { issuer: int } }\n");
    expect(fullParse(flow).layout!.sections.map((s) => s.section)).toEqual(["cas", "servers"]);
    const numbered = BASE.replace("  alice:", "  1:");
    expect(fullParse(numbered).diagnostics).toEqual([]);
    expect(fullParse(numbered).layout!.sections.map((s) => s.section)).toEqual(["cas", "servers"]);
    const explicit = BASE.replace("  alice: { issuer: int }\n", "  ? alice\n  : { issuer: int }\n");
    expect(fullParse(explicit).diagnostics).toEqual([]);
    expect(fullParse(explicit).layout!.sections.map((s) => s.section)).toEqual(["cas", "servers"]);
  });

  it("no layout at all where meaning may depend on more than the entries: acme, directives, documents, CR line ends, a flow root", () => {
    expect(fullParse(BASE).layout).toBeDefined();
    const acme = `${BASE}acme:\n  ca: int\n  allow: [.test]\n`;
    expect(fullParse(acme).diagnostics).toEqual([]);
    expect(fullParse(acme).layout).toBeUndefined();
    for (const text of [`%YAML 1.2\n---\n${BASE}`, `---\n${BASE}`, `${BASE}...\n`, BASE.replaceAll("\n", "\r\n"), "{ version: 1, cas: { root: {} }, servers: { web: { issuer: root, altNames: [web.test] } } }\n"]) {
      expect(fullParse(text).diagnostics, JSON.stringify(text)).toEqual([]);
      expect(fullParse(text).layout, JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe("a remembered layout is used only if it still describes its text (layoutFits)", () => {
  const layout = () => structuredClone(fullParse(BASE).layout!);
  type Damage = (l: SourceLayout) => void;
  const servers = (l: SourceLayout) => l.sections[1]!.entries;

  it("the layout of the text fits it", () => {
    expect(layoutFits(BASE, layout())).toBe(true);
  });

  const damages: [string, Damage][] = [
    ["a section without entries", (l) => void (l.sections[2]!.entries = [])],
    ["a section at column 0", (l) => void (l.sections[1]!.indent = 0)],
    // Every other check holds (past the section before it, the key at the column and line the layout gives): only
    // the column 0 gives it away.
    ["a top-level key taken for a section's entry", (l) => void l.sections.splice(1, 2, { section: "clients", indent: 0, entries: [{ name: "clients", start: lineAt(BASE, "clients:"), end: BASE.length, line: 12 }] })],
    ["a section at the wrong column", (l) => void (l.sections[1]!.indent = 3)],
    ["two entries swapped", (l) => void servers(l).reverse()],
    ["the sections out of order", (l) => void l.sections.reverse()],
    [
      "the sections out of order, their lines made to agree",
      (l) => {
        l.sections.reverse();
        l.sections.flatMap((s) => s.entries).forEach((e, i) => (e.line = [13, 13, 14, 15, 15, 16][i]!));
      },
    ],
    [
      "a section beginning where the one before it ends",
      (l) => {
        l.sections[2]!.entries = [servers(l).pop()!];
      },
    ],
    ["a section inside the entry before it", (l) => void (l.sections[2] = { section: "clients", indent: 4, entries: [{ name: "issuer", start: lineAt(BASE, "    issuer: int"), end: lineAt(BASE, "    altNames:"), line: 9 }] })],
    ["an entry ending past the text", (l) => void (l.sections[2]!.entries[0]!.end = BASE.length + 1)],
    ["a gap between two entries", (l) => void (servers(l)[0]!.end -= 1)],
    ["an empty entry", (l) => void servers(l).splice(1, 0, { name: "web", start: servers(l)[1]!.start, end: servers(l)[1]!.start, line: 7 })],
    ["an entry's start moved off its line's start", (l) => void ((servers(l)[1]!.start += 1), (servers(l)[0]!.end += 1))],
    ["an entry on the wrong line", (l) => void (servers(l)[1]!.line += 1)],
    ["an entry under another name", (l) => void (servers(l)[0]!.name = "wex")],
    ["an entry named by a prefix of its key", (l) => void (servers(l)[0]!.name = "we")],
    // A nested key two columns in: every other check holds (spaces before it at the section's column, its name, its
    // line), only its start is not a line's start.
    [
      "a nested field taken for an entry",
      (l) => {
        const issuer = lineAt(BASE, "    issuer: int") + 2;
        servers(l)[2]!.end = issuer;
        servers(l).push({ name: "issuer", start: issuer, end: lineAt(BASE, "clients:"), line: 9 });
      },
    ],
    ["a layout of another text", (l) => void l.sections.forEach((s) => s.entries.forEach((e) => ((e.start += 1), (e.end += 1))))],
  ];
  it.each(damages)("refused: %s", (_name, damage) => {
    const damaged = layout();
    damage(damaged);
    expect(layoutFits(BASE, damaged)).toBe(false);
    // And an edit against it is left to the full parse.
    const from = remember(BASE);
    expect(reparseChanged({ ...from, layout: damaged }, BASE.replace("web.test", "www.test"), "pki.yaml")).toBeNull();
  });

  it("a comment line is no entry, even one that reads like its key", () => {
    const text = BASE.replace("servers:\n", "servers:\n# web: retired\n");
    const l = fullParse(text).layout!;
    expect(layoutFits(text, l)).toBe(true);
    Object.assign(servers(l)[0]!, { start: lineAt(text, "# web:"), line: 6 });
    expect(layoutFits(text, l)).toBe(false);
  });

  it("a quoted key is taken at its word (its name is what YAML unquotes); a key merely containing a quote is not quoted", () => {
    const l = layout();
    servers(l)[1]!.name = "apx";
    expect(layoutFits(BASE, l)).toBe(true);
    const text = BASE.replace("  alice:", "  al'ce:");
    const other = layout();
    other.sections[2]!.entries[0]!.name = "al'cx";
    expect(layoutFits(text, other)).toBe(false);
    other.sections[2]!.entries[0]!.name = "al'ce";
    expect(layoutFits(text, other)).toBe(true);
  });
});

describe("edits read incrementally, each equal to the full parse", () => {
  it("an alt name changed in one entry", () => {
    fast(BASE, BASE.replace("api.test", "api2.test"));
  });

  it("an edit in the first section (the CAs)", () => {
    fast(BASE, BASE.replace("  int: { issuer: root }", "  int: { issuer: root, validity: 5y }"));
  });

  it("an edit in the last entry of a file without a final newline", () => {
    const text = BASE.slice(0, -1);
    fast(text, text.replace("alice: { issuer: int }", "alice: { issuer: int, validity: 30d }"));
  });

  it("an entry added at the end of a section, and at the end of the file", () => {
    fast(BASE, BASE.replace("clients:", "  cache: { issuer: int, altNames: [cache.test] }\nclients:"));
    fast(BASE, `${BASE}  bob: { issuer: int }\n`);
  });

  it("an entry added in the middle, several lines long: the entries after it move down", () => {
    const after = BASE.replace("  db:", "  mail:\n    issuer: int\n    altNames:\n      - mail.test\n  cache: { issuer: root, altNames: [cache.test] }\n  db:");
    const result = fast(BASE, after);
    expect(result.layout.sections[1]!.entries.map((e) => [e.name, e.line])).toEqual([["web", 6], ["api", 7], ["mail", 8], ["cache", 12], ["db", 13]]);
    expect(result.layout.sections[2]!.entries[0]!.line).toBe(18);
  });

  it("lines added to and removed from an entry: the sections after it move", () => {
    fast(BASE, BASE.replace("      - db.test\n", "      - db.test\n      - db2.test\n      - db3.test\n"));
    fast(BASE, BASE.replace("    altNames:\n      - db.test\n", "    altNames: [db.test]\n"));
  });

  it("a change spanning two entries re-reads both", () => {
    fast(BASE, BASE.replace("web.test", "w.test").replace("api.test", "a.test"));
  });

  it("an entry removed, or replaced by a comment (which belongs to the entry above)", () => {
    fast(BASE, BASE.replace('  "api": { issuer: int, altNames: [api.test] }\n', ""));
    fast(BASE, BASE.replace('  "api": { issuer: int, altNames: [api.test] }\n', "  # api retired\n"));
  });

  it("blank and comment lines typed before an entry", () => {
    fast(BASE, BASE.replace("  db:", "  # the database\n  db:"));
    fast(BASE, BASE.replace("  db:", "\n\n  db:"));
  });

  it("a comment line repeated inside an entry", () => {
    const text = BASE.replace("    altNames:\n", "    # names\n    altNames:\n");
    fast(text, text.replace("    # names\n", "    # names\n    # names\n"));
  });

  it("an entry merging an inline map (<<: without an alias)", () => {
    fast(BASE, BASE.replace("clients:", "  mail: { <<: { issuer: int }, altNames: [mail.test] }\nclients:"));
  });

  it("an edit after an entry holding an anchor re-reads only the edited entry", () => {
    const text = ANCHORED;
    fast(text, text.replace("db.test", "db2.test"));
  });

  it("a file that starts with a blank line", () => {
    fast(`\n${BASE}`, `\n${BASE.replace("api.test", "api2.test")}`);
  });

  it("the bound on the expanded size: the fragment's nodes are added to what was remembered, up to the limit", () => {
    const after = BASE.replace("api.test", "api2.test");
    const fragment = after.slice(lineAt(after, '  "api":'), lineAt(after, "  db:"));
    const nodes = measureExpansion(parseDocument(fragment)).nodes;
    const from = (expandedNodes: number) => {
      const r = remember(BASE);
      return { ...r, layout: { ...r.layout, expandedNodes } };
    };
    expect(fast(BASE, after, from(MAX_EXPANDED_NODES - nodes)).layout.expandedNodes).toBe(MAX_EXPANDED_NODES);
    stepsAside(BASE, after, from(MAX_EXPANDED_NODES - nodes + 1));
    expect(fast(BASE, after).layout.expandedNodes).toBe(remember(BASE).layout.expandedNodes + nodes);
  });
});

describe("edits left to the full parse", () => {
  it("the same text", () => {
    stepsAside(BASE, BASE);
  });

  it("CR line ends typed into an entry", () => {
    stepsAside(BASE, BASE.replace("    issuer: int\n", "    issuer: int\r\n"));
  });

  it("an anchor removed from an entry that another entry merges (the other entry changes meaning)", () => {
    const text = ANCHORED;
    const after = text.replace("&web ", "");
    expect(errorsOf(after).length).toBeGreaterThan(0);
    stepsAside(text, after);
  });

  it("an entry renamed to a name its section already has, or to __proto__", () => {
    expect(errorsOf(BASE.replace('"api"', "web"))[0]).toContain('duplicate key "web"');
    stepsAside(BASE, BASE.replace('"api"', "web"));
    expect(errorsOf(BASE.replace('"api"', "__proto__"))[0]).toContain("__proto__");
    stepsAside(BASE, BASE.replace('"api"', "__proto__"));
  });

  it("spaces typed at the start of the next section's key (it becomes an entry of this one)", () => {
    const after = BASE.replace("clients:", "  clients:");
    expect(errorsOf(after).length).toBeGreaterThan(0);
    stepsAside(BASE, after);
  });

  it("the only entry of a section removed (the section is left empty)", () => {
    const after = BASE.replace("  alice: { issuer: int }\n", "");
    expect(errorsOf(after).length).toBeGreaterThan(0);
    stepsAside(BASE, after);
  });

  it("a comment typed before a section's first entry (no entry above it to belong to)", () => {
    const after = BASE.replace("  web:", "  # the web\n  web:");
    expect(errorsOf(after)).toEqual([]);
    stepsAside(BASE, after);
  });

  it("an entry renamed to a name YAML reads as a number, or written with an explicit key", () => {
    stepsAside(BASE, BASE.replace('"api"', "1"));
    stepsAside(BASE, BASE.replace('  "api": { issuer: int, altNames: [api.test] }\n', "  ? api\n  : { issuer: int, altNames: [api.test] }\n"));
  });

  it("an entry's line replaced by words, or re-indented, or indented with a tab", () => {
    stepsAside(BASE, BASE.replace('  "api": { issuer: int, altNames: [api.test] }', "  just words"));
    stepsAside(BASE, BASE.replace('  "api": {', '    "api": {'));
    stepsAside(BASE, BASE.replace("    issuer: int\n", "\t  issuer: int\n"));
  });

  it("a line left of the entries' column inside the change (it ends the section in the whole file)", () => {
    const after = BASE.replace("  db:\n", "x-note:\n  db:\n");
    expect(errorsOf(after)).toEqual([]);
    expect(fullParse(after).config!.identities.map((id) => id.name)).not.toContain("db");
    stepsAside(BASE, after);
  });

  it("a YAML error in the changed entry", () => {
    stepsAside(BASE, BASE.replace("[api.test] }", "[api.test] }}"));
    stepsAside(BASE, BASE.replace("[api.test]", "[api.test"));
  });
});
