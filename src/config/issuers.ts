import type { IdentitySpec } from "./types.js";

/** The issuers of an identity, nearest first; stops at a missing issuer or a cycle (rules report those). */
export function issuerChain(id: IdentitySpec, byName: ReadonlyMap<string, IdentitySpec>): IdentitySpec[] {
  const chain: IdentitySpec[] = [];
  for (let cur = id.issuer === null ? undefined : byName.get(id.issuer); cur && cur !== id && !chain.includes(cur); cur = cur.issuer === null ? undefined : byName.get(cur.issuer)) {
    chain.push(cur);
  }
  return chain;
}
