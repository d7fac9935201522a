import type { Config, IdentitySpec } from "./types.js";

/** The issuers of an identity, nearest first; stops at a missing issuer or a cycle (rules report those). */
export function issuerChain(id: IdentitySpec, byName: ReadonlyMap<string, IdentitySpec>): IdentitySpec[] {
  const chain: IdentitySpec[] = [];
  for (let cur = id.issuer === null ? undefined : byName.get(id.issuer); cur && cur !== id && !chain.includes(cur); cur = cur.issuer === null ? undefined : byName.get(cur.issuer)) {
    chain.push(cur);
  }
  return chain;
}

/** Identities by name (the one way to index them; use identitiesByName when you hold the Config). */
export function indexByName<T extends { name: string }>(identities: readonly T[]): Map<string, T> {
  return new Map(identities.map((id) => [id.name, id] as const));
}

const indexes = new WeakMap<Config, ReadonlyMap<string, IdentitySpec>>();

/** Every identity of a config by name, built once per config (a Config is never changed after loading). */
export function identitiesByName(config: Config): ReadonlyMap<string, IdentitySpec> {
  let index = indexes.get(config);
  if (!index) indexes.set(config, (index = indexByName(config.identities)));
  return index;
}
