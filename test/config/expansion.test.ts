// The alias/merge expansion limit (src/config/expansion.ts) and the other checks of the YAML tree before the
// schema (duplicate-keys.ts, locate.ts), in process. yaml-aliases.test.ts runs the CLI too and is left out of the
// mutation run; these are its fast twins, with exact node counts so that each counting rule is pinned.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import { MAX_EXPANDED_NODES, measureExpansion } from "../../src/config/expansion.js";
import { duplicateKeys } from "../../src/config/duplicate-keys.js";
import { locateInFile, makeLocator } from "../../src/config/locate.js";
import { parseConfig } from "../../src/config/parse.js";

/** Nine lists of nine aliases of the list before: 9^9 scalars once expanded, from a 10-line file. */
function billionLaughs(): string {
  let yaml = 'version: 1\nx-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
  const names = "abcdefghi";
  for (let i = 1; i < names.length; i++) yaml += `x-${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(", ")}]\n`;
  return `${yaml}cas:\n  root: {}\n`;
}

describe("measureExpansion counts the nodes of the expanded document", () => {
  it.each([
    // A collection is 1 plus its entries; a pair is its key plus its value (not counted itself); a scalar is 1.
    ["a: 1\n", 3],
    ["[1, 2, 3]\n", 4],
    ["a: [1, {b: 2}]\n", 7],
    // A key with no value holds a null scalar node; a key alone in a flow map or after `?` holds nothing.
    ["a:\n", 3],
    ["{ a }\n", 2],
    ["? a\n", 2],
    ["", 0],
    // An alias counts as what it names, every time it is used.
    ["a: &x [1, 2]\nb: *x\nc: *x\n", 13],
    // A merge key is a pair like any other: `<<` plus the alias.
    ["a: &x {k: v}\nb: { <<: *x, c: d }\n", 13],
  ])("%j is %i nodes", (text, nodes) => {
    expect(measureExpansion(parseDocument(text, { merge: true }))).toEqual({ nodes, culprit: null, cyclic: false });
  });

  it("an anchor defined again: an alias names the last one before it", () => {
    expect(measureExpansion(parseDocument("a: &x [1]\nb: &x [1, 2, 3]\nc: *x\n")).nodes).toBe(14);
    expect(measureExpansion(parseDocument("a: &x [1]\nc: *x\nb: &x [1, 2, 3]\n")).nodes).toBe(12);
  });

  it("an alias with no anchor counts as one node", () => {
    expect(measureExpansion(parseDocument("a: *nowhere\n")).nodes).toBe(3);
  });

  it("at the limit is accepted; one over it names the alias, and the count stops just past the limit", () => {
    // root 1; a: key 1 + [1, 2] 3; b: key 1 + list 1 + three copies of 3 = 16 nodes.
    const doc = parseDocument("a: &a [1, 2]\nb: [*a, *a, *a]\n");
    expect(measureExpansion(doc, 16)).toEqual({ nodes: 16, culprit: null, cyclic: false });
    const over = measureExpansion(doc, 15);
    expect([over.nodes, over.cyclic, over.culprit?.source, over.culprit?.range?.[0]]).toEqual([16, false, "a", 17]);
    expect(measureExpansion(doc, 5).nodes).toBe(6);
    expect(measureExpansion(doc, 0).nodes).toBe(1);
  });

  it("the culprit is the alias that expands the most, the first of equals", () => {
    const doc = parseDocument("a: &a [1, 2, 3]\nb: &b [1]\nc: [*b, *a, *b, *a]\n");
    const { culprit } = measureExpansion(doc, 10);
    expect([culprit?.source, culprit?.range?.[0]]).toEqual(["a", 34]);
  });

  it("an alias inside the node it names is cyclic: the first such alias is named", () => {
    const doc = parseDocument("a: [0]\nb: &b [1, *b, *b]\n");
    const result = measureExpansion(doc);
    expect([result.nodes, result.cyclic, result.culprit?.source, result.culprit?.range?.[0]]).toEqual([MAX_EXPANDED_NODES + 1, true, "b", 17]);
  });

  it("an alias of a node above it in a map is cyclic too, whatever the limit", () => {
    const result = measureExpansion(parseDocument("a: &top\n  b: [*top]\n"), 1_000_000_000);
    expect([result.nodes, result.cyclic, result.culprit?.source]).toEqual([1_000_000_001, true, "top"]);
  });
});

