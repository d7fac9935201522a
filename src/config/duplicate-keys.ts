import { isScalar, visit, type Document, type LineCounter } from "yaml";
import { formatPath, type Diagnostic } from "../errors.js";

/** Keys that appear twice in one map, each reported where it appears again. */
export function duplicateKeys(doc: Document, lineCounter: LineCounter, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Map(_key, map, ancestry) {
      const seen = new Map<string, number>();
      const path = ancestry.flatMap((node) => ("key" in (node as object) && isScalar((node as { key: unknown }).key) ? [String(((node as { key: { value: unknown } }).key).value)] : []));
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
        if (key === "__proto__") {
          // toJS() would turn it into the object's prototype rather than a key: refuse it by name.
          const { line, col } = lineCounter.linePos(offset);
          found.push({ severity: "error", file, line, col, path: formatPath([...path, key]), message: `"__proto__" cannot be used as a key or name` });
          continue;
        }
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, offset);
          continue;
        }
        const { line, col } = lineCounter.linePos(offset);
        found.push({ severity: "error", file, line, col, path: formatPath([...path, key]), message: `duplicate key "${key}" (first on line ${lineCounter.linePos(first).line}); map keys must be unique` });
      }
    },
  });
  return found;
}
