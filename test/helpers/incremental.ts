import { expect } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { reparseChanged, type Remembered, type Reparsed, type SourceLayout } from "../../src/config/incremental.js";
import type { Config } from "../../src/config/types.js";

/** Checks shared by the case-by-case tests of the incremental re-read (config/incremental.ts). */

export const FILE = "pki.yaml";
export const fullParse = (text: string) => parseConfig(text, FILE, { cwd: "/p" });

/** What the config cache keeps of a parse: its text, layout and config without `file`, through JSON. */
export function rememberParse(text: string, config: Config, layout: SourceLayout): Remembered {
  const { file: _file, ...rest } = config;
  return JSON.parse(JSON.stringify({ text, layout, config: rest })) as Remembered;
}

/** What the config cache keeps of the full parse of a valid `text`. */
export function remember(text: string): Remembered {
  const { config, layout } = fullParse(text);
  expect(layout, "the base text has a layout").toBeDefined();
  return rememberParse(text, config!, layout!);
}

/** A layout without its bound on the expanded size, which may only err upwards (it is compared on its own). */
export const withoutBound = (layout: SourceLayout) => ({ ...layout, expandedNodes: 0 });

/** The fast path is taken, and gives exactly what the full parse of `edited` gives. */
export function expectFast(remembered: Remembered, edited: string): Reparsed {
  expect(edited).not.toBe(remembered.text);
  const expected = fullParse(edited);
  expect(expected.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const got = reparseChanged(remembered, edited, FILE);
  expect(got, "the fast path steps aside").not.toBeNull();
  expect(got!.config).toEqual(expected.config);
  expect(got!.warnings).toEqual(expected.diagnostics);
  expect(withoutBound(got!.layout)).toEqual(withoutBound(expected.layout!));
  // The bound on the expanded size may only err upwards (it adds the fragment's nodes to what was remembered).
  expect(got!.layout.expandedNodes).toBeGreaterThanOrEqual(expected.layout!.expandedNodes);
  return got!;
}

/** Steps aside (null) for the full parse to answer; `valid`, when given: whether that parse accepts the text. */
export function expectNull(remembered: Remembered, edited: string, valid?: boolean): void {
  if (valid !== undefined) expect(fullParse(edited).config !== undefined, "the edited text's validity").toBe(valid);
  expect(reparseChanged(remembered, edited, FILE)).toBeNull();
}
