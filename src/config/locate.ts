import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Document, LineCounter } from "yaml";
import type { SourceLocation } from "../errors.js";
import { formatPath } from "../errors.js";
import type { YamlPath } from "./types.js";

export type Locate = (path: YamlPath, options?: { key?: boolean }) => SourceLocation;

// `yaml` is loaded when a location is asked for, not with this module: apply imports locateInFile, and a run
// whose pki.yaml comes from the cache and has no error never parses YAML (test/cli/start-up.test.ts). On Node,
// `import "yaml"` and require("yaml") are the same CommonJS module, so this is the instance config/parse.ts uses.
const yaml = () => createRequire(import.meta.url)("yaml") as typeof import("yaml");

/**
 * Maps a YAML path to line:col in the file. A path that does not exist (a missing key) falls back to the
 * nearest ancestor that does, so the message points at the map the key is missing from.
 */
export function makeLocator(file: string, doc: Document, lineCounter: LineCounter): Locate {
  const { isNode } = yaml();
  return (path, options = {}) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
      let range = isNode(node) ? node.range : undefined;
      // A key that is missing points at its parent's key line ("servers.web" for servers.web.issuer).
      const missing = depth < path.length;
      if ((options.key && depth === path.length && depth > 0) || (missing && depth > 0)) {
        const keyRange = keyNodeRange(doc, prefix);
        if (keyRange) range = keyRange;
      }
      if (range) {
        const { line, col } = lineCounter.linePos(range[0]);
        return { file, line, col, path: formatPath(path) };
      }
    }
    return { file, path: formatPath(path) };
  };
}

function keyNodeRange(doc: Document, path: YamlPath): [number, number, number] | undefined {
  const { isNode } = yaml();
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!parent || typeof parent !== "object" || !("items" in parent) || !Array.isArray(parent.items)) return undefined;
  for (const item of parent.items as unknown[]) {
    if (item && typeof item === "object" && "key" in item) {
      const key = (item as { key: unknown }).key;
      if (isNode(key) && "value" in key && String((key as { value: unknown }).value) === String(last)) {
        return key.range ?? undefined;
      }
    }
  }
  return undefined;
}

/**
 * A Locate for errors found after loading, against files pki.yaml names (an external CA's certificate): the
 * config may come from the cache, so pki.yaml is read and parsed again, once, and only when an error needs a
 * line. If the file cannot be read any more, the error keeps its YAML path without a line.
 */
export function locateInFile(config: { file: string; baseDir: string }): Locate {
  let locate: Locate | undefined;
  return (yamlPath, options) => {
    if (!locate) {
      try {
        const { LineCounter, parseDocument } = yaml();
        const lineCounter = new LineCounter();
        const text = readFileSync(path.join(config.baseDir, path.basename(config.file)), "utf8");
        locate = makeLocator(config.file, parseDocument(text, { lineCounter, uniqueKeys: false, merge: true }), lineCounter);
      } catch {
        locate = (p) => ({ file: config.file, path: formatPath(p) });
      }
    }
    return locate(yamlPath, options);
  };
}
