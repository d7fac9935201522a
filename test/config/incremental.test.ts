import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { reparseChanged, type SourceLayout } from "../../src/config/incremental.js";
import { loadConfig } from "../../src/config/load.js";
import { rememberParse, withoutBound } from "../helpers/incremental.js";

/**
 * The incremental re-read (config/incremental.ts) against the full parse: for random edits to a generated
 * pki.yaml, whatever the incremental path returns equals what a full parse of the new text gives (config,
 * warnings, layout), and it returns nothing when the full parse finds an error, so every error is reported by
 * the full parse at its place.
 */

interface Entry {
  name: string;
  issuer: string;
  altNames: string[];
  validity?: string;
  serve?: { port: number };
  extra?: string;
  /** afterChange as a block scalar that keeps its trailing blank lines (|+): lines after it are part of it. */
  hook?: boolean;
  block: boolean;
}
interface Model {
  defaultsValidity: string;
  constrained: boolean;
  lint: boolean;
  servers: Entry[];
  clients: Entry[];
  trailer: string;
}

function renderEntry(e: Entry, kind: "server" | "client"): string {
  const fields: [string, string][] = [["issuer", e.issuer]];
  if (e.altNames.length || kind === "server") fields.push(["altNames", `[${e.altNames.join(", ")}]`]);
  if (e.validity) fields.push(["validity", e.validity]);
  if (e.serve && kind === "server") fields.push(["serve", `{ port: ${e.serve.port} }`]);
  if (e.extra) fields.push([e.extra, "x"]);
  if (!e.block) return `  ${e.name}: { ${fields.map(([k, v]) => `${k}: ${v}`).join(", ")} }\n`;
  let out = `  ${e.name}:\n`;
  for (const [k, v] of fields) {
    if (k === "altNames" && e.altNames.length) out += `    altNames:\n${e.altNames.map((a) => `      - ${a}\n`).join("")}`;
    else out += `    ${k}: ${v}\n`;
  }
  return e.hook ? `${out}    afterChange: |+\n      echo ${e.name}\n\n` : out;
}

function render(m: Model): string {
  let text = `version: 1\noutput: ./out\ndefaults: { validity: ${m.defaultsValidity} }\n`;
  if (m.lint) text += "lint: { maxLeafValidity: 200d }\n";
  text += "cas:\n  root: { validity: 10y }\n";
  text += `  int: { issuer: root, validity: 5y${m.constrained ? ", nameConstraints: { permitted: [.test, 10.0.0.0/8] }" : ""} }\n`;
  text += "servers:\n" + m.servers.map((e) => renderEntry(e, "server")).join("");
  if (m.clients.length) text += "clients:\n" + m.clients.map((e) => renderEntry(e, "client")).join("");
  return text + m.trailer;
}

// Names YAML reads as numbers (1, 02) leave their section to the full parse: rarer, so the fast path is exercised.
const names = fc.oneof({ weight: 9, arbitrary: fc.constantFrom("web", "api", "db", "cache", "mail", "Web", "a.b", "x_y", "int", "root") }, fc.constantFrom("1", "02"));
const altName = fc.constantFrom("a.test", "b.test", "c.test", "10.1.2.3", "10.9.9.9", "api.example.com", "ops@x.test", "*.w.test", "bad..name", "spiffe://x.test/s");
const validity = fc.constantFrom("90d", "30d", "400d", "900d", "1h", "2m", "10y", "7x");
const entry = fc.record({
  name: names,
  issuer: fc.constantFrom("int", "int", "int", "root", "nope"),
  altNames: fc.uniqueArray(altName, { maxLength: 3 }),
  validity: fc.option(validity, { nil: undefined }),
  serve: fc.option(fc.record({ port: fc.integer({ min: 1024, max: 9000 }) }), { nil: undefined }),
  extra: fc.option(fc.constantFrom("altName", "colour"), { nil: undefined, freq: 8 }),
  hook: fc.boolean(),
  block: fc.boolean(),
});
/** An entry the full parse accepts (with the constraints on), to start from. */
const validEntry = fc.record({
  name: fc.oneof({ weight: 9, arbitrary: fc.constantFrom("web", "api", "db", "cache", "mail", "a.b", "x_y") }, fc.constantFrom("1", "02")),
  issuer: fc.constantFrom("int", "root"),
  altNames: fc.uniqueArray(fc.constantFrom("a.test", "b.test", "c.test", "10.1.2.3"), { minLength: 1, maxLength: 3 }),
  validity: fc.option(fc.constantFrom("90d", "30d", "400d", "900d", "4m"), { nil: undefined }),
  serve: fc.option(fc.record({ port: fc.integer({ min: 1024, max: 9000 }) }), { nil: undefined }),
  hook: fc.boolean(),
  block: fc.boolean(),
});
const uniqueEntries = (max: number) => fc.uniqueArray(validEntry, { maxLength: max, selector: (e) => e.name });
const model = fc.record({
  defaultsValidity: fc.constantFrom("90d", "60d"),
  constrained: fc.boolean(),
  lint: fc.boolean(),
  servers: uniqueEntries(8).filter((list) => list.length > 0),
  clients: uniqueEntries(3),
  trailer: fc.constantFrom("", "", "# the end\n", "x-later: 1\n"),
});