describe("pki.yaml with aliases", () => {
  it("a billion-laughs file is refused at the alias that expands the most, fast", () => {
    const started = performance.now();
    const { config, diagnostics } = parseConfig(billionLaughs(), "pki.yaml");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(config).toBeUndefined();
    expect(diagnostics).toEqual([
      { severity: "error", file: "pki.yaml", line: 9, col: 10, message: "aliases such as *g here expand this file past 2,000,000 YAML nodes; refusing it as a resource-exhaustion attack" },
    ]);
  });

  it("an alias inside what it names is refused as never ending, located", () => {
    expect(parseConfig("version: 1\nx-a: &a [1, *a]\ncas:\n  root: {}\n", "pki.yaml").diagnostics).toEqual([
      { severity: "error", file: "pki.yaml", line: 2, col: 13, message: "alias *a refers to a node that contains it, so it never ends" },
    ]);
  });

  it("more than yaml's 100 aliases are fine when they expand to little", () => {
    let yaml = "version: 1\nx-leaf: &leaf { issuer: root, validity: 30d }\ncas:\n  root: {}\nservers:\n";
    for (let i = 0; i < 150; i++) yaml += `  s${i}: { <<: *leaf, altNames: [s${i}.test] }\n`;
    const { config, diagnostics } = parseConfig(yaml, "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.identities.find((id) => id.name === "s149")).toMatchObject({ issuer: "root", validitySeconds: 30 * 86_400 });
  });

  it("an unquoted wildcard or an alias before its anchor is refused with the fix", () => {
    expect(parseConfig("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [*.a.test] }\n", "pki.yaml").diagnostics).toEqual([
      { severity: "error", file: "pki.yaml", line: 5, col: 35, message: '*.a.test must be quoted ("*.a.test"): an unquoted * starts a YAML alias' },
    ]);
    expect(parseConfig("version: 1\ncas:\n  root: *later\nx-later: &later {}\n", "pki.yaml").diagnostics).toEqual([
      { severity: "error", file: "pki.yaml", line: 3, col: 9, message: 'no anchor &later is defined before this *later; define it first, or quote the value ("*later")' },
    ]);
  });
});

describe("duplicate keys", () => {
  const check = (text: string) => {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
    return duplicateKeys(doc, lineCounter, "pki.yaml").map((d) => `${d.severity} ${d.file} ${d.line}:${d.col} ${d.path}: ${d.message}`);
  };

  it("each repeat is reported where it appears again, naming the first line, with its path", () => {
    expect(check("version: 1\ncas:\n  root: {}\n  other: {}\n  root: { validity: 1y }\n  root: {}\n")).toEqual([
      'error pki.yaml 5:3 cas.root: duplicate key "root" (first on line 3); map keys must be unique',
      'error pki.yaml 6:3 cas.root: duplicate key "root" (first on line 3); map keys must be unique',
    ]);
  });

  it("keys are compared as text, in every map, nested in lists too", () => {
    expect(check('a:\n  - { x: 1, y: 2, x: 3 }\nb: { 1: a, "1": b }\n')).toEqual([
      'error pki.yaml 2:19 a.x: duplicate key "x" (first on line 2); map keys must be unique',
      'error pki.yaml 3:12 b.1: duplicate key "1" (first on line 3); map keys must be unique',
    ]);
    expect(check("a: { x: 1 }\nb: { x: 1 }\n")).toEqual([]);
  });

  it("__proto__ is refused by name, every time, and never counted as a repeat", () => {
    expect(check("cas:\n  __proto__: {}\n  __proto__: {}\n")).toEqual([
      'error pki.yaml 2:3 cas.__proto__: "__proto__" cannot be used as a key or name',
      'error pki.yaml 3:3 cas.__proto__: "__proto__" cannot be used as a key or name',
    ]);
  });

  it("a map below a key that is a collection: its path leaves that key out", () => {
    expect(check("? [a]\n: { x: 1, x: 2 }\n")).toEqual(['error pki.yaml 2:11 x: duplicate key "x" (first on line 2); map keys must be unique']);
  });

  it("a key that is itself a collection is compared by its content", () => {
    expect(check("? [a]\n: 1\n? [a]\n: 2\n? [b]\n: 3\n")).toEqual(['error pki.yaml 1:1 ["[\\"a\\"]"]: duplicate key "["a"]" (first on line 1); map keys must be unique']);
  });

  it("through parseConfig: the first problem stops the parse, located", () => {
    expect(parseConfig("version: 1\ncas:\n  root: {}\n  Root: {}\n  root: {}\n", "pki.yaml").diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      '5:3 duplicate key "root" (first on line 3); map keys must be unique',
    ]);
  });
});

