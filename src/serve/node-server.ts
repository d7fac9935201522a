import { existsSync, readFileSync } from "node:fs";
import https from "node:https";
import { withFs } from "../errors.js";
import type { LaunchFacts } from "../render/launch-facts.js";
import { INTERMEDIATE_CIPHERS } from "../render/tls-profile.js";
import { watchFiles } from "./watch-files.js";

/** A running secret server: one listener per bound address. */
export interface NodeSecretServer {
  close(): Promise<void>;
}

/**
 * The bundled secret server: HTTPS with the identity's fullchain and key, client certificates checked
 * per clientAuth (and against crl-bundle.pem when it exists), answering SECRET_MESSAGE (default "fluffy
 * tail"), on every address in facts.bind, with Mozilla's intermediate TLS profile. Resolves once every
 * listener is up.
 */
export async function startNodeSecretServer(facts: LaunchFacts, message: string): Promise<NodeSecretServer> {
  const mtls = facts.clientAuth !== "none" && facts.files.clientCa !== null;
  const options: https.ServerOptions = {
    ...readIdentity(facts),
    minVersion: "TLSv1.2",
    ciphers: INTERMEDIATE_CIPHERS,
    // Mozilla intermediate: the client's cipher order wins (all offered suites are strong).
    honorCipherOrder: false,
    ALPNProtocols: ["http/1.1"],
    ...(mtls ? { ca: withFs("read", facts.files.clientCa!, () => readFileSync(facts.files.clientCa!)), requestCert: true, rejectUnauthorized: facts.clientAuth === "required", ...readCrl(facts, mtls) } : {}),
  };
  const servers: https.Server[] = [];
  const closeAll = () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  try {
    for (const address of facts.bind) {
      const server = https.createServer(options, (_request, response) => response.end(message));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(facts.port, address, () => resolve());
      });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  // A re-issued certificate or a new CRL is swapped in for new handshakes; open connections keep theirs.
  const stopWatching = watchFiles([facts.files.cert, facts.files.key, ...(mtls && facts.files.crl ? [facts.files.crl] : [])], () => {
    let identity;
    try {
      identity = { ...readIdentity(facts), ...readCrl(facts, mtls) };
    } catch {
      return; // a file missing for now: the old certificate stays until the next change
    }
    try {
      for (const server of servers) server.setSecureContext({ ...options, ...identity });
    } catch {
      // a key that does not match its certificate (the pair is mid-update): keep the old context
    }
  });
  return {
    close: () => {
      stopWatching();
      for (const server of servers) server.closeAllConnections();
      return closeAll();
    },
  };
}

/**
 * The CRLs client certificates are checked against (crl-bundle.pem: one per CA, as OpenSSL's CRL_CHECK_ALL
 * wants), when the output folder has them.
 */
function readCrl(facts: LaunchFacts, mtls: boolean): { crl?: string[] } {
  const file = facts.files.crl;
  if (!mtls || file === null || !existsSync(file)) return {};
  const text = withFs("read", file, () => readFileSync(file, "utf8"));
  // One string per CRL: given the bundle as one buffer, Node loads only its first CRL (the root's), and
  // every client certificate then fails with "unable to get certificate CRL" for its intermediate.
  return { crl: text.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n?/g) ?? [] };
}

function readIdentity(facts: LaunchFacts): { cert: Buffer; key: Buffer } {
  return {
    cert: withFs("read", facts.files.cert, () => readFileSync(facts.files.cert)),
    key: withFs("read", facts.files.key, () => readFileSync(facts.files.key)),
  };
}