/** Edits made to the model, re-rendered, or to the text itself (lines added, removed, re-indented). */
type Edit = (m: Model, text: string) => string;
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(), altName).map(([i, j, a]): Edit => (m) => {
    const e = m.servers[i % Math.max(1, m.servers.length)];
    if (e) e.altNames.length ? (e.altNames[j % e.altNames.length] = a) : e.altNames.push(a);
    return render(m);
  }),
  fc.tuple(fc.nat(), altName).map(([i, a]): Edit => (m) => {
    m.servers[i % Math.max(1, m.servers.length)]?.altNames.push(a);
    return render(m);
  }),
  fc.nat().map((i): Edit => (m) => {
    m.servers[i % Math.max(1, m.servers.length)]?.altNames.pop();
    return render(m);
  }),
  fc.tuple(fc.nat(), names).map(([i, n]): Edit => (m) => {
    const list = i % 2 ? m.clients : m.servers;
    const e = list[i % Math.max(1, list.length)];
    if (e) e.name = n;
    return render(m);
  }),
  fc.tuple(fc.nat(), entry, fc.boolean()).map(([i, e, client]): Edit => (m) => {
    (client ? m.clients : m.servers).splice(i % 9, 0, e);
    return render(m);
  }),
  fc.nat().map((i): Edit => (m) => {
    const list = i % 3 ? m.servers : m.clients;
    list.splice(i % Math.max(1, list.length), 1);
    return render(m);
  }),
  fc.tuple(fc.nat(), fc.option(validity, { nil: undefined }), fc.boolean()).map(([i, v, serve]): Edit => (m) => {
    const e = m.servers[i % Math.max(1, m.servers.length)];
    if (e) {
      e.validity = v;
      e.serve = serve ? { port: 8000 + (i % 100) } : undefined;
      e.block = !e.block;
    }
    return render(m);
  }),
  fc.constantFrom<Edit>(
    (m) => ((m.defaultsValidity = m.defaultsValidity === "90d" ? "60d" : "90d"), render(m)),
    (m) => ((m.constrained = !m.constrained), render(m)),
    (m) => ((m.lint = !m.lint), render(m)),
  ),
  // Text-level edits: whatever a person (or a bad merge) can do to lines.
  fc.tuple(fc.nat(), fc.constantFrom("  extra: { issuer: int, altNames: [e.test] }", "    - z.test", "  &a", "  q: *a", "  r: !!str x", "---", "# note", "  # note", "\t", "bad: [", "  s: { <<: { issuer: int }, altNames: [m.test] }", "  t: { issuer: int, issuer: root, altNames: [t.test] }", "servers:", "   ", "", "      more")).map(
    ([i, line]): Edit => (_m, text) => {
      const lines = text.split("\n");
      lines.splice(i % lines.length, 0, line);
      return lines.join("\n");
    },
  ),
  fc.nat().map((i): Edit => (_m, text) => {
    const lines = text.split("\n");
    lines.splice(i % lines.length, 1);
    return lines.join("\n");
  }),
  fc.tuple(fc.nat(), fc.constantFrom(" ", "  ", "")).map(([i, pad]): Edit => (_m, text) => {
    const lines = text.split("\n");
    const at = i % lines.length;
    lines[at] = pad + lines[at]!.trimStart();
    return lines.join("\n");
  }),
);

