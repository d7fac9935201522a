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

/**
 * What an external CA brings from outside pki.yaml (store/external.ts): the certificates above it, nearest
 * first, root last (none for a self-signed root), and the roots ca-bundle.pem publishes for it.
 */
export interface Upstream {
  upstream: readonly string[];
  roots: readonly string[];
}
export type UpstreamOf = (ca: string) => Upstream | undefined;
const none: UpstreamOf = () => undefined;

/** A root: the top of a path with nothing above it (an external CA with certificates above it is not one). */
function isRoot(ca: IdentitySpec, upstreamOf: UpstreamOf): boolean {
  return ca.issuer === null && (upstreamOf(ca.name)?.upstream.length ?? 0) === 0;
}

/** The certificates above the top issuer of a path, when that issuer is external. */
function above(issuers: IdentitySpec[], upstreamOf: UpstreamOf): readonly string[] {
  const top = issuers.at(-1);
  return top ? (upstreamOf(top.name)?.upstream ?? []) : [];
}

export function composeChain(issuers: IdentitySpec[], certOf: (name: string) => string, upstreamOf: UpstreamOf = none): string {
  return issuers.map((i) => certOf(i.name)).join("") + above(issuers, upstreamOf).join("");
}

export function composeFullchain(identity: IdentitySpec, issuers: IdentitySpec[], certOf: (name: string) => string, upstreamOf: UpstreamOf = none): string {
  const intermediates = issuers.filter((i) => !isRoot(i, upstreamOf)).map((i) => certOf(i.name));
  return certOf(identity.name) + intermediates.join("") + above(issuers, upstreamOf).slice(0, -1).join("");
}

export function composeBundle(config: Config, certOf: (name: string) => string, retiredPems: string[], upstreamOf: UpstreamOf = none): string {
  const roots = config.identities.filter((id) => id.kind === "ca" && id.issuer === null).flatMap((id) => upstreamOf(id.name)?.roots ?? [certOf(id.name)]);
  return [...new Set([...roots, ...retiredPems])].join("");
}
