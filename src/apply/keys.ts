import type { Config } from "../config/types.js";
import type { Deps } from "../deps.js";
import type { Plan } from "../plan/types.js";
import type { KeyMaterial } from "../x509/keys.js";
import { identitiesByName } from "../config/issuers.js";

/** Phase "keys": every key the plan marks `generate`, made in parallel (RSA generation runs off the main thread). */
export async function generatePlannedKeys(
  config: Config,
  plan: Plan,
  deps: Pick<Deps, "generateKey">,
  onKeyGenerated?: (done: number, total: number) => void,
): Promise<Map<string, KeyMaterial>> {
  const generated = new Map<string, KeyMaterial>();
  const toGenerate = plan.actions.filter((a) => a.key === "generate");
  await Promise.all(
    toGenerate.map(async (a) => {
      generated.set(a.name, await deps.generateKey(identitiesByName(config).get(a.name)!.key));
      onKeyGenerated?.(generated.size, toGenerate.length);
    }),
  );
  return generated;
}
