import { readFileSync, watch, type FSWatcher } from "node:fs";
import path from "node:path";
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
    ...readIdentity(facts),
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
  const watcher = watchIdentity(facts, () => {
    let identity;
    try {
      identity = readIdentity(facts);
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
      watcher?.close();
      for (const server of servers) server.closeAllConnections();
      return closeAll();
    },
  };
}

function readIdentity(facts: LaunchFacts): { cert: Buffer; key: Buffer } {
  return {
    cert: withFs("read", facts.files.cert, () => readFileSync(facts.files.cert)),
    key: withFs("read", facts.files.key, () => readFileSync(facts.files.key)),
  };
}

/**
 * Calls onChange ~200 ms after the last change to the identity's certificate or key, so a re-issued or
 * renewed certificate is served without a restart (open connections keep theirs). provision writes by
 * rename, which replaces the file's inode: the folder is watched, not the files. Null when the folder
 * cannot be watched (the server still runs, without reloads).
 */
function watchIdentity(facts: LaunchFacts, onChange: () => void): FSWatcher | null {
  const names = new Set([path.basename(facts.files.cert), path.basename(facts.files.key)]);
  const folder = path.dirname(facts.files.cert);
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(folder, { persistent: false }, (_event, name) => {
      // name can be null on some platforms: then any change in the folder counts
      if (name !== null && !names.has(String(name))) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, 200);
    });
    watcher.on("error", () => watcher.close());
    const close = watcher.close.bind(watcher);
    watcher.close = () => {
      clearTimeout(timer);
      close();
    };
    return watcher;
  } catch {
    return null;
  }
}
