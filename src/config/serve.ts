import { isIP } from "node:net";
import { checkDnsName } from "./alt-names.js";
import type { IdentitySpec, ServeSpec } from "./types.js";

// serve.* values end up in rendered files that are sourced by shells (server.env), parsed by uwsgi, curl
// and nginx: each is held to a strict grammar here, at load time, and escaped again for each format in
// render/escape.ts (defence in depth: a grammar slip must not become an injection).

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** serve.host: a DNS name (no wildcard), an IPv4 or IPv6 literal (without brackets), or localhost. */
export function checkServeHost(value: string): string | null {
  if (isIP(value)) return null;
  if (value.startsWith("[") && value.endsWith("]") && isIP(value.slice(1, -1)) === 6) return `write the IPv6 address without brackets: ${value.slice(1, -1)}`;
  if (/^[0-9.]+$/.test(value) || /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(value)) return `"${value}" is not a valid IP address`;
  const dns = checkDnsName(value, { allowWildcard: false });
  if (!dns.ok) return `expected a host name, an IPv4/IPv6 address or localhost: ${dns.message}`;
  return null;
}

/** serve.app: a Python `module:callable`, the module dotted (package.module), both identifiers. */
export function checkServeApp(value: string): string | null {
  const colon = value.indexOf(":");
  const modulePart = colon < 0 ? value : value.slice(0, colon);
  const callable = colon < 0 ? "" : value.slice(colon + 1);
  const moduleOk = modulePart.split(".").every((part) => IDENTIFIER.test(part));
  if (colon < 0 || !moduleOk || !IDENTIFIER.test(callable)) {
    return `${JSON.stringify(value)} is not a WSGI app reference: expected module:callable with Python identifiers, e.g. server:app or mypkg.wsgi:application`;
  }
  return null;
}

/** What a server without `serve`, or a `serve` without these fields, is launched with. */
export const SERVE_DEFAULTS = { host: "localhost", port: 5683, clientAuth: "none" } as const;

/**
 * Whose client certificates a server accepts, and which client its client config presents: `serve.clientCa`, or
 * else every CA that issues a client; `serve.client`, or else the first client of those CAs that is not revoked.
 * The one home of that choice: render/launch-facts.ts renders it, config/rules.ts warns when it leaves none.
 */
export function launchClients(identities: readonly IdentitySpec[], serve: Pick<ServeSpec, "clientAuth" | "clientCa" | "client">): { clientCas: string[]; client: string | null } {
  if (serve.clientAuth === "none") return { clientCas: [], client: null };
  const clients = identities.filter((id) => id.kind === "client");
  const clientCas = serve.clientCa !== null ? [serve.clientCa] : [...new Set(clients.map((id) => id.issuer!))];
  const client = serve.client ?? clients.find((id) => id.revoked === null && clientCas.includes(id.issuer!))?.name ?? null;
  return { clientCas, client };
}
