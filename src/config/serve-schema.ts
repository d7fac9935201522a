import * as z from "./zod.js";
import { checkServeApp, checkServeHost, SERVE_DEFAULTS } from "./serve.js";

// The zod fields of `serve`, apart from serve.ts: rendering the launch files (every run) needs its defaults
// and checks, and only a pki.yaml that is parsed needs zod.

const refined = (check: (value: string) => string | null) => (value: string, ctx: z.RefinementCtx) => {
  const message = check(value);
  if (message !== null) ctx.addIssue({ code: "custom", message });
};

/** The fields of `serve`; schema.ts assembles them (with what changing each one forces). */
export const serveFields = {
  host: z.string({ error: "expected a host name or IP address" }).superRefine(refined(checkServeHost)).default(SERVE_DEFAULTS.host).describe("Address the server listens on and clients connect to: a DNS name, an IPv4/IPv6 address or localhost (default). With localhost, every loopback address among the alt names is bound."),
  port: z.number({ error: "expected a port number (1-65535)" }).int().min(1).max(65535).default(SERVE_DEFAULTS.port),
  app: z
    .string({ error: "expected module:callable" })
    .superRefine(refined(checkServeApp))
    .optional()
    .meta({ pattern: "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$", examples: ["server:app"] })
    .describe("WSGI app for uwsgi, module:callable (e.g. server:app), imported from the folder holding pki.yaml."),
  clientAuth: z.enum(["none", "optional", "required"], { error: "expected none, optional or required" }).default(SERVE_DEFAULTS.clientAuth),
  clientCa: z.string().min(1).optional().describe("The CA whose clients are accepted; derived from the clients' issuers when omitted."),
  client: z.string().min(1).optional().describe("The client identity whose certificate the rendered client config presents."),
};
