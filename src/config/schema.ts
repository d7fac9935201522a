import * as z from "./zod.js";
import { DURATION_HINT, durationProblem, parseRenewBefore } from "./duration.js";
import { serveFields } from "./serve-schema.js";
import { closest } from "../suggest.js";

/**
 * What changing a field does to what is already issued, declared next to each field as terraform-provider-tls
 * marks attributes RequiresReplace. plan/diff.ts compares exactly the "reissue" fields (a test checks the two
 * agree, and that every field declares one):
 * - reissue: the certificate no longer matches the spec; the next run issues a new one.
 * - renew:   changes only when, or with which key, the next renewal happens; nothing is issued now.
 * - rewrite: files are rewritten (a key re-encrypted, an extra format written), no certificate is issued.
 * - revoke:  the identity's certificates are revoked (listed in its CA's CRL) and its files removed.
 * - none:    certificates and keys are untouched (launch config, lint, the file's version).
 */
export type FieldEffect = "reissue" | "renew" | "rewrite" | "revoke" | "none";

/** The effect of every field, kept out of the JSON Schema (editors have no use for it). */
export const fieldEffects = z.registry<{ effect: FieldEffect }>();

/** Declares what changing `schema`'s field does; wrap each field of an object as its last step. */
function effect<T extends z.ZodType>(value: FieldEffect, schema: T): T {
  fieldEffects.add(schema, { effect: value });
  return schema;
}
import { externalCaFields } from "./external.js";
import { acmeSchema } from "./acme-schema.js";
import { REVOCATION_REASONS } from "./types.js";

export const KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

const keyType = z.string({ error: `expected a key type: ${KEY_TYPES.join(" | ")}` }).superRefine((value, ctx) => {
  if ((KEY_TYPES as readonly string[]).includes(value)) return;
  const rsa = /^rsa-(\d+)$/.exec(value);
  const message =
    rsa && Number(rsa[1]) < 2048
      ? `RSA keys below 2048 bits are refused (${value}); use rsa-2048 or larger, or ecdsa-p256`
      : `unknown key type "${value}"; ${((guess) => (guess ? `did you mean ${guess}?` : `expected one of ${KEY_TYPES.join(", ")}`))(closest(value, KEY_TYPES))}`;
  ctx.addIssue({ code: "custom", message });
}).meta({ enum: [...KEY_TYPES] });

const duration = z
  .string({ error: `expected ${DURATION_HINT}` })
  .superRefine((value, ctx) => {
    const problem = durationProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ pattern: "^[1-9][0-9]{0,5}[mhdwy]$", examples: ["90d", "2y"] });

const renewBefore = z
  .string({ error: "expected a duration such as 30d or a fraction of the lifetime such as 1/3" })
  .refine((value) => parseRenewBefore(value) !== undefined, {
    error: (issue) => `malformed renewBefore "${String(issue.input)}": expected a duration such as 30d or a fraction below 1 such as 1/3`,
  })
  .meta({ pattern: "^([1-9][0-9]{0,5}[mhdwy]|[1-9][0-9]?/[1-9][0-9]?)$", examples: ["30d", "1/3"] });

const subject = z
  .strictObject({
    country: effect("reissue", z.string().regex(/^[A-Z]{2}$/, { error: "country must be a two-letter ISO 3166 code such as US" }).optional()),
    state: effect("reissue", z.string().min(1).max(128).optional()),
    locality: effect("reissue", z.string().min(1).max(128).optional()),
    organization: effect("reissue", z.string().min(1).max(64).optional()),
    organizationalUnit: effect("reissue", z.string().min(1).max(64).optional()),
  })
  .describe("Distinguished-name fields; commonName is set per identity.");
export type SubjectInput = z.infer<typeof subject>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name such as CA_PASSPHRASE" });

/** A command run after an identity's files change: a string through `sh -c`, or an argv list without a shell. */
const afterChange = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: "expected a command: a string run by sh -c, or a list such as [systemctl, reload, nginx]" })
  .describe("Run after this identity's files change (created, re-issued, renewed): a string through sh -c, or an argv list without a shell.");