describe("locating a YAML path", () => {
  const text = "version: 1\ncas:\n  root:\n    validity: 1y\n  sub: { issuer: root }\nservers:\n  web:\n    altNames: [a.test, b.test]\n";
  const locator = () => {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter });
    return makeLocator("pki.yaml", doc, lineCounter);
  };

  it.each([
    [[], {}, "1:1"],
    [["cas"], {}, "3:3"],
    [["cas"], { key: true }, "2:1"],
    [["cas", "root", "validity"], {}, "4:15"],
    [["cas", "root", "validity"], { key: true }, "4:5"],
    [["cas", "sub", "issuer"], {}, "5:18"],
    [["servers", "web", "altNames", 1], {}, "8:24"],
    // The index of a list entry is no key: its value is the place.
    [["servers", "web", "altNames", 1], { key: true }, "8:24"],
    // Missing: the nearest ancestor that exists, at its key.
    [["cas", "root", "pathLength"], {}, "3:3"],
    [["cas", "sub", "pathLength"], {}, "5:3"],
    [["servers", "web", "altNames", 5], {}, "8:5"],
    [["clients", "bob", "issuer"], {}, "1:1"],
  ] as const)("%j %j is at %s", (path, options, at) => {
    const where = locator()(path, options);
    expect(`${where.line}:${where.col}`).toBe(at);
    expect(where.file).toBe("pki.yaml");
  });

  it("the path is spelled as in messages", () => {
    expect(locator()(["servers", "web", "altNames", 1]).path).toBe("servers.web.altNames[1]");
    expect(locator()(["cas", "a/b"]).path).toBe('cas["a/b"]');
  });

  it("an empty document has no place to point at", () => {
    const lineCounter = new LineCounter();
    const doc = parseDocument("", { lineCounter });
    expect(makeLocator("pki.yaml", doc, lineCounter)(["cas"])).toEqual({ file: "pki.yaml", path: "cas" });
    expect(makeLocator("pki.yaml", doc, lineCounter)(["cas"], { key: true })).toEqual({ file: "pki.yaml", path: "cas" });
  });

  it("a number in a path finds a key written as a number", () => {
    const lineCounter = new LineCounter();
    const doc = parseDocument("cas:\n  1: { issuer: x }\n", { lineCounter });
    const where = makeLocator("pki.yaml", doc, lineCounter)(["cas", "1"], { key: true });
    expect(`${where.line}:${where.col}`).toBe("2:3");
  });

  it("locateInFile: pki.yaml read again, once, only when asked; a file gone leaves the path alone", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "provision-locate-"));
    try {
      writeFileSync(path.join(dir, "pki.yaml"), "version: 1\ncas:\n  x-a: &a {}\n  root: { <<: *a, validity: 1y }\n  root: {}\n");
      const locate = locateInFile({ file: "conf/pki.yaml", baseDir: dir });
      expect(locate(["cas", "root", "validity"])).toEqual({ file: "conf/pki.yaml", line: 4, col: 29, path: "cas.root.validity" });
      writeFileSync(path.join(dir, "pki.yaml"), "version: 1\n\n\ncas:\n  root: {}\n");
      expect(locate(["cas", "root"], { key: true })).toEqual({ file: "conf/pki.yaml", line: 4, col: 3, path: "cas.root" });
      const gone = locateInFile({ file: "pki.yaml", baseDir: path.join(dir, "nowhere") });
      expect(gone(["cas", "root"])).toEqual({ file: "pki.yaml", path: "cas.root" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
