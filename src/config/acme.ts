import { isIP } from "node:net";
import type { Diagnostic, SourceLocation } from "../errors.js";
import type { AcmeInput } from "./acme-schema.js";
import { checkDnsName, classifyAltName, type AltName } from "./alt-names.js";
import { ipWithin, networkOf } from "./cidr.js";
import { parseDuration } from "./duration.js";
import { indexByName } from "./issuers.js";
import type { Locate } from "./locate.js";
import { constraintViolation } from "./name-constraints.js";
import type { IdentitySpec, KeyType } from "./types.js";

/** The challenge types `provision acme` validates (dns-01 needs a DNS server under the test's control: not offered). */
export const ACME_CHALLENGES = ["http-01", "tls-alpn-01"] as const;
export type AcmeChallengeType = (typeof ACME_CHALLENGES)[number];

/** One `allow` entry: an exact DNS name, every name below a `.suffix`, or an IP range. */
export type AllowRule = { type: "dns"; value: string } | { type: "suffix"; value: string } | { type: "ip"; value: string; prefix: number };

/** pki.yaml `acme:`, normalised. Plain data (no Maps): the config cache stores it as JSON. */
export interface AcmeSpec {
  /** The CA that signs what the endpoint issues. */
  ca: string;
  listen: { host: string; port: number };
  /** A server identity of pki.yaml whose certificate the endpoint presents; null: one provision manages under <output>/acme/tls. */
  server: string | null;
  allow: AllowRule[];
  validitySeconds: number;
  keyTypes: KeyType[];
  challenges: AcmeChallengeType[];
  httpPort: number;
  tlsPort: number;
  /** `resolve` entries in file order: an exact name or `*.suffix`, and the address validation connects to. */
  resolve: { pattern: string; address: string }[];
  /** External Account Binding: key id → the environment variable holding its base64url HMAC key. Empty: open registration. */
  eab: { keyId: string; hmacEnv: string }[];
  at: SourceLocation;
}

export const DEFAULT_ACME_LISTEN = "127.0.0.1:14000";
export const DEFAULT_ACME_VALIDITY = "7d";


/** Parses `host:port`, `[v6]:port`. */
function parseListen(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const portNumber = Number(match[3]);
  if (portNumber < 1 || portNumber > 65535) return null;
  return { host: (match[1] ?? match[2])!, port: portNumber };
}

/** An allow entry: `.suffix`, a name, an IP or a CIDR range; a message when it is none of them. */
export function parseAllowRule(text: string): AllowRule | string {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr) {
    const family = isIP(cidr[1]!);
    const prefix = Number(cidr[2]);
    if (!family || prefix > (family === 4 ? 32 : 128)) return `"${text}" is not an IP range such as 10.0.0.0/8`;
    return { type: "ip", value: networkOf(cidr[1]!, prefix), prefix };
  }
  if (isIP(text)) return { type: "ip", value: text, prefix: isIP(text) === 4 ? 32 : 128 };
  const suffix = text.startsWith(".");
  const dns = checkDnsName(suffix ? text.slice(1) : text, { allowWildcard: false });
  if (!dns.ok) return `"${text}" is not a name, .suffix or IP range: ${dns.message}`;
  return { type: suffix ? "suffix" : "dns", value: dns.value };
}

/** Whether `name` matches one of the rules (a wildcard never does: it needs dns-01). */
export function allowedByRules(name: AltName, rules: readonly AllowRule[]): boolean {
  return rules.some((rule) => {
    if (rule.type === "ip") return name.type === "ip" && ipWithin(name.value, rule.value, rule.prefix);
    if (name.type !== "dns") return false;
    return rule.type === "dns" ? name.value === rule.value : name.value.endsWith(`.${rule.value}`);
  });
}

/**
 * Why the endpoint refuses to issue for `name`, or null: it must match `allow` and lie within the name
 * constraints of the signing CA and of every CA above it.
 */
export function identifierRefusal(name: AltName, spec: Pick<AcmeSpec, "allow">, caPath: readonly IdentitySpec[]): string | null {
  if (!allowedByRules(name, spec.allow)) return `"${name.value}" is not in the acme allow list of pki.yaml`;
  for (const ca of caPath) {
    const why = ca.nameConstraints && constraintViolation(name, ca.nameConstraints);
    if (why) return `"${name.value}" is outside the name constraints of CA ${ca.name}: ${why}`;
  }
  return null;
}

