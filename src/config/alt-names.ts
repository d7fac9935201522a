import { isIP, isIPv4 } from "node:net";
import { domainToASCII } from "node:url";
import { checkUri, iriToUri } from "./uri.js";

/** A subjectAltName entry, typed the way RFC 5280 GeneralName distinguishes them. */
export type AltName =
  | { type: "dns"; value: string }
  | { type: "ip"; value: string }
  | { type: "email"; value: string }
  | { type: "uri"; value: string };

export type AltNameResult = { ok: true; name: AltName } | { ok: false; message: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * node:net's isIP, without its IPv6 pattern for text that has no ":": that regular expression is compiled on
 * first use (≈10 ms), a noticeable part of a run that re-reads one changed entry (config/incremental.ts).
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  return (text.includes(":") ? isIP(text) : isIPv4(text) ? 4 : 0) as 0 | 4 | 6;
}

/** Checks a DNS name in preferred name syntax; `*` is allowed only as the whole leftmost label. */
export function checkDnsName(input: string, { allowWildcard = true } = {}): { ok: true; value: string } | { ok: false; message: string } {
  if (input === "*") return { ok: false, message: allowWildcard ? `"*" alone is not a valid name; use a wildcard such as *.example.test` : `"*": a wildcard is not allowed here` };
  const ascii = /^[\x00-\x7f]*$/.test(input) ? input.toLowerCase() : domainToASCII(input);
  if (ascii === "") return { ok: false, message: `"${input}" is not a valid DNS name` };
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.length > 253) return { ok: false, message: `DNS name is ${name.length} characters long; the limit is 253` };
  const labels = name.split(".");
  for (const [index, label] of labels.entries()) {
    if (label === "*" && index === 0 && allowWildcard) {
      if (labels.length < 2) return { ok: false, message: `wildcard "${input}" needs at least one label after "*."` };
      continue;
    }
    // Where wildcards are refused (serve.host, name constraints, emails, URI hosts, acme), never suggest one.
    if (label.includes("*")) return { ok: false, message: allowWildcard ? `"${input}": a wildcard must be the whole leftmost label, as in *.example.test` : `"${input}": a wildcard is not allowed here` };
    if (label.length > 63) return { ok: false, message: `DNS label "${label.slice(0, 20)}…" is ${label.length} characters long; the limit is 63` };
    if (!LABEL.test(label)) return { ok: false, message: `"${input}" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)` };
  }
  return { ok: true, value: name };
}

/** Classifies an altNames entry: IPv4/IPv6 → IP, `x@y` → email, `scheme://…` → URI (in its ASCII form, see iriToUri), anything else → DNS. */
export function classifyAltName(input: string): AltNameResult {
  const text = input.trim();
  if (text === "") return { ok: false, message: "empty alt name" };
  if (ipFamily(text)) return { ok: true, name: { type: "ip", value: canonicalIp(text) } };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const uri = iriToUri(text);
    if (!uri.ok) return uri;
    const checked = checkUri(uri.value);
    if (!checked.ok) return checked;
    try {
      const url = new URL(uri.value);
      if (url.hostname === "" && !text.toLowerCase().startsWith("spiffe:")) {
        return { ok: false, message: `URI "${text}" has no host` };
      }
      return { ok: true, name: { type: "uri", value: uri.value } };
    } catch {
      return { ok: false, message: `"${text}" is not a valid URI` };
    }
  }
  if (text.includes("@")) {
    const at = text.lastIndexOf("@");
    const local = text.slice(0, at);
    const domain = checkDnsName(text.slice(at + 1), { allowWildcard: false });
    if (!/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/.test(local) || local.startsWith(".") || local.endsWith(".")) {
      return { ok: false, message: `"${text}" is not a valid email address` };
    }
    if (!domain.ok) return { ok: false, message: `"${text}" is not a valid email address: ${domain.message}` };
    return { ok: true, name: { type: "email", value: `${local}@${domain.value}` } };
  }
  if (/^[0-9.]+$/.test(text) || text.includes(":")) return { ok: false, message: `"${text}" is not a valid IP address` };
  const dns = checkDnsName(text);
  return dns.ok ? { ok: true, name: { type: "dns", value: dns.value } } : dns;
}

/**
 * X509-SVID §2: a certificate with a SPIFFE ID carries exactly one URI, and SPIFFE validators (go-spiffe,
 * SPIRE, Envoy) refuse one with more; so a spiffe:// altName may not sit next to another URI.
 */
export function svidConflict(names: AltName[]): string | null {
  const uris = names.filter((name) => name.type === "uri");
  const spiffe = uris.find((name) => name.value.startsWith("spiffe://"));
  if (!spiffe || uris.length < 2) return null;
  const other = uris.find((name) => name !== spiffe)!;
  return `"${spiffe.value}" is a SPIFFE ID, and a certificate with one must hold no other URI ("${other.value}"): SPIFFE validators refuse it (X509-SVID §2)`;
}

/** The 4 or 16 bytes of an IP address, as iPAddress GeneralNames carry it. */
export function ipToBytes(ip: string): Buffer {
  if (ipFamily(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  let text = ip;
  const tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipToBytes(dotted[1]!);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = text.slice(0, dotted.index + 1) + "0:0";
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...(rest === undefined ? [] : Array(missing).fill("0")), ...restGroups].map((g) => parseInt(g, 16));
  if (tail.length) groups.splice(6, 2, ...tail);
  const out = Buffer.alloc(16);
  groups.forEach((group, index) => out.writeUInt16BE(group, index * 2));
  return out;
}

/** Text form of IP bytes, as Node and OpenSSL print it (IPv6 compressed). */
export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 says.
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(":");
  const left = groups.slice(0, best.start).join(":");
  const right = groups.slice(best.start + best.length).join(":");
  return `${left}::${right}`;
}

function canonicalIp(ip: string): string {
  return bytesToIp(ipToBytes(ip));
}

/** A stable, comparable text form: `dns:x`, `ip:1.2.3.4`, `email:a@b`, `uri:spiffe://…`. */
export function altNameKey(name: AltName): string {
  return `${name.type}:${name.value}`;
}
