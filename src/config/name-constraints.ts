import type { AltName } from "./alt-names.js";
import { ipWithin } from "./cidr.js";
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

function emailWithin(mailbox: string, base: string): boolean {
  const host = mailbox.slice(mailbox.lastIndexOf("@") + 1).toLowerCase();
  if (base.includes("@")) return mailbox.toLowerCase() === base.toLowerCase();
  if (base.startsWith(".")) return dnsWithin(host, base);
  return host === base.toLowerCase();
}

function matches(name: AltName, subtree: AltNameConstraint): boolean {
  if (name.type !== subtree.type) return false;
  if (subtree.type === "dns") return dnsWithin(name.value.replace(/^\*\./, "wildcard."), subtree.value);
  if (subtree.type === "ip") return ipWithin(name.value, subtree.value, subtree.prefix);
  return emailWithin(name.value, subtree.value);
}

/**
 * Why a name falls outside a CA's constraints, or null when it is inside. A subtree judges names of its own
 * type only, so URIs (no URI subtrees are written) are never outside.
 */
export function constraintViolation(name: AltName, constraints: NameConstraintsSpec): string | null {
  const excluded = constraints.excluded.find((s) => matches(name, s));
  if (excluded) return `excluded (${subtreeText(excluded)})`;
  const permittedOfType = constraints.permitted.filter((s) => s.type === name.type);
  if (permittedOfType.length && !permittedOfType.some((s) => matches(name, s))) {
    return `not within the permitted ${name.type === "ip" ? "IP ranges" : name.type === "dns" ? "DNS names" : "email domains"} (${permittedOfType.map(subtreeText).join(", ")})`;
  }
  return null;
}

/** A subtree as pki.yaml writes it and plans, errors and `inspect` show it: `.test`, `127.0.0.0/8`, `@example.test`. */
export function subtreeText(subtree: AltNameConstraint): string {
  return subtree.type === "ip" ? `${subtree.value}/${subtree.prefix}` : subtree.value;
}

/** Whether a child CA's permitted subtree lies inside a parent's subtree (so the child only narrows). */
export function subtreeWithin(child: AltNameConstraint, parent: AltNameConstraint): boolean {
  if (child.type !== parent.type) return false;
  if (child.type === "ip" && parent.type === "ip") return child.prefix >= parent.prefix && ipWithin(child.value, parent.value, parent.prefix);
  // `.a.test` is judged as `x.a.test`; dnsWithin also covers a subtree equal to its parent.
  if (child.type === "dns") return dnsWithin(child.value.replace(/^\./, "x."), parent.value);
  return child.value.toLowerCase() === parent.value.toLowerCase() || (parent.value.startsWith(".") && dnsWithin(child.value.replace(/^\./, "x.").replace(/^.*@/, ""), parent.value));
}
