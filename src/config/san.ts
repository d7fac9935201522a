import { checkDnsName, classifyAltName, ipFamily, type AltName } from "./alt-names.js";
import type { IdentitySpec, YamlPath } from "./types.js";

/**
 * What a commonName means to a verifier. OpenSSL (NAME_CONSTRAINTS_check_CN) treats a leaf's CN made of
 * letters, digits, `_`, `-` and inner dots as a host name and holds it to the DNS name constraints; GnuTLS
 * does the same when the certificate has no DNS alt name. So any CN that looks like a host, an IP or a
 * mailbox is read as that name: a server's goes into the SAN, and every leaf's is checked against the
 * constraints of each CA above it. Anything else (spaces, other punctuation) is a display name.
 */
export type CommonNameMeaning =
  | { kind: "name"; name: AltName }
  | { kind: "invalid"; message: string; lowerCase: string }
  | { kind: "display" };

// Broader than a valid host name on purpose: `-a.test` or `x.-.test` look like hosts, so they are judged as
// such (and refused) rather than slipping through as display names.
const HOST_LIKE = /^[a-z0-9_*-]+(\.[a-z0-9_*-]*)*$/i;

export function commonNameMeaning(commonName: string): CommonNameMeaning {
  const cn = commonName.trim();
  if (ipFamily(cn)) {
    const ip = classifyAltName(cn);
    return ip.ok ? { kind: "name", name: ip.name } : { kind: "invalid", message: ip.message, lowerCase: cn.toLowerCase() };
  }
  if (/^[^\s@]+@[^\s@]+$/.test(cn)) {
    const email = classifyAltName(cn);
    return email.ok && email.name.type === "email" ? { kind: "name", name: email.name } : { kind: "display" };
  }
  if (!HOST_LIKE.test(cn) || !(cn.includes(".") || cn.toLowerCase() === "localhost")) return { kind: "display" };
  const dns = checkDnsName(cn);
  return dns.ok ? { kind: "name", name: { type: "dns", value: dns.value } } : { kind: "invalid", message: dns.message, lowerCase: cn.toLowerCase() };
}

/** altNames, plus a server's commonName when it names a host or IP the list lacks (clients match on SAN only). */
export function sanFor(identity: Pick<IdentitySpec, "kind" | "subject" | "altNames">): AltName[] {
  if (identity.kind !== "server") return identity.altNames;
  const meaning = commonNameMeaning(identity.subject.commonName);
  if (meaning.kind !== "name" || meaning.name.type === "email") return identity.altNames;
  const cn = meaning.name;
  if (identity.altNames.some((n) => n.type === cn.type && n.value === cn.value)) return identity.altNames;
  return [cn, ...identity.altNames];
}

/**
 * Every name a verifier may hold to name constraints: the SAN, and a leaf's commonName when it reads as a
 * host, IP or mailbox (see commonNameMeaning). CAs' own commonNames are not checked by verifiers.
 */
export function constrainedNamesFor(identity: Pick<IdentitySpec, "kind" | "subject" | "altNames">): { name: AltName; fromCommonName: boolean }[] {
  const san = sanFor(identity);
  const out = san.map((name) => ({ name, fromCommonName: !identity.altNames.includes(name) }));
  if (identity.kind === "ca") return out;
  const meaning = commonNameMeaning(identity.subject.commonName);
  // A host-like CN that is not a valid host name (a server's is refused by a rule) is still matched as
  // one: OpenSSL reads `build_bot.example.com` as a host, although `_` is not allowed in host names.
  const name: AltName | null = meaning.kind === "name" ? meaning.name : meaning.kind === "invalid" ? { type: "dns", value: meaning.lowerCase } : null;
  if (name && !san.some((n) => n.type === name.type && n.value === name.value)) out.push({ name, fromCommonName: true });
  return out;
}

/**
 * Where a name outside a CA's constraints is reported, and how it is spelled: at its alt name, or else at
 * commonName, saying why a commonName is held to constraints at all (config/rules.ts, config/external.ts).
 */
export function constrainedNameAt(identity: Pick<IdentitySpec, "subject" | "altNames"> & { yamlPath: YamlPath }, name: AltName): { path: (string | number)[]; what: string } {
  const index = identity.altNames.findIndex((n) => n.type === name.type && n.value === name.value);
  if (index >= 0) return { path: [...identity.yamlPath, "altNames", index], what: `"${name.value}"` };
  return { path: [...identity.yamlPath, "commonName"], what: `commonName "${identity.subject.commonName}" (verifiers hold a commonName that reads as a host, IP or email to the constraints too)` };
}