const common = {
  commonName: effect("reissue", z.string().min(1).max(64).optional().describe("Subject CN; defaults to the first DNS alt name or the identity's name.")),
  key: effect("reissue", keyType.optional().describe(`Key algorithm: ${KEY_TYPES.join(" | ")}.`)),
  validity: effect("reissue", duration.optional().describe("Lifetime of the certificate: <n>h, <n>d, <n>w or <n>y (365 days).")),
  renewBefore: effect("renew", renewBefore.optional().describe("Renew this long before expiry (30d), or once this fraction of the lifetime is left (1/3).")),
  subject: effect("reissue", subject.optional()),
  passphraseEnv: effect("rewrite", envName.optional().describe("Encrypt the private key with the passphrase held in this environment variable.")),
  formats: effect(
    "rewrite",
    z
      .array(z.enum(["pem", "der", "p12", "combined"], { error: "expected pem, der, p12 or combined" }))
      .optional()
      .describe("Extra outputs: der (cert.der, key.der), p12 (identity.p12 with key and chain), combined (combined.pem: cert, chain, key). PEM is always written."),
  ),
  p12PassphraseEnv: effect("none", envName.optional().describe("Password of identity.p12, from this environment variable (default: changeit, as mkcert).")),
  afterChange: effect("none", afterChange.optional()),
  afterChangeTimeout: effect("none", duration.optional().describe("How long afterChange may run before it is stopped (default 5m).")),
  revoked: effect(
    "revoke",
    z.boolean({ error: "expected true or false" }).optional().describe("Revoke every unexpired certificate issued under this name and remove its files; the name stays reserved. Cannot be undone."),
  ),
  revokedReason: effect(
    "revoke",
    z.enum(REVOCATION_REASONS, { error: `expected an RFC 5280 reason: ${REVOCATION_REASONS.join(", ")}` }).optional().describe("The reason the CRL gives for the revocation (default unspecified)."),
  ),
};

const nameConstraints = z.strictObject({
  permitted: effect("reissue", z.array(z.string()).optional()),
  excluded: effect("reissue", z.array(z.string()).optional()),
});

const filePath = z.string({ error: "expected a file path, relative to pki.yaml" }).min(1);

// An external CA itself is never issued; what changing each of its files does below it is declared per file.
const externalSchema = z
  .strictObject({
    // Another certificate: what it signed no longer verifies against it, so it is re-issued (or waits for a new one).
    cert: effect("reissue", filePath.describe("PEM certificate of this CA, relative to pki.yaml (e.g. the team admin's pki/cas/intermediate/cert.pem, or mkcert's rootCA.pem).")),
    key: effect(
      "none",
      filePath
        .optional()
        .describe("Its private key (PKCS#8 or traditional PEM, e.g. mkcert's rootCA-key.pem); encrypted keys are decrypted with passphraseEnv. Without it, identities this CA issues get certificate requests (provision csr) instead of certificates."),
    ),
    // Other certificates above it: chains and the bundle are rewritten.
    chain: effect(
      "rewrite",
      filePath
        .optional()
        .describe("Certificates above this CA up to its root, in one PEM file (e.g. the admin's ca-bundle.pem plus any intermediates); needed when cert is not a self-signed root."),
    ),
  })
  .describe("A CA kept outside provision: its files are read, never created, renewed or rewritten. Paths are relative to pki.yaml.");

const caSchema = z
  .strictObject({
    ...common,
    issuer: effect("reissue", z.string().min(1).optional().describe("The CA that signs this one; omit for a self-signed root.")),
    pathLength: effect("reissue", z.number().int().min(0).max(16).optional().describe("How many CAs may stand below this one.")),
    nameConstraints: effect("reissue", nameConstraints.optional().describe("DNS suffixes, IP ranges (CIDR) and email domains this CA may issue for.")),
    // An external CA is never issued; what it signed is checked against its certificate on every run (read-state).
    external: effect("none", externalSchema.optional()),
    // The CRL is re-signed with the new lifetime or window; no certificate changes.
    crlValidity: effect("rewrite", duration.optional().describe("Lifetime of this CA's CRL (nextUpdate - thisUpdate); default 7d.")),
    crlRefreshBefore: effect("renew", renewBefore.optional().describe("Re-sign the CRL this long before its nextUpdate (1d), or once this fraction of crlValidity is left; default 1/2.")),
    // Written into every certificate this CA issues: changing it re-issues them (plan/diff.ts compares the issuer's).
    crlUrl: effect(
      "reissue",
      z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL where this CA's crl.der is published" }).max(1024).optional().describe("Where this CA's CRL is published (http or https): a CRL Distribution Points extension in the certificates it issues."),
    ),
  })
  .superRefine(externalCaFields);

