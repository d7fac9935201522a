/**
 * "Did you mean …?" for a word the user typed (a pki.yaml field, a command, an option), as git and cargo do.
 * Case, `_` and `-` are ignored (`commonname`, `alt_names`); otherwise the closest candidate by edit distance
 * (adjacent swaps count as one edit: `stauts`) wins when it is close enough for the word's length, or a
 * candidate that extends the word (`passphrase` → `passphraseEnv`). `aliases` maps words people carry over from
 * other tools (`sans`, `cn`) to a candidate; an alias only counts when its target is a candidate here.
 */
export function closest(word: string, candidates: Iterable<string>, aliases?: ReadonlyMap<string, string>): string | undefined {
  const list = [...candidates];
  const plain = fold(word);
  if (plain.length === 0) return undefined;
  const alias = aliases?.get(plain);
  if (alias !== undefined && list.includes(alias)) return alias;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of list) {
    const distance = editDistance(plain, fold(candidate));
    if (distance === 0) return candidate;
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  // Short words tolerate one edit, longer ones about a third of their length (2 for `sever`, 3 for `rotateKeys`).
  if (best && best.distance <= Math.max(1, Math.round(plain.length / 3))) return best.candidate;
  if (plain.length >= 4) return list.find((candidate) => fold(candidate).startsWith(plain));
  return undefined;
}

function fold(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, "");
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
