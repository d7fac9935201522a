import * as z from "../config/zod.js";
import type { AltName } from "../config/alt-names.js";
import { isSafeName } from "../config/rules.js";
import { KEY_TYPES } from "../config/schema.js";
import { REVOCATION_REASONS, SUBJECT_FIELDS, type AltNameConstraint } from "../config/types.js";
import { altNameFromText, emptyState, subtreeFromText, type StateFile, type StateRecord } from "./state-file.js";

// state.json's validation (state-file.ts says why it is untrusted), apart from state-file.ts: zod is loaded
// only when a state.json is read that the state cache (state-cache.ts) does not already hold, so a first run
// or a run over unchanged state never loads it.

type SubjectField = (typeof SUBJECT_FIELDS)[number];

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const isoTime = z.string().refine((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t) && Number.isFinite(Date.parse(t)), "expected an ISO-8601 time");
const kind = z.enum(["ca", "server", "client"]);
const stamp = z.string().max(200).nullable();
const subjectFields = z.strictObject(Object.fromEntries(SUBJECT_FIELDS.map((field) => [field, z.string()])) as Record<SubjectField, z.ZodString>).partial();

const altNameText = z.string().transform((text, ctx): AltName => {
  const name = altNameFromText(text);
  if (name) return name;
  ctx.addIssue({ code: "custom", message: "expected type:value with type dns, ip, email or uri" });
  return z.NEVER;
});

const subtreeString = z.string().transform((text, ctx): AltNameConstraint => {
  const subtree = subtreeFromText(text);
  if (subtree) return subtree;
  // Versions before 0.2 kept the subtree without its type, which cannot be told apart (dns or email?).
  ctx.addIssue({ code: "custom", message: "a name constraint without its type (as versions before 0.2 wrote it)" });
  return z.NEVER;
});

const factsSchema = z.strictObject({
  serial: z.string().regex(/^[0-9a-f]{1,128}$/),
  fingerprint: hex(64),
  notBefore: isoTime,
  notAfter: isoTime,
  subject: subjectFields,
  issuer: subjectFields,
  altNames: z.array(altNameText),
  keyType: z.enum(KEY_TYPES).nullable(),
  isCa: z.boolean(),
  pathLength: z.number().int().min(0).max(1000).nullable(),
  nameConstraints: z.strictObject({ permitted: z.array(subtreeString), excluded: z.array(subtreeString) }).nullable(),
  subjectKeyId: z.string().regex(/^[0-9a-f]{1,128}$/).nullable(),
  authorityKeyId: z.string().regex(/^[0-9a-f]{1,128}$/).nullable(),
  extKeyUsage: z.array(z.string()),
  crlUrls: z.array(z.string().max(1024)).max(16).optional(),
});

const recordSchema = z.strictObject({
  kind,
  certSha256: hex(64),
  keySha256: hex(64),
  passphraseEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).nullable(),
  keyKdf: z.string().max(100).optional(),
  stamps: z.strictObject({ cert: stamp, key: stamp, chain: stamp.optional(), fullchain: stamp.optional() }).optional(),
  issuerFingerprint: hex(64).nullable(),
  facts: factsSchema,
});

const retiredSchema = z.strictObject({
  fingerprint: hex(64),
  notAfter: isoTime,
  until: isoTime.optional(),
  // Written by versions before 0.2; ignored: the file is derived from the fingerprint.
  file: z.string().optional(),
});

const reason = z.enum(REVOCATION_REASONS);
const serialHex = z.string().regex(/^(0|[1-9a-f][0-9a-f]{0,127})$/);
const crlSchema = z.strictObject({
  number: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  thisUpdate: isoTime,
  nextUpdate: isoTime,
});
const issuedSchema = z.strictObject({
  name: z.string().refine(isSafeName, "not a valid identity name"),
  kind,
  issuer: z.string().refine(isSafeName, "not a valid identity name"),
  serial: serialHex,
  notAfter: isoTime,
  revoked: z.strictObject({ at: isoTime, reason }).nullable(),
});
const revokedNameSchema = z.strictObject({ kind, at: isoTime });

