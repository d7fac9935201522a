import type { AltName } from "./alt-names.js";
import { ipWithin } from "./cidr.js";
import { uriHost } from "./uri.js";
import type { AltNameConstraint, NameConstraintsSpec } from "./types.js";

/**
 * Name-constraint matching as RFC 5280 §4.2.1.10 and OpenSSL's nc_match() do it: a DNS base matches itself
 * and any name with labels added on the left ("example.test" matches "a.example.test"); a base with a
 * leading dot matches subdomains only. An IP range matches addresses of its family inside it. An email
 * base is a mailbox, a host (mailboxes at that host) or ".domain" (mailboxes at hosts below it).
 */
export function dnsWithin(name: string, base: string): boolean {
  const n = name.toLowerCase();
  const b = base.toLowerCase();
  if (b === "" || b === ".") return true;
  if (b.startsWith(".")) return n.length > b.length && n.endsWith(b);
  return n === b || n.endsWith(`.${b}`);
}

/**
 * Whether a mailbox matches an email base, as every verifier would have it. The verifiers differ on one form:
 * a host base (`@example.test`, written `example.test`) covers that host alone for OpenSSL, GnuTLS and RFC 5280,
 * but also its subdomains for Go (matchDomainConstraint). So a permitted host base admits only its host, and an
 * excluded one also shuts out its subdomains: what provision issues then passes all three. The local part of a
 * mailbox base is compared case-sensitively (RFC 5280 §7.5; all three do), the host never.
 */
function emailWithin(mailbox: string, base: string, as: "permitted" | "excluded"): boolean {
  const at = mailbox.lastIndexOf("@");
  const host = mailbox.slice(at + 1).toLowerCase();
  const baseAt = base.lastIndexOf("@");
  if (baseAt >= 0) return mailbox.slice(0, at) === base.slice(0, baseAt) && host === base.slice(baseAt + 1).toLowerCase();
  if (base.startsWith(".")) return dnsWithin(host, base);
  return as === "excluded" ? dnsWithin(host, base) : host === base.toLowerCase();
}

/**
 * A URI against a URI subtree (only an external CA's certificate holds one): its host, as a host base (that host)
 * or a `.domain` base (hosts below it). The same split as email: Go lets a host base cover subdomains, OpenSSL
 * does not (GnuTLS ignores URI constraints), so permitted is read strictly and excluded broadly. A URI without a
 * host name matches nothing, and is refused on its own in constraintViolation.
 */
function uriWithin(uri: string, base: string, as: "permitted" | "excluded"): boolean {
  const host = uriHost(uri)?.toLowerCase();
  if (host === undefined) return false;
  if (base.startsWith(".") || as === "excluded") return dnsWithin(host, base);
  return host === base.toLowerCase();
}

function matches(name: AltName, subtree: AltNameConstraint, as: "permitted" | "excluded"): boolean {
  if (name.type !== subtree.type) return false;
  if (subtree.type === "dns") return dnsWithin(name.value.replace(/^\*\./, "wildcard."), subtree.value);
  if (subtree.type === "ip") return ipWithin(name.value, subtree.value, subtree.prefix);
  if (subtree.type === "uri") return uriWithin(name.value, subtree.value, as);
  return emailWithin(name.value, subtree.value, as);
}

const TYPE_WORDS = { ip: "IP ranges", dns: "DNS names", email: "email domains", uri: "URI hosts" } as const;

/**
 * Why a name falls outside a CA's constraints, or null when it is inside. A subtree judges names of its own
 * type only: a URI is free under DNS, IP and email subtrees (OpenSSL, GnuTLS and Go agree), and only a URI
 * subtree, which pki.yaml cannot write but an external CA can hold, constrains it.
 */
export function constraintViolation(name: AltName, constraints: NameConstraintsSpec): string | null {
  if (name.type === "uri" && uriHost(name.value) === null && [...constraints.permitted, ...constraints.excluded].some((s) => s.type === "uri")) {
    return "a URI without a host name (or with an IP address) under URI constraints, which OpenSSL and Go refuse";
  }
  const excluded = constraints.excluded.find((s) => matches(name, s, "excluded"));
  if (excluded) return `excluded (${subtreeText(excluded)})`;
  // GnuTLS does not match URIs, and fails closed: under an excluded URI subtree it refuses every URI.
  const uriExcluded = name.type === "uri" ? constraints.excluded.find((s) => s.type === "uri") : undefined;
  if (uriExcluded) return `a URI under an excluded URI subtree (${subtreeText(uriExcluded)}), which GnuTLS refuses whatever its host`;
  const permittedOfType = constraints.permitted.filter((s) => s.type === name.type);
  if (permittedOfType.length && !permittedOfType.some((s) => matches(name, s, "permitted"))) {
    return `not within the permitted ${TYPE_WORDS[name.type]} (${permittedOfType.map(subtreeText).join(", ")})`;
  }
  return null;
}

/**
 * A subtree as it is encoded, and as plans, errors, `inspect` and state.json show it: `.test`, `127.0.0.0/8`, and
 * an email host or domain without the `@` pki.yaml writes before it (`example.test`, under "email domains").
 */
export function subtreeText(subtree: AltNameConstraint): string {
  return subtree.type === "ip" ? `${subtree.value}/${subtree.prefix}` : subtree.value;
}

/** Whether a child CA's permitted subtree lies inside a parent's subtree (so the child only narrows). */
export function subtreeWithin(child: AltNameConstraint, parent: AltNameConstraint): boolean {
  if (child.type !== parent.type) return false;
  if (child.type === "ip" && parent.type === "ip") return child.prefix >= parent.prefix && ipWithin(child.value, parent.value, parent.prefix);
  // `.a.test` is judged as `x.a.test`; dnsWithin also covers a subtree equal to its parent.
  if (child.type === "dns") return dnsWithin(child.value.replace(/^\./, "x."), parent.value);
  // Email: a mailbox is within what admits it; a host or .domain within a parent host or .domain that covers
  // all of it (a host parent covers only that host: what every verifier admits, see emailWithin).
  if (child.value.includes("@")) return emailWithin(child.value, parent.value, "permitted");
  if (parent.value.includes("@")) return false;
  if (parent.value.startsWith(".")) return dnsWithin(child.value.replace(/^\./, "x."), parent.value);
  return child.value.toLowerCase() === parent.value.toLowerCase();
}
