import { createServer, type Server } from "node:https";
import { acmeBaseUrl, type AcmeSpec } from "../config/acme.js";
import type { Config } from "../config/types.js";
import type { RevokeRequest } from "../plan/types.js";
import { ProvisionError } from "../errors.js";
import { prepareFolder, prepareOutputFolder } from "../store/guard.js";
import { acmeDir, acmeLockPath, MODES } from "../store/layout.js";
import { acquireLock } from "../store/lock.js";
import { loadAcmeIssuer, type AcmeIssuer } from "./issue.js";
import { AcmeServer } from "./server.js";
import { AcmeState } from "./state.js";
import { tlsCredentials, type TlsCredentials } from "./tls-identity.js";

export interface RunningAcme {
  /** https://host:port/directory */
  directoryUrl: string;
  server: AcmeServer;
  state: AcmeState;
  close(): Promise<void>;
}

/** How often the endpoint looks for a renewed CA or server certificate (provision apply or watch may replace them). */
const REFRESH_MS = 60_000;

/**
 * Starts the ACME endpoint pki.yaml's `acme:` block describes: takes the output folder's ACME lock (one
 * endpoint per folder), reads the saved accounts and orders (pending ones continue), loads the signing CA and
 * the endpoint's TLS identity, and listens.
 */
export interface StartAcmeOptions {
  env: NodeJS.ProcessEnv;
  now?: () => Date;
  log: (line: string) => void;
  port?: number;
  /** Lists a certificate revoked over revokeCert in its CA's CRL (see AcmeServerDeps.publishRevocation). */
  publishRevocation: (request: RevokeRequest) => Promise<void>;
}

export async function startAcme(config: Config, acme: AcmeSpec, options: StartAcmeOptions): Promise<RunningAcme> {
  const now = options.now ?? (() => new Date());
  prepareOutputFolder(config.outputDir);
  prepareFolder(config.outputDir, acmeDir(config.outputDir), MODES.keyDir);
  const lock = await acquireLock(acmeLockPath(config.outputDir), { waitMs: 0 }).catch((error: unknown) => {
    if (error instanceof ProvisionError && error.code === "locked") throw new ProvisionError("locked", "another provision acme is already running for this output folder", { hint: error.hint });
    throw error;
  });
  try {
    const { state, problems } = AcmeState.load(config.outputDir);
    for (const problem of problems) options.log(`acme: ${problem}`);
    let issuer: AcmeIssuer = loadAcmeIssuer(config, acme, options.env);
    let credentials: TlsCredentials = await tlsCredentials(config, acme, issuer, options.env, now());
    const port = options.port ?? acme.listen.port;
    let baseUrl = acmeBaseUrl(acme, port);
    const acmeServer = new AcmeServer({ acme, state, issuer: () => issuer, get baseUrl() { return baseUrl; }, env: options.env, now, log: options.log, publishRevocation: options.publishRevocation });
    const https: Server = createServer({ key: credentials.key, cert: credentials.cert, passphrase: credentials.passphrase }, acmeServer.handle);
    await new Promise<void>((resolve, reject) => {
      https.once("error", (error: NodeJS.ErrnoException) =>
        reject(new ProvisionError("serve-bind", `cannot listen on ${acme.listen.host}:${port}: ${error.code ?? error.message}`, { hint: error.code === "EADDRINUSE" ? "another process uses that port; change acme.listen" : undefined })),
      );
      https.listen(port, acme.listen.host, () => resolve());
    });
    const bound = https.address();
    if (bound && typeof bound === "object") baseUrl = acmeBaseUrl(acme, bound.port);

    // Picks up a renewed CA certificate, and renews or re-reads the endpoint's own certificate.
    const refresh = async () => {
      const fresh = loadAcmeIssuer(config, acme, options.env);
      if (fresh.caCertPem !== issuer.caCertPem) {
        issuer = fresh;
        options.log(`acme: CA ${acme.ca} changed; issuing with its new certificate`);
      }
      const due = credentials.renewAt === null || credentials.renewAt.getTime() <= now().getTime() || fresh === issuer;
      if (!due) return;
      const next = await tlsCredentials(config, acme, issuer, options.env, now());
      if (next.cert !== credentials.cert) {
        https.setSecureContext({ key: next.key, cert: next.cert, passphrase: next.passphrase });
        options.log("acme: the endpoint's TLS certificate was renewed");
      }
      credentials = next;
    };
    const timer = setInterval(() => void refresh().catch((error: unknown) => options.log(`acme: refresh failed: ${(error as Error).message}`)), REFRESH_MS);
    timer.unref();
    return {
      directoryUrl: `${baseUrl}/directory`,
      server: acmeServer,
      state,
      async close() {
        clearInterval(timer);
        https.closeAllConnections();
        await new Promise<void>((resolve) => https.close(() => resolve()));
        await state.flush();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
