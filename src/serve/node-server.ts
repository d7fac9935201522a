import { readFileSync } from "node:fs";
import https from "node:https";
import type { LaunchFacts } from "../render/launch-facts.js";

/**
 * The bundled secret server: HTTPS with the identity's fullchain and key, client certificates checked
 * per clientAuth, answering SECRET_MESSAGE (default "fluffy tail"). Resolves once listening.
 */
export async function startNodeSecretServer(facts: LaunchFacts, message: string): Promise<https.Server> {
  const mtls = facts.clientAuth !== "none" && facts.files.clientCa !== null;
  const server = https.createServer(
    {
      cert: readFileSync(facts.files.cert),
      key: readFileSync(facts.files.key),
      ...(mtls ? { ca: readFileSync(facts.files.clientCa!), requestCert: true, rejectUnauthorized: facts.clientAuth === "required" } : {}),
    },
    (_request, response) => response.end(message),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(facts.port, facts.host, () => resolve());
  });
  return server;
}
