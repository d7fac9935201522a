import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

const SRC = path.join(ROOT, "src");

/**
 * The layers of docs/ARCHITECTURE.md, lowest first: a module may import its own layer and the ones below.
 * A new folder of src/ goes into one of them (and into the document's table).
 */
const LAYERS: readonly (readonly string[])[] = [
  ["config"],
  ["x509"],
  ["plan", "store", "render"],
  ["apply", "sign", "trust", "serve", "watch", "export", "acme"],
  ["cli"],
];
const rankOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank] as const)));

interface Import {
  file: string;
  target: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

/** Every static and dynamic import of src/, with its target resolved ("src/store/layout.ts", "node:fs", "yaml"). */
function imports(): Import[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, "utf8");
    const found = [
      ...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms),
      ...[...text.matchAll(/\bimport\("([^"]+)"\)/g)].map((m) => [m[0], "import", undefined, m[1]] as const),
    ];
    return found.map((m) => {
      const spec = m[3]!;
      const target = spec.startsWith(".") ? path.relative(ROOT, path.resolve(path.dirname(file), spec)).replace(/\.js$/, ".ts") : spec;
      return { file: path.relative(ROOT, file), target, typeOnly: m[2] !== undefined };
    });
  });
}

const folderOf = (file: string) => /^src\/([^/]+)\//.exec(file)?.[1];

describe("the layers of docs/ARCHITECTURE.md", () => {
  const all = imports();

  it("finds the imports it checks", () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all).toContainEqual({ file: "src/plan/build.ts", target: "src/store/layout.ts", typeOnly: false });
  });

  it("every folder of src/ has a layer", () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !rankOf.has(f))).toEqual([]);
  });

  it("imports go one way: a layer imports its own and the ones below, never one above", () => {
    const upward = all.filter((i) => {
      const from = folderOf(i.file);
      const to = folderOf(i.target);
      return from && to && rankOf.get(to)! > rankOf.get(from)!;
    });
    expect(upward.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  it("plan/ and render/ do no I/O: no node:fs, and of store/ only layout.ts (names → paths) and types", () => {
    const impure = all.filter(
      (i) =>
        /^src\/(plan|render)\//.test(i.file) &&
        (i.target.startsWith("node:fs") || (i.target.startsWith("src/store/") && i.target !== "src/store/layout.ts" && !i.typeOnly)),
    );
    expect(impure.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
    const layout = all.filter((i) => i.file === "src/store/layout.ts" && (i.target.startsWith("node:fs") || (i.target.startsWith("src/") && !i.typeOnly && !i.target.startsWith("src/config/"))));
    expect(layout).toEqual([]);
  });

  it("config/zod.ts is the only importer of zod (the build bundles it without zod's locales: scripts/bundle-zod.mjs)", () => {
    expect(new Set(all.filter((i) => i.target === "zod" || i.target.startsWith("zod/")).map((i) => i.file))).toEqual(new Set(["src/config/zod.ts"]));
  });

  it("x509/forge.ts is the only importer of node-forge", () => {
    expect(all.filter((i) => i.target.startsWith("node-forge")).map((i) => i.file)).toEqual(["src/x509/forge.ts"]);
  });

  it("only cli/bin.ts ends the process", () => {
    const exits = sourceFiles(SRC).filter((f) => /^(?!\s*(\/\/|\/?\*)).*process\.exit(Code)?\b/m.test(readFileSync(f, "utf8")));
    expect(exits.map((f) => path.relative(ROOT, f))).toEqual(["src/cli/bin.ts"]);
  });

  it("docs/ARCHITECTURE.md names every folder and top-level module of src/ (a table row `| \`src/<name>/\` | … |`)", () => {
    const doc = readFileSync(path.join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
    const entries = readdirSync(SRC, { withFileTypes: true }).map((e) => (e.isDirectory() ? `\`src/${e.name}/\`` : `\`src/${e.name}\``));
    expect(entries.filter((e) => !doc.includes(`| ${e} |`))).toEqual([]);
  });
});