// A plain JSON object, kept as parsed: z.record would rebuild it and silently drop a "__proto__" key.
const jsonObject = z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "expected an object");
const topSchema = z.strictObject({
  version: z.literal(1),
  identities: jsonObject,
  retired: jsonObject.optional(),
  crls: jsonObject.optional(),
  issued: z.array(z.unknown()).max(10_000_000).optional(),
  revokedNames: jsonObject.optional(),
});

const MAX_PROBLEMS_LISTED = 5;

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.map(String).join(".");
  return where ? `${where}: ${issue.message}` : issue.message;
}

/**
 * Parses state.json. A file that is not JSON or not state.json's layout is ignored as a whole; entries
 * that do not fit (a bad name, a missing field, a wrong type) are ignored one by one. Either way the
 * files are inspected instead and state.json is rebuilt from them; `problems` says what was ignored.
 */
export function parseState(text: string | null): { state: StateFile; problems: string[] } {
  const state = emptyState();
  if (text === null) return { state, problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { state, problems: [`state.json is not valid JSON (${(error as Error).message}); ignored, rebuilt from the files`] };
  }
  const top = topSchema.safeParse(value);
  if (!top.success) return { state, problems: [`state.json does not have the expected layout (${firstIssue(top.error)}); ignored, rebuilt from the files`] };

  const bad: string[] = [];
  for (const [name, raw] of Object.entries(top.data.identities)) {
    const record = recordSchema.safeParse(raw);
    if (!isSafeName(name)) bad.push(`identities[${JSON.stringify(name)}]: not a valid identity name`);
    else if (!record.success) bad.push(`identities.${name}: ${firstIssue(record.error)}`);
    else state.identities.set(name, record.data as StateRecord);
  }
  for (const [name, raw] of Object.entries(top.data.retired ?? {})) {
    const list = z.array(retiredSchema).max(1000).safeParse(raw);
    if (!isSafeName(name)) bad.push(`retired[${JSON.stringify(name)}]: not a valid identity name`);
    else if (!list.success) bad.push(`retired.${name}: ${firstIssue(list.error)}`);
    else if (list.data.length) state.retired.set(name, list.data.map((r) => ({ fingerprint: r.fingerprint, notAfter: r.notAfter, until: r.until ?? r.notAfter })));
  }
  for (const [name, raw] of Object.entries(top.data.crls ?? {})) {
    const record = crlSchema.safeParse(raw);
    if (!isSafeName(name)) bad.push(`crls[${JSON.stringify(name)}]: not a valid identity name`);
    else if (!record.success) bad.push(`crls.${name}: ${firstIssue(record.error)}`);
    else state.crls.set(name, record.data);
  }
  (top.data.issued ?? []).forEach((raw, index) => {
    const entry = issuedSchema.safeParse(raw);
    if (!entry.success) bad.push(`issued[${index}]: ${firstIssue(entry.error)}`);
    else state.issued.push(entry.data);
  });
  for (const [name, raw] of Object.entries(top.data.revokedNames ?? {})) {
    const record = revokedNameSchema.safeParse(raw);
    if (!isSafeName(name)) bad.push(`revokedNames[${JSON.stringify(name)}]: not a valid identity name`);
    else if (!record.success) bad.push(`revokedNames.${name}: ${firstIssue(record.error)}`);
    else state.revokedNames.set(name, record.data);
  }
  if (bad.length === 0) return { state, problems: [] };
  const listed = bad.slice(0, MAX_PROBLEMS_LISTED).join("; ") + (bad.length > MAX_PROBLEMS_LISTED ? `; and ${bad.length - MAX_PROBLEMS_LISTED} more` : "");
  return { state, problems: [`state.json has ${bad.length} ${bad.length === 1 ? "entry that does" : "entries that do"} not fit (${listed}); ignored, rebuilt from the files`] };
}

