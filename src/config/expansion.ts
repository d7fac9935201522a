import { isAlias, isCollection, isPair, visit, type Alias, type Document, type Node } from "yaml";

/**
 * How many YAML nodes a document may hold once every alias is copied where it is used. A 10,000-identity
 * pki.yaml that merges a shared block into each entry expands to a few hundred thousand; a "billion laughs"
 * file (aliases of aliases) to billions.
 */
export const MAX_EXPANDED_NODES = 2_000_000;

export interface Expansion {
  /** Nodes after expanding every alias (capped just past the limit). */
  nodes: number;
  /** The first alias among those that expand the most, when the limit is passed. */
  culprit: Alias | null;
  /** The alias refers to a node that contains it, so it would expand forever. */
  cyclic: boolean;
}

/**
 * Measures the document as it would be after expanding its aliases and merge keys, in time linear in its
 * source: each anchored node's expanded size is computed once. This replaces the `yaml` package's fixed
 * alias count (100), which ordinary configs that use `<<: *leaf` in more than 100 entries run into.
 */
export function measureExpansion(doc: Document, limit = MAX_EXPANDED_NODES): Expansion {
  // An alias refers to the last node with its anchor before it, in document order (the order visit() walks).
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  const aliases: Alias[] = [];
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        targets.set(node, anchors.get(node.source));
        aliases.push(node);
      } else if (node.anchor) anchors.set(node.anchor, node);
    },
  });

  const cap = limit + 1;
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let cyclic: Alias | null = null;
  const sizeOf = (node: unknown): number => {
    if (node === null || typeof node !== "object") return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (open.has(node)) return cap;
    open.add(node);
    let size = 1;
    if (isAlias(node)) {
      const target = targets.get(node);
      if (target && open.has(target)) cyclic ??= node;
      size = target ? sizeOf(target) : 1;
    } else if (isPair(node)) {
      size = sizeOf(node.key) + sizeOf(node.value);
    } else if (isCollection(node)) {
      for (const item of node.items) size = Math.min(cap, size + sizeOf(item));
    }
    open.delete(node);
    size = Math.min(cap, size);
    sizes.set(node, size);
    return size;
  };

  const nodes = sizeOf(doc.contents);
  if (cyclic) return { nodes: cap, culprit: cyclic, cyclic: true };
  if (nodes <= limit) return { nodes, culprit: null, cyclic: false };
  let culprit: Alias | null = null;
  for (const alias of aliases) if (!culprit || sizeOf(alias) > sizeOf(culprit)) culprit = alias;
  return { nodes, culprit, cyclic: false };
}