/** Checks the `acme:` block against the identities and turns it into an AcmeSpec; problems go to `diagnostics`. */
export function normalizeAcme(input: AcmeInput, identities: readonly IdentitySpec[], locate: Locate, diagnostics: Diagnostic[]): AcmeSpec {
  const report = (path: (string | number)[], message: string, key = false) => diagnostics.push({ severity: "error", ...locate(["acme", ...path], { key }), message });
  const byName = indexByName(identities);
  const ca = byName.get(input.ca);
  if (!ca || ca.kind !== "ca") report(["ca"], `acme.ca names no CA: "${input.ca}" is not under cas`);
  else if (ca.issuer === null && input.allowRoot !== true) report(["ca"], `acme.ca is the root CA ${ca.name}; name an intermediate, or set allowRoot: true to sign from the root`);
  else if (ca.external && ca.external.key === null) report(["ca"], `CA ${ca.name} is external without a key: it cannot sign ACME orders here`);
  if (input.server !== undefined && byName.get(input.server)?.kind !== "server") report(["server"], `acme.server names no server: "${input.server}" is not under servers`);
  const listen = parseListen(input.listen ?? DEFAULT_ACME_LISTEN);
  if (!listen) report(["listen"], `listen "${input.listen}" is not host:port (such as 127.0.0.1:14000 or [::1]:14000)`);
  const allow: AllowRule[] = [];
  input.allow.forEach((text, index) => {
    const rule = parseAllowRule(text);
    if (typeof rule === "string") report(["allow", index], rule);
    else allow.push(rule);
  });
  const resolve: AcmeSpec["resolve"] = [];
  for (const [pattern, address] of Object.entries(input.resolve ?? {})) {
    const name = checkDnsName(pattern.startsWith("*.") ? pattern.slice(2) : pattern, { allowWildcard: false });
    if (!name.ok) report(["resolve", pattern], `resolve key "${pattern}" is not a name or *.suffix: ${name.message}`, true);
    else if (!isIP(address)) report(["resolve", pattern], `resolve "${pattern}": "${address}" is not an IP address`);
    else resolve.push({ pattern: pattern.startsWith("*.") ? `*.${name.value}` : name.value, address });
  }
  const eab: AcmeSpec["eab"] = [];
  for (const [keyId, hmacEnv] of Object.entries(input.externalAccountBinding ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(hmacEnv)) report(["externalAccountBinding", keyId], `"${hmacEnv}" is not an environment variable name`);
    else eab.push({ keyId, hmacEnv });
  }
  return {
    ca: input.ca,
    listen: listen ?? { host: "127.0.0.1", port: 14000 },
    server: input.server ?? null,
    allow,
    validitySeconds: parseDuration(input.validity ?? DEFAULT_ACME_VALIDITY)!,
    keyTypes: input.keyTypes ?? ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"],
    challenges: [...new Set(input.challenges ?? ACME_CHALLENGES)],
    httpPort: input.httpPort ?? 80,
    tlsPort: input.tlsPort ?? 443,
    resolve,
    eab,
    at: locate(["acme"], { key: true }),
  };
}

/** The host the endpoint's URLs and certificate name: an unspecified listen address (0.0.0.0, ::) is reached as localhost. */
export function acmePublicHost(listenHost: string): string {
  return listenHost === "0.0.0.0" || listenHost === "::" ? "localhost" : listenHost;
}

/** https://<host>:<port> of the endpoint (a bound port may replace the configured one). */
export function acmeBaseUrl(acme: Pick<AcmeSpec, "listen">, port: number = acme.listen.port): string {
  const host = acmePublicHost(acme.listen.host);
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export const acmeDirectoryUrl = (acme: Pick<AcmeSpec, "listen">): string => `${acmeBaseUrl(acme)}/directory`;

/** The address validation connects to for `name`: the resolve map first (exact, then the longest *.suffix). */
export function resolveOverride(name: string, resolve: AcmeSpec["resolve"]): string | null {
  const exact = resolve.find((entry) => entry.pattern === name);
  if (exact) return exact.address;
  const suffixes = resolve.filter((entry) => entry.pattern.startsWith("*.") && name.endsWith(entry.pattern.slice(1)));
  suffixes.sort((a, b) => b.pattern.length - a.pattern.length);
  return suffixes[0]?.address ?? null;
}

/** An ACME identifier as an alt name (RFC 8555 "dns", RFC 8738 "ip"), or a message why it is not one. */
export function identifierName(identifier: { type: string; value: string }): AltName | string {
  if (identifier.type === "ip") {
    const ip = classifyAltName(identifier.value);
    return ip.ok && ip.name.type === "ip" ? ip.name : `"${identifier.value}" is not an IP address`;
  }
  if (identifier.type !== "dns") return `identifier type "${identifier.type}" is not supported (dns and ip are)`;
  if (identifier.value.startsWith("*.")) return `"${identifier.value}": wildcards need dns-01, which this endpoint does not offer`;
  // Clients predating RFC 8738 send IPs as dns identifiers and put them in the CSR as DNS names: refused.
  if (isIP(identifier.value)) return `"${identifier.value}" is an IP address in a dns identifier; use an identifier of type ip (RFC 8738)`;
  const dns = checkDnsName(identifier.value, { allowWildcard: false });
  return dns.ok ? { type: "dns", value: dns.value } : dns.message;
}
