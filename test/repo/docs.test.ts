import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../src/cli/args.js";
import { execaLogged } from "../helpers/spawn.js";
import { ROOT } from "../helpers/cli.js";

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : markdownFiles(full);
    return entry.name.endsWith(".md") ? [full] : [];
  });
}

/** Every `provision …` command inside the ```sh blocks of the docs, as argv. */
function documentedCommands(): { file: string; line: string; argv: string[] }[] {
  const found = [];
  for (const file of [path.join(ROOT, "README.md"), ...markdownFiles(path.join(ROOT, "docs")), ...markdownFiles(path.join(ROOT, "examples"))]) {
    for (const block of readFileSync(file, "utf8").matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const raw of block[1]!.split("\n")) {
        const match = /(?:^|[\s;&]|&&\s*)(?:npx (?:pki-)?|sudo )?provision(?=\s|$)(.*)$/.exec(raw.replace(/#.*$/, "").trim());
        if (!match) continue;
        const rest = match[1]!.split(/\s*(?:\|\||&&|;|>|&$)\s*/)[0]!;
        const argv = rest.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^<(.+)>$/, "$1"));
        found.push({ file: path.relative(ROOT, file), line: raw.trim(), argv });
      }
    }
  }
  return found;
}

describe("the docs", () => {
  const commands = documentedCommands();

  it("show provision commands", () => {
    expect(commands.length).toBeGreaterThanOrEqual(12);
  });

  it.each(commands.map((c) => [`${c.file}: ${c.line}`, c] as const))("%s parses", (_label, { argv }) => {
    expect(() => parseCliArgs(argv)).not.toThrow();
  });
});

describe("the files the docs name", () => {
  it("exist: every test/, src/, docs/ and scripts/ path in the docs, .ci/run and the scripts", () => {
    const texts = [path.join(ROOT, "README.md"), ...markdownFiles(path.join(ROOT, "docs")), path.join(ROOT, ".ci/run"), ...readdirSync(path.join(ROOT, "scripts")).map((f) => path.join(ROOT, "scripts", f))];
    const named = texts.flatMap((file) => [...readFileSync(file, "utf8").matchAll(/(?<![\w/.:-])((?:test|src|docs|scripts)\/[A-Za-z0-9_.\/-]*[A-Za-z0-9_])/g)].map((m) => ({ file: path.relative(ROOT, file), named: m[1]! })));
    expect(named.length).toBeGreaterThan(30);
    const missing = named.filter((n) => !n.named.includes("<") && !existsSync(path.join(ROOT, n.named)) && !existsSync(path.join(ROOT, n.named.replace(/\.js$/, ".ts"))));
    expect(missing.map((m) => `${m.file}: ${m.named}`)).toEqual([]);
  });
});

describe("the README's way in", () => {
  it("npx provision runs the project's own CLI, from the root and from an example folder", async () => {
    const version = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    // A private npm cache: npx keeps per-command folders in ~/.npm/_npx, and another npx running at the same
    // moment (install.e2e, a developer's shell) can remove one while this one reads it (ENOENT in a CI run).
    const cache = mkdtempSync(path.join(tmpdir(), "npx-cache-"));
    try {
      for (const cwd of [ROOT, path.join(ROOT, "examples/secret-squirrels")]) {
        // From a folder without node_modules, npx installs this checkout into its cache as a file: dependency,
        // and npm runs its `prepare` script there: a rebuild of dist/ in the middle of the suite, which other
        // tests were running (a CI run saw dist/config/zod.js unbundled for a moment). The build is done already.
        const env = { ...process.env, npm_config_cache: cache, npm_config_ignore_scripts: "true" };
        const result = await execaLogged("npx", ["--no-install", "provision", "--version"], { cwd, reject: false, env });
        expect(result.stdout.trim(), `${cwd}: ${result.stderr}`).toBe(version);
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
