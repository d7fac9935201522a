import { z } from "zod";
import { DURATION_HINT, parseDuration, parseRenewBefore } from "./duration.js";

export const KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

const keyType = z.string({ error: `expected a key type: ${KEY_TYPES.join(" | ")}` }).superRefine((value, ctx) => {
  if ((KEY_TYPES as readonly string[]).includes(value)) return;
  const rsa = /^rsa-(\d+)$/.exec(value);
  const message =
    rsa && Number(rsa[1]) < 2048
      ? `RSA keys below 2048 bits are refused (${value}); use rsa-2048 or larger, or ecdsa-p256`
      : `unknown key type "${value}"; expected one of ${KEY_TYPES.join(", ")}`;
  ctx.addIssue({ code: "custom", message });
}).meta({ enum: [...KEY_TYPES] });

const duration = z
  .string({ error: `expected ${DURATION_HINT}` })
  .refine((value) => parseDuration(value) !== undefined, { error: (issue) => `malformed duration "${String(issue.input)}": expected ${DURATION_HINT}` })
  .meta({ pattern: "^[1-9][0-9]{0,5}[hdwy]$", examples: ["90d", "2y"] });

const renewBefore = z
  .string({ error: "expected a duration such as 30d or a fraction of the lifetime such as 1/3" })
  .refine((value) => parseRenewBefore(value) !== undefined, {
    error: (issue) => `malformed renewBefore "${String(issue.input)}": expected a duration such as 30d or a fraction below 1 such as 1/3`,
  })
  .meta({ pattern: "^([1-9][0-9]{0,5}[hdwy]|[1-9][0-9]?/[1-9][0-9]?)$", examples: ["30d", "1/3"] });

const subject = z
  .strictObject({
    country: z.string().regex(/^[A-Z]{2}$/, { error: "country must be a two-letter ISO 3166 code such as US" }),
    state: z.string().min(1).max(128),
    locality: z.string().min(1).max(128),
    organization: z.string().min(1).max(64),
    organizationalUnit: z.string().min(1).max(64),
  })
  .partial()
  .describe("Distinguished-name fields; commonName is set per identity.");
export type SubjectInput = z.infer<typeof subject>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name such as CA_PASSPHRASE" });

const common = {
  commonName: z.string().min(1).max(64).optional().describe("Subject CN; defaults to the first DNS alt name or the identity's name."),
  key: keyType.optional().describe(`Key algorithm: ${KEY_TYPES.join(" | ")}.`),
  validity: duration.optional().describe("Lifetime of the certificate: <n>h, <n>d, <n>w or <n>y (365 days)."),
  renewBefore: renewBefore.optional().describe("Renew this long before expiry (30d), or once this fraction of the lifetime is left (1/3)."),
  subject: subject.optional(),
  passphraseEnv: envName.optional().describe("Encrypt the private key with the passphrase held in this environment variable."),
  formats: z
    .array(z.enum(["pem", "der", "p12", "combined"], { error: "expected pem, der, p12 or combined" }))
    .optional()
    .describe("Extra outputs: der (cert.der, key.der), p12 (identity.p12 with key and chain), combined (combined.pem: cert, chain, key). PEM is always written."),
  p12PassphraseEnv: envName.optional().describe("Password of identity.p12, from this environment variable (default: changeit, as mkcert)."),
};

const nameConstraints = z.strictObject({
  permitted: z.array(z.string()).optional(),
  excluded: z.array(z.string()).optional(),
});

const caSchema = z.strictObject({
  ...common,
  issuer: z.string().min(1).optional().describe("The CA that signs this one; omit for a self-signed root."),
  pathLength: z.number().int().min(0).max(16).optional().describe("How many CAs may stand below this one."),
  nameConstraints: nameConstraints.optional().describe("DNS suffixes, IP ranges (CIDR) and email domains this CA may issue for."),
});

const serveSchema = z.strictObject({
  host: z.string().min(1).default("localhost"),
  port: z.number().int().min(1).max(65535).default(5683),
  app: z.string().min(1).optional().describe("WSGI app for uwsgi, module:callable (e.g. server:app)."),
  clientAuth: z.enum(["none", "optional", "required"]).default("none"),
  clientCa: z.string().min(1).optional().describe("The CA whose clients are accepted; derived from the clients' issuers when omitted."),
  client: z.string().min(1).optional().describe("The client identity whose certificate the rendered client config presents."),
});

const leafCommon = {
  ...common,
  issuer: z.string({ error: "every server and client needs an issuer: the name of a CA under cas" }).min(1),
  rotateKey: z.enum(["always", "never"]).optional().describe("Whether a renewed certificate gets a fresh key."),
};

const serverSchema = z.strictObject({
  ...leafCommon,
  altNames: z.array(z.string({ error: "expected a host name, IP address, email or URI" }), { error: "expected a list of names" }).describe("DNS names, IPs, emails and URIs."),
  serve: serveSchema.optional(),
});

const clientSchema = z.strictObject({
  ...leafCommon,
  altNames: z.array(z.string({ error: "expected a host name, IP address, email or URI" }), { error: "expected a list of names" }).optional(),
});

const defaultsSchema = z.strictObject({
  key: keyType.optional(),
  validity: duration.optional(),
  renewBefore: renewBefore.optional(),
  rotateKey: z.enum(["always", "never"]).optional(),
  subject: subject.optional(),
  passphraseEnv: envName.optional().describe("Encrypt every private key with the passphrase in this environment variable."),
});

function identityMap<T extends z.ZodType>(item: T) {
  return z.record(z.string(), item, { error: "expected a map of names to identities" }).optional();
}

export const pkiSchema = z.strictObject({
  version: z.literal(1, { error: "version must be 1 (the only pki.yaml format so far)" }),
  output: z.string().min(1).optional().describe("Folder everything is written to, relative to pki.yaml. Default ./pki."),
  defaults: defaultsSchema.optional(),
  lint: z
    .strictObject({
      maxLeafValidity: duration.optional().describe("Warn when a server or client certificate is valid for longer (e.g. 398d, the browsers' limit for public certificates)."),
    })
    .optional()
    .describe("Extra lifetime checks; --strict turns their warnings into errors."),
  cas: identityMap(caSchema),
  servers: identityMap(serverSchema),
  clients: identityMap(clientSchema),
});

export type PkiInput = z.infer<typeof pkiSchema>;
export type CaInput = z.infer<typeof caSchema>;
export type ServerInput = z.infer<typeof serverSchema>;
export type ClientInput = z.infer<typeof clientSchema>;
export type ServeInput = z.infer<typeof serveSchema>;
