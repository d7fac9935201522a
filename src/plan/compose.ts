import type { Config, IdentitySpec } from "../config/types.js";

/**
 * The derived files, composed from certificate PEMs: chain.pem (issuers, intermediates first, root
 * last), fullchain.pem (certificate + intermediates, what a server sends) and ca-bundle.pem (the roots).
 */
export function issuerPath(config: Config, identity: IdentitySpec): IdentitySpec[] {
  const byName = new Map(config.identities.map((id) => [id.name, id] as const));
  const path: IdentitySpec[] = [];
  for (let cur = identity.issuer === null ? undefined : byName.get(identity.issuer); cur; cur = cur.issuer === null ? undefined : byName.get(cur.issuer)) {
    path.push(cur);
  }
  return path;
}

export function composeChain(issuers: IdentitySpec[], certOf: (name: string) => string): string {
  return issuers.map((i) => certOf(i.name)).join("");
}

export function composeFullchain(identity: IdentitySpec, issuers: IdentitySpec[], certOf: (name: string) => string): string {
  return certOf(identity.name) + issuers.filter((i) => i.issuer !== null).map((i) => certOf(i.name)).join("");
}

export function composeBundle(config: Config, certOf: (name: string) => string, retiredPems: string[]): string {
  const roots = config.identities.filter((id) => id.kind === "ca" && id.issuer === null).map((id) => certOf(id.name));
  return [...roots, ...retiredPems].join("");
}
