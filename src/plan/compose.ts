import { identitiesByName, issuerChain } from "../config/issuers.js";
import type { Config, IdentitySpec } from "../config/types.js";

/**
 * The derived files, composed from certificate PEMs: chain.pem (issuers, intermediates first, root
 * last), fullchain.pem (certificate + intermediates, what a server sends) and ca-bundle.pem (the roots).
 */
const pathsByConfig = new WeakMap<Config, Map<string, IdentitySpec[]>>();

/** The issuers of an identity, nearest first; computed once per config. */
export function issuerPath(config: Config, identity: IdentitySpec): IdentitySpec[] {
  let paths = pathsByConfig.get(config);
  if (!paths) {
    const byName = identitiesByName(config);
    paths = new Map(config.identities.map((id) => [id.name, issuerChain(id, byName)] as const));
    pathsByConfig.set(config, paths);
  }
  return paths.get(identity.name) ?? [];
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
