import * as z from "./zod.js";
import { ACME_CHALLENGES, DEFAULT_ACME_LISTEN, DEFAULT_ACME_VALIDITY } from "./acme.js";
import { DURATION_HINT, durationProblem } from "./duration.js";

// The zod schema of the `acme:` block, apart from acme.ts: the rest of provision uses acme.ts's helpers
// (render/launch.ts on every run), and only a pki.yaml that is parsed needs zod.

type Mark = <T extends z.ZodType>(effect: "none", schema: T) => T;

const port = z.number({ error: "expected a port number" }).int().min(1).max(65535);

/**
 * The `acme:` block. `mark` is schema.ts's field-effect declaration (passed in rather than imported, which
 * would be a circular import). Nothing here touches pki.yaml's own certificates: every field is "none".
 */
export function acmeSchema(mark: Mark) {
  const duration = z.string({ error: `expected ${DURATION_HINT}` }).superRefine((value, ctx) => {
    const problem = durationProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
  return z
    .strictObject({
      ca: mark("none", z.string({ error: "expected the name of a CA under cas" }).min(1).describe("The CA that signs what the ACME endpoint issues (typically the intermediate).")),
      allowRoot: mark("none", z.boolean().optional().describe("Set to true to let ca name a root CA (refused otherwise).")),
      listen: mark("none", z.string().min(1).optional().describe(`host:port the endpoint listens on (default ${DEFAULT_ACME_LISTEN}); the directory is https://<listen>/directory.`)),
      server: mark("none", z.string().min(1).optional().describe("A server of pki.yaml whose certificate the endpoint presents; default: one provision manages for the listen address.")),
      allow: mark("none", z.array(z.string(), { error: "expected a list of names: exact names, .suffix rules, IP ranges" }).min(1).describe("Names the endpoint issues for: exact names, .suffix (names below it), IPs and CIDR ranges; always within the CA's name constraints.")),
      validity: mark("none", duration.optional().describe(`Lifetime of issued certificates (default ${DEFAULT_ACME_VALIDITY}).`)),
      keyTypes: mark("none", z.array(z.enum(["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"])).min(1).optional().describe("Key types accepted in a CSR (default: all).")),
      challenges: mark("none", z.array(z.enum(ACME_CHALLENGES)).min(1).optional().describe("Challenge types offered (default: http-01 and tls-alpn-01).")),
      httpPort: mark("none", port.optional().describe("Port http-01 validation connects to (default 80).")),
      tlsPort: mark("none", port.optional().describe("Port tls-alpn-01 validation connects to (default 443).")),
      resolve: mark("none", z.record(z.string(), z.string(), { error: "expected a map of name or *.suffix to an IP address" }).optional().describe("Addresses for names no DNS knows: name or *.suffix → IP, used before the system resolver.")),
      externalAccountBinding: mark("none", z.record(z.string(), z.string(), { error: "expected a map of key id to environment variable name" }).optional().describe("Key id → environment variable holding its base64url HMAC key; when set, new accounts need a binding.")),
    })
    .describe("An RFC 8555 ACME endpoint (provision acme) issuing from one CA of this file.");
}

export type AcmeInput = z.infer<ReturnType<typeof acmeSchema>>;
