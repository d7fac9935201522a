import { describe, expect, it } from "vitest";
import { declaredEffects } from "../../src/config/schema.js";
import { COMPARED_FIELDS } from "../../src/plan/diff.js";

/** Identity fields (`cas.*.key` → `key`, `servers.*.subject.country` → `subject`) with the given effect. */
function identityFields(effects: Map<string, string | undefined>, effect: string): Set<string> {
  const names = new Set<string>();
  for (const [path, declared] of effects) {
    const match = /^(?:cas|servers|clients)\.\*\.([^.]+)$/.exec(path);
    if (match && declared === effect) names.add(match[1]!);
  }
  return names;
}

describe("what each pki.yaml field forces (config/schema.ts)", () => {
  const effects = declaredEffects();

  it("every field, at every depth, declares its effect", () => {
    expect(effects.size).toBeGreaterThan(40);
    expect([...effects].filter(([, effect]) => effect === undefined).map(([path]) => path)).toEqual([]);
  });

  it("the planner compares exactly the fields declared reissue", () => {
    expect([...COMPARED_FIELDS].sort()).toEqual([...identityFields(effects, "reissue")].sort());
  });

  it("a field declares the same effect in every section and in defaults", () => {
    const byName = new Map<string, Set<string | undefined>>();
    for (const [path, effect] of effects) {
      const match = /^(?:(?:cas|servers|clients)\.\*|defaults)\.(.+)$/.exec(path);
      if (!match) continue;
      byName.set(match[1]!, (byName.get(match[1]!) ?? new Set()).add(effect));
    }
    expect([...byName].filter(([, set]) => set.size > 1).map(([name]) => name)).toEqual([]);
  });

  it.each([
    ["servers.*.altNames", "reissue"],
    ["cas.*.nameConstraints.permitted", "reissue"],
    ["defaults.subject.organization", "reissue"],
    ["servers.*.renewBefore", "renew"],
    ["clients.*.rotateKey", "renew"],
    ["cas.*.passphraseEnv", "rewrite"],
    ["servers.*.serve.port", "none"],
  ])("%s: %s", (path, effect) => {
    expect(effects.get(path)).toBe(effect);
  });
});
