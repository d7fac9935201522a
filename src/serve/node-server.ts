import { readFileSync } from "node:fs";
import https from "node:https";
import { withFs } from "../errors.js";
import type { LaunchFacts } from "../render/launch-facts.js";
import { INTERMEDIATE_CIPHERS } from "../render/tls-profile.js";

/** A running secret server: one listener per bound address. */
export interface NodeSecretServer {
  close(): Promise<void>;
}

/**
 * The bundled secret server: HTTPS with the identity's fullchain and key, client certificates checked
 * per clientAuth, answering SECRET_MESSAGE (default "fluffy tail"), on every address in facts.bind, with
 * Mozilla's intermediate TLS profile. Resolves once every listener is up.
 */
export async function startNodeSecretServer(facts: LaunchFacts, message: string): Promise<NodeSecretServer> {
  const mtls = facts.clientAuth !== "none" && facts.files.clientCa !== null;
  const options: https.ServerOptions = {
    cert: withFs("read", facts.files.cert, () => readFileSync(facts.files.cert)),
    key: withFs("read", facts.files.key, () => readFileSync(facts.files.key)),
    minVersion: "TLSv1.2",
    ciphers: INTERMEDIATE_CIPHERS,
    // Mozilla intermediate: the client's cipher order wins (all offered suites are strong).
    honorCipherOrder: false,
    ALPNProtocols: ["http/1.1"],
    ...(mtls ? { ca: withFs("read", facts.files.clientCa!, () => readFileSync(facts.files.clientCa!)), requestCert: true, rejectUnauthorized: facts.clientAuth === "required" } : {}),
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
  return {
    close: () => {
      for (const server of servers) server.closeAllConnections();
      return closeAll();
    },
  };
}
