import path from "node:path";
import { launchClients, SERVE_DEFAULTS } from "../config/serve.js";
import type { Config, IdentitySpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { identitiesByName } from "../config/issuers.js";
import { bundlePath, crlBundlePath, identityPaths, launchDir } from "../store/layout.js";

/** Everything needed to start one server and to connect to it, as absolute paths. */
export interface LaunchFacts {
  server: string;
  host: string;
  /** Addresses the server listens on: the host, or with localhost every loopback address in the SANs. */
  bind: string[];
  port: number;
  url: string;
  app: string | null;
  appDir: string;
  clientAuth: "none" | "optional" | "required";
  dir: string;
  files: {
    cert: string;
    key: string;
    chain: string;
    caBundle: string;
    clientCa: string | null;
    /** Under mTLS: crl-bundle.pem, the CRLs client certificates are checked against. */
    crl: string | null;
    clientCert: string | null;
    clientKey: string | null;
  };
  /**
   * Under mTLS, the nginx front uwsgi runs behind (uwsgi's TLS loads no CRL): its config, the folder for
   * its pid and temp files, and the unix socket it passes plain HTTP to.
   */
  front: { conf: string; runDir: string; socket: string } | null;
  /** CAs whose chains make up client-ca.pem. */
  clientCas: string[];
  /**
   * CAs of the client chains whose CRL provision cannot sign (external, without their key). nginx and Node
   * check CRLs for every CA of a chain and refuse a client when one is missing, so with any of these the
   * client certificates are checked without CRLs (and a launch warning says so).
   */
  crlless: string[];
  client: string | null;
}

/** Servers that declare `serve`. */
export function servedServers(config: Config): IdentitySpec[] {
  // A revoked server has no certificate left to serve.
  return config.identities.filter((id) => id.kind === "server" && id.serve !== null && id.revoked === null);
}

export function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * With host localhost, clients may resolve it to 127.0.0.1 or ::1: the server binds each loopback address
 * the certificate names (127.0.0.1 alone when it names neither). Any other host is bound as given.
 */
export function bindAddresses(server: IdentitySpec, host: string): string[] {
  if (host !== "localhost") return [host];
  const ips = new Set(server.altNames.filter((n) => n.type === "ip").map((n) => n.value));
  const loopbacks = ["127.0.0.1", "::1"].filter((ip) => ips.has(ip));
  return loopbacks.length ? loopbacks : ["127.0.0.1"];
}

/**
 * Derives a server's launch facts. The client CA is `serve.clientCa`, or else every CA that issues a
 * client; the client whose certificate the client config presents is `serve.client`, or else the first
 * client issued by one of those CAs.
 */
export function launchFacts(config: Config, serverName: string): LaunchFacts {
  const server = config.identities.find((id) => id.name === serverName && id.kind === "server");
  if (!server) {
    const names = config.identities.filter((id) => id.kind === "server").map((id) => id.name);
    throw new ProvisionError("unknown-server", `no server named "${serverName}" in ${config.file}`, { hint: `servers: ${names.join(", ") || "none"}` });
  }
  const serve = server.serve ?? { ...SERVE_DEFAULTS, app: null, clientCa: null, client: null, at: { file: config.file }, appAt: null };
  const paths = identityPaths(config.outputDir, "server", server.name);
  const dir = launchDir(config.outputDir, server.name);
  const mtls = serve.clientAuth !== "none";
  const { clientCas, client } = launchClients(config.identities, serve);
  const crlless = casWithoutCrl(config, clientCas);
  const clientPaths = client === null ? null : identityPaths(config.outputDir, "client", client);
  return {
    server: server.name,
    host: serve.host,
    bind: bindAddresses(server, serve.host),
    port: serve.port,
    url: `https://${hostForUrl(serve.host)}:${serve.port}`,
    app: serve.app,
    appDir: config.baseDir,
    clientAuth: serve.clientAuth,
    dir,
    files: {
      cert: paths.fullchain,
      key: paths.key,
      chain: paths.chain,
      caBundle: bundlePath(config.outputDir),
      clientCa: mtls ? path.join(dir, "client-ca.pem") : null,
      crl: mtls && crlless.length === 0 ? crlBundlePath(config.outputDir) : null,
      clientCert: clientPaths?.fullchain ?? null,
      clientKey: clientPaths?.key ?? null,
    },
    front: mtls ? { conf: path.join(dir, "nginx-front.conf"), runDir: path.join(dir, "run"), socket: path.join(dir, "run", "uwsgi.sock") } : null,
    clientCas,
    crlless,
    client,
  };
}

/** The environment a client of this server runs with: the URL and the CA bundle under every name clients read. */
export function clientEnvironment(facts: LaunchFacts): Record<string, string> {
  const env: Record<string, string> = {
    SECRET_URL: facts.url,
    SSL_CERT_FILE: facts.files.caBundle,
    REQUESTS_CA_BUNDLE: facts.files.caBundle,
    CURL_CA_BUNDLE: facts.files.caBundle,
    NODE_EXTRA_CA_CERTS: facts.files.caBundle,
  };
  if (facts.files.clientCert && facts.files.clientKey) {
    env.CLIENT_CERT_FILE = facts.files.clientCert;
    env.CLIENT_KEY_FILE = facts.files.clientKey;
  }
  return env;
}

export function serverEnvironment(facts: LaunchFacts): Record<string, string> {
  const env: Record<string, string> = {
    TLS_CERT_FILE: facts.files.cert,
    TLS_KEY_FILE: facts.files.key,
    TLS_CHAIN_FILE: facts.files.chain,
    TLS_CLIENT_AUTH: facts.clientAuth,
    SERVER_HOST: facts.host,
    SERVER_PORT: String(facts.port),
  };
  if (facts.files.clientCa) env.TLS_CLIENT_CA_FILE = facts.files.clientCa;
  if (facts.files.crl) env.TLS_CRL_FILE = facts.files.crl;
  return env;
}

/** The CAs, from each client CA up to its root, that are external without their key (no CRL from provision). */
function casWithoutCrl(config: Config, clientCas: readonly string[]): string[] {
  const byName = identitiesByName(config);
  const found = new Set<string>();
  for (const name of clientCas) {
    for (let ca = byName.get(name); ca; ca = ca.issuer === null ? undefined : byName.get(ca.issuer)) {
      if (ca.external && ca.external.key === null) found.add(ca.name);
    }
  }
  return [...found];
}