const PROPERTY_RUNS = Number(process.env.PROPERTY_RUNS ?? 400);
// INCREMENTAL_SERVERS=200 for the mutation run: three full parses of 2,000 servers take seconds per mutant.
const SERVERS = Number(process.env.INCREMENTAL_SERVERS ?? 2000);

describe("reading pki.yaml incrementally", () => {
  // PROPERTY_RUNS=0 skips this property (about 20 s a run): the mutation run of incremental.ts scores the example-based
  // tests below (docs/MUTATION.md).
  it.skipIf(PROPERTY_RUNS === 0)("gives what a full parse gives, for random edits (or steps aside, always when there is an error)", () => {
    let fast = 0;
    let valid = 0;
    fc.assert(
      fc.property(model, fc.array(edit, { minLength: 1, maxLength: 6 }), (start, edits) => {
        const m = structuredClone(start);
        let text = render(m);
        const first = parseConfig(text, "pki.yaml", { cwd: "/p" });
        if (!first.config || !first.layout) return;
        let remembered = rememberParse(text, first.config, first.layout);
        for (const apply of edits) {
          text = apply(m, text);
          const full = parseConfig(text, "pki.yaml", { cwd: "/p" });
          const fullErrors = full.diagnostics.filter((d) => d.severity === "error");
          const incremental = reparseChanged(remembered, text, "pki.yaml");
          if (full.config) valid++;
          if (incremental) {
            fast++;
            // The edits are closures fast-check cannot print: the two texts say what went wrong.
            const context = `remembered ${JSON.stringify(remembered.text)}\nnew ${JSON.stringify(text)}`;
            expect(fullErrors, context).toEqual([]);
            expect(incremental.config, context).toEqual(full.config);
            expect(incremental.warnings, context).toEqual(full.diagnostics);
            expect(withoutBound(incremental.layout), context).toEqual(withoutBound(full.layout!));
            expect(incremental.layout.expandedNodes).toBeGreaterThanOrEqual(full.layout!.expandedNodes);
          }
          // A valid text is remembered as loadConfig remembers it: the incremental result when there is one.
          if (full.config) {
            const next = incremental ?? full;
            if (next.layout) remembered = rememberParse(text, next.config!, next.layout);
          }
        }
      }),
      // PROPERTY_RUNS=5000 for a longer search.
      { numRuns: PROPERTY_RUNS },
    );
    // The property says nothing if the fast path is never taken: most model edits take it.
    // (Edits to defaults, lint or the CA's constraints, and sections keyed by numbers, are read in full.)
    expect(valid).toBeGreaterThan(200);
    expect(fast).toBeGreaterThan(valid / 5);
  }, 120_000);

  it("re-reads only the changed entry: an altName changed in the middle of 2,000 servers", () => {
    const middle = SERVERS / 2;
    const yaml = (alt: string) => `version: 1\ncas:\n  root: {}\nservers:\n${Array.from({ length: SERVERS }, (_, i) => `  s${i}: { issuer: root, altNames: [${i === middle ? alt : `s${i}.test`}] }\n`).join("")}`;
    const before = parseConfig(yaml(`s${middle}.test`), "pki.yaml", { cwd: "/p" });
    const after = reparseChanged(rememberParse(yaml(`s${middle}.test`), before.config!, before.layout!), yaml("renamed.test"), "pki.yaml");
    expect(after).not.toBeNull();
    expect(after!.config.identities.find((id) => id.name === `s${middle}`)!.altNames).toEqual([{ type: "dns", value: "renamed.test" }]);
    expect(after!.config).toEqual(parseConfig(yaml("renamed.test"), "pki.yaml", { cwd: "/p" }).config);
  }, 60_000);

  it("a blank line typed before an entry belongs to the entry above it (a |+ block scalar keeps it)", () => {
    const base = "version: 1\ncas:\n  root: {}\nservers:\n  a:\n    issuer: root\n    altNames: [a.test]\n    afterChange: |+\n      echo a\n\n  b: { issuer: root, altNames: [b.test] }\n";
    const first = parseConfig(base, "pki.yaml", { cwd: "/p" });
    // Two spaces and a newline: the text in common runs into b's line, so the change seems to start inside b.
    const edited = base.replace("\n  b:", "\n  \n  b:");
    const after = reparseChanged(rememberParse(base, first.config!, first.layout!), edited, "pki.yaml");
    const full = parseConfig(edited, "pki.yaml", { cwd: "/p" });
    expect(full.config!.identities.find((id) => id.name === "a")!.afterChange!.command).toBe("echo a\n\n\n");
    expect(after?.config ?? full.config).toEqual(full.config);
  });

  it("failing twins: a changed default, an anchor used elsewhere, an error: each left to the full parse", () => {
    const base = "version: 1\ndefaults: { validity: 90d }\nx-leaf: &leaf { issuer: root }\ncas:\n  root: {}\nservers:\n  a: { issuer: root, altNames: [a.test] }\n  b: { <<: *leaf, altNames: [b.test] }\n";
    const first = parseConfig(base, "pki.yaml", { cwd: "/p" });
    const remembered = rememberParse(base, first.config!, first.layout!);
    expect(reparseChanged(remembered, base.replace("a.test", "a2.test"), "pki.yaml")).not.toBeNull();
    expect(reparseChanged(remembered, base.replace("90d", "30d"), "pki.yaml")).toBeNull();
    expect(reparseChanged(remembered, base.replace("b.test", "b2.test"), "pki.yaml")).toBeNull();
    expect(reparseChanged(remembered, base.replace("a.test", "a..test"), "pki.yaml")).toBeNull();
    expect(reparseChanged(remembered, base.replace("[a.test]", "[a.test, a.test]"), "pki.yaml")).toBeNull();
  });
});

