import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { measureExpansion } from "../../src/config/expansion.js";
import { parseConfig } from "../../src/config/parse.js";
import { project, provisionBin } from "../helpers/cli.js";

/** n servers that all merge one shared block, the documented way to share settings. */
function mergedYaml(n: number): string {
  let yaml = "version: 1\nx-leaf: &leaf { issuer: root, validity: 30d, key: ecdsa-p384 }\ncas:\n  root: {}\nservers:\n";
  for (let i = 0; i < n; i++) yaml += `  s${i}: { <<: *leaf, altNames: [s${i}.test] }\n`;
  return yaml;
}

/** Nine lists of nine aliases of the list before: 9^9 scalars once expanded, from a 10-line file. */
function billionLaughs(): string {
  let yaml = 'version: 1\nx-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
  const names = "abcdefghi";
  for (let i = 1; i < names.length; i++) yaml += `x-${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(", ")}]\n`;
  return `${yaml}cas:\n  root: {}\n`;
}

describe("YAML aliases are limited by the size they expand to", () => {
  it("2,000 identities merging one anchor parse, each with the merged settings", () => {
    const { config, diagnostics } = parseConfig(mergedYaml(2000), "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.identities).toHaveLength(2001);
    const last = config!.identities.find((id) => id.name === "s1999")!;
    expect([last.issuer, last.key, last.validitySeconds]).toEqual(["root", "ecdsa-p384", 30 * 86400]);
  });

  it("a billion-laughs file is refused at the alias, with its line, without expanding it", () => {
    const started = performance.now();
    const { config, diagnostics } = parseConfig(billionLaughs(), "pki.yaml");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(config).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: "error", file: "pki.yaml", line: 9 });
    expect(diagnostics[0]!.message).toMatch(/aliases such as \*g here expand this file past 2,000,000 YAML nodes/);
  });

  it("counts every node after expansion: at the limit is accepted, one over it is refused", () => {
    // root map 1; a: key 1 + [1, 2] 3; b: key 1 + list 1 + three copies of 3 = 16 nodes (pairs are not counted).
    const doc = parseDocument("a: &a [1, 2]\nb: [*a, *a, *a]\n");
    expect(measureExpansion(doc, 16)).toEqual({ nodes: 16, culprit: null, cyclic: false });
    const over = measureExpansion(doc, 15);
    expect(over.culprit?.source).toBe("a");
    expect(over.culprit?.range?.[0]).toBe(17);
  });

  it("an alias inside the node it names is refused, located", () => {
    const { diagnostics } = parseConfig("version: 1\nx-a: &a [1, *a]\ncas:\n  root: {}\n", "pki.yaml");
    expect(diagnostics).toEqual([expect.objectContaining({ line: 2, col: 13, message: expect.stringMatching(/alias \*a refers to a node that contains it/) })]);
  });

  it("the CLI prints the located error and no stack trace", async () => {
    const p = project(billionLaughs());
    const run = await provisionBin([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pki\.yaml:9:\d+: aliases such as \*g here expand/m);
    expect(run.stderr).not.toMatch(/\n\s+at |bug in provision/);
  });
});
