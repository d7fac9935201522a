import type { IdentitySpec } from "./types.js";

/** altNames, plus the commonName when it is a DNS name the list lacks (clients match on SAN only). */
export function sanFor(identity: IdentitySpec): IdentitySpec["altNames"] {
  if (identity.kind === "ca") return identity.altNames;
  const cn = identity.subject.commonName.toLowerCase();
  const looksLikeHost = identity.kind === "server" && /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/.test(cn) && (cn.includes(".") || cn === "localhost");
  if (!looksLikeHost || identity.altNames.some((n) => n.type === "dns" && n.value === cn)) return identity.altNames;
  return [{ type: "dns", value: cn }, ...identity.altNames];
}