describe("the remembered text in the config cache", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const yaml = (alt: string, validity = "90d") => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [${alt}], validity: ${validity} }\n  api: { issuer: root, altNames: [api.test] }\n`;
  const cacheEntry = () => {
    const folder = path.join(dir, "cache/provision");
    const file = path.join(folder, readdirSync(folder).find((n) => n.endsWith(".json"))!);
    return { file, entry: JSON.parse(readFileSync(file, "utf8")) as { key: string; source: { text: string; layout: SourceLayout } } };
  };

  it("is used when intact, and a tampered or stale one is not: the result is the full parse's either way", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "provision-incremental-"));
    const env = { XDG_CACHE_HOME: path.join(dir, "cache") };
    const load = () => loadConfig("pki.yaml", { cwd: dir, env });
    writeFileSync(path.join(dir, "pki.yaml"), yaml("web.test"));
    await load();
    expect(cacheEntry().entry.source.text).toBe(yaml("web.test"));

    // Intact: the edit is read incrementally, and gives the full parse's config.
    writeFileSync(path.join(dir, "pki.yaml"), yaml("www.test"));
    const edited = await load();
    expect(edited.config).toEqual(parseConfig(yaml("www.test"), "pki.yaml", { cwd: dir }).config);

    // Tampered: the remembered text says the alt name was www2.test (so the diff would look like one entry) but
    // also carries a lie about the other entry; it no longer hashes to the key, so it is not used.
    const { file, entry } = cacheEntry();
    const lie = yaml("www.test").replace("api.test", "evil.test");
    writeFileSync(file, JSON.stringify({ ...entry, source: { ...entry.source, text: lie } }));
    writeFileSync(path.join(dir, "pki.yaml"), yaml("w3.test"));
    const afterTamper = await load();
    expect(afterTamper.config).toEqual(parseConfig(yaml("w3.test"), "pki.yaml", { cwd: dir }).config);
    expect(cacheEntry().entry.source.text).toBe(yaml("w3.test"));

    // Layout offsets moved by one: an entry's start no longer at its key. Sanity checks or the diff catch it,
    // or the result still equals the full parse (what matters).
    const again = cacheEntry();
    const shiftedLayout = { ...again.entry.source.layout, sections: again.entry.source.layout.sections.map((s) => ({ ...s, entries: s.entries.map((e) => ({ ...e, start: e.start + 1 })) })) };
    writeFileSync(again.file, JSON.stringify({ ...again.entry, source: { ...again.entry.source, layout: shiftedLayout } }));
    writeFileSync(path.join(dir, "pki.yaml"), yaml("w4.test"));
    expect((await load()).config).toEqual(parseConfig(yaml("w4.test"), "pki.yaml", { cwd: dir }).config);

    // An error after an edit is reported by the full parse, at its line, whatever the cache holds.
    writeFileSync(path.join(dir, "pki.yaml"), yaml("w4.test", "7x"));
    await expect(load()).rejects.toMatchObject({ diagnostics: [expect.objectContaining({ line: 5, path: "servers.web.validity" })] });
  });
});