// The fields and their grammar live in serve.ts; none of them touches a certificate.
const serveSchema = z.strictObject({
  host: effect("none", serveFields.host),
  port: effect("none", serveFields.port),
  app: effect("none", serveFields.app),
  clientAuth: effect("none", serveFields.clientAuth),
  clientCa: effect("none", serveFields.clientCa),
  client: effect("none", serveFields.client),
});

const revokeSuperseded = z
  .boolean({ error: "expected true or false" })
  .optional()
  .describe("When a renewal or re-issue gives this identity a new key, revoke the certificate it replaces (reason superseded). Default false.");

const leafCommon = {
  ...common,
  issuer: effect("reissue", z.string({ error: "every server and client needs an issuer: the name of a CA under cas" }).min(1)),
  rotateKey: effect("renew", z.enum(["always", "never"]).optional().describe("Whether a renewed certificate gets a fresh key.")),
  revokeSuperseded: effect("renew", revokeSuperseded),
};

const serverSchema = z.strictObject({
  ...leafCommon,
  altNames: effect(
    "reissue",
    z.array(z.string({ error: "expected a host name, IP address, email or URI" }), { error: "expected a list of names" }).describe("DNS names, IPs, emails and URIs."),
  ),
  serve: effect("none", serveSchema.optional()),
});

const clientSchema = z.strictObject({
  ...leafCommon,
  altNames: effect("reissue", z.array(z.string({ error: "expected a host name, IP address, email or URI" }), { error: "expected a list of names" }).optional()),
});

const defaultsSchema = z.strictObject({
  key: effect("reissue", keyType.optional()),
  validity: effect("reissue", duration.optional()),
  renewBefore: effect("renew", renewBefore.optional()),
  rotateKey: effect("renew", z.enum(["always", "never"]).optional()),
  revokeSuperseded: effect("renew", revokeSuperseded),
  subject: effect("reissue", subject.optional()),
  passphraseEnv: effect("rewrite", envName.optional().describe("Encrypt every private key with the passphrase in this environment variable.")),
  afterChange: effect("none", afterChange.optional()),
  afterChangeTimeout: effect("none", duration.optional().describe("How long afterChange may run before it is stopped (default 5m).")),
});

function identityMap<T extends z.ZodType>(item: T) {
  return z.record(z.string(), item, { error: "expected a map of names to identities" }).optional();
}

export const pkiSchema = z.strictObject({
  version: effect("none", z.literal(1, { error: "version must be 1 (the only pki.yaml format so far)" })),
  // A new output folder starts empty, so everything is issued there.
  output: effect("reissue", z.string().min(1).refine((value) => !value.includes("\0"), "the output path contains a NUL character").optional().describe("Folder everything is written to, relative to pki.yaml. Default ./pki.")),
  defaults: effect("reissue", defaultsSchema.optional()),
  lint: effect(
    "none",
    z
      .strictObject({
        maxLeafValidity: effect("none", duration.optional().describe("Warn when a server or client certificate is valid for longer (e.g. 398d, the browsers' limit for public certificates).")),
      })
      .optional()
      .describe("Extra lifetime checks; --strict turns their warnings into errors."),
  ),
  // Adding an identity creates it; removing one orphans it (see plan/build.ts).
  cas: effect("reissue", identityMap(caSchema)),
  servers: effect("reissue", identityMap(serverSchema)),
  clients: effect("reissue", identityMap(clientSchema)),
  acme: effect("none", acmeSchema(effect).optional()),
});

/**
 * The declared effect of every field, by dotted path with `*` for a name (`servers.*.serve.port`).
 * A field without a declaration maps to undefined (a test fails on it).
 */
export function declaredEffects(): Map<string, FieldEffect | undefined> {
  const out = new Map<string, FieldEffect | undefined>();
  const walk = (schema: z.ZodType, prefix: string): void => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [key, field] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
        const at = prefix ? `${prefix}.${key}` : key;
        out.set(at, fieldEffects.get(field)?.effect);
        walk(field, at);
      }
    } else if (inner instanceof z.ZodRecord) {
      walk(inner.valueType as z.ZodType, `${prefix}.*`);
    }
  };
  walk(pkiSchema, "");
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

export type PkiInput = z.infer<typeof pkiSchema>;
/** The object pki.yaml describes, as a program writes it (defaults may be left out). */
export type PkiSpec = z.input<typeof pkiSchema>;
export type CaInput = z.infer<typeof caSchema>;
export type ServerInput = z.infer<typeof serverSchema>;
export type ClientInput = z.infer<typeof clientSchema>;
export type ServeInput = z.infer<typeof serveSchema>;
