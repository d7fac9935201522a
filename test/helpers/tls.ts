import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { onTestFinished } from "vitest";

/** A real Node https server on 127.0.0.1 (or ::1) serving the given identity; closed when the test ends. */
export async function startHttpsServer(identityDir: string, options: { host?: string; ca?: string; requestCert?: boolean } = {}): Promise<number> {
  const server = https.createServer(
    {
      key: readFileSync(path.join(identityDir, "key.pem")),
      cert: readFileSync(path.join(identityDir, "fullchain.pem")),
      ...(options.ca ? { ca: readFileSync(options.ca), requestCert: options.requestCert ?? true, rejectUnauthorized: true } : {}),
    },
    (_req, res) => res.end("fluffy tail"),
  );
  await new Promise<void>((resolve) => server.listen(0, options.host ?? "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/**
 * GETs https://<servername>:<port>/ trusting only `caFile`, connecting to `address` whatever the name,
 * so names like my-site.com are checked without DNS. Resolves to the body, or rejects with the TLS error.
 */
export function httpsGet(args: { port: number; servername: string; caFile: string; address?: string; cert?: string; key?: string }): Promise<string> {
  const address = args.address ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: args.servername,
        port: args.port,
        path: "/",
        ca: readFileSync(args.caFile),
        servername: /^[\d.:]+$/.test(args.servername) ? undefined : args.servername,
        lookup: (_host, opts, cb) => {
          const family = address.includes(":") ? 6 : 4;
          if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
          else cb(null, address, family);
        },
        agent: false,
        ...(args.cert ? { cert: readFileSync(args.cert), key: readFileSync(args.key!) } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
