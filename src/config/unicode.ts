import { isScalar, type Node } from "yaml";

/**
 * A lone UTF-16 surrogate ("\ud800" in a double-quoted YAML string) is not a character: it has no UTF-8 form,
 * so no certificate, file name or message can hold it. With the `u` flag a regex reads a valid pair as one code
 * point, so `\p{Cs}` matches only the lone halves.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** The first lone surrogate in a scalar of pki.yaml, as `\udXXX`, or undefined. */
export function loneSurrogate(node: Node): string | undefined {
  if (!isScalar(node) || typeof node.value !== "string") return undefined;
  const match = LONE_SURROGATE.exec(node.value);
  return match ? `\\u${match[0].charCodeAt(0).toString(16)}` : undefined;
}
