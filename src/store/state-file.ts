import { z } from "zod";
import { altNameKey, type AltName } from "../config/alt-names.js";
import { subtreeText } from "../config/name-constraints.js";
import { isSafeName } from "../config/rules.js";
import { KEY_TYPES } from "../config/schema.js";
import { REVOCATION_REASONS, SUBJECT_FIELDS, type AltNameConstraint, type IdentityKind, type NameConstraintsSpec, type RevocationReason } from "../config/types.js";
import type { FileStamps } from "./stamp.js";
import type { CertificateFacts } from "../x509/spec.js";

type SubjectField = (typeof SUBJECT_FIELDS)[number];

/**
 * state.json: a cache of what provision last wrote. It lets a run where nothing changed compare file
 * hashes instead of parsing certificates. It is never the source of truth, and it is untrusted input:
 * whoever can push to the branch holding the output folder writes it. So it is validated entry by entry,
 * names must be valid identity names, and it holds no paths: every path is derived from names and
 * fingerprints by store/layout.ts. Keyed by user-given names, hence Maps.
 */
export interface StateFile {
  version: 1;
  identities: Map<string, StateRecord>;
  /** Earlier CA certificates still published in ca-bundle.pem, by CA name. */
  retired: Map<string, RetiredCert[]>;
  /** The last CRL written for each CA, by CA name. */
  crls: Map<string, CrlRecord>;
  /**
   * Every certificate issued by provision that has not expired yet, revoked or not: revoking a name revokes all
   * of them. Entries leave once expired (a verifier refuses an expired certificate without a CRL).
   */
  issued: IssuedCert[];
  /** Names revoked in pki.yaml (`revoked: true`), kept for good: such a name cannot come back unrevoked. */
  revokedNames: Map<string, RevokedName>;
}

/**
 * The last CRL written for a CA. Its number keeps CRL numbers increasing even if crl.pem is lost; everything
 * else about a CRL is read from crl.pem itself (store/read-crls.ts).
 */
export interface CrlRecord {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
}

export interface IssuedCert {
  name: string;
  kind: IdentityKind;
  /** The CA that signed it. */
  issuer: string;
  /** Lowercase hex without leading zeros. */
  serial: string;
  notAfter: string;
  revoked: { at: string; reason: RevocationReason } | null;
}

export interface RevokedName {
  kind: IdentityKind;
  at: string;
}

export interface StateRecord {
  kind: IdentityKind;
  certSha256: string;
  keySha256: string;
  /** The variable whose passphrase encrypts key.pem (null: not encrypted). Never the passphrase itself. */
  passphraseEnv: string | null;
  /** How key.pem is encrypted (e.g. "pbkdf2-sha256:600000"); absent for keys written by older versions. */
  keyKdf?: string;
  /** Stamps of the files as last written and checked; files that still carry them are not read again. */
  stamps?: FileStamps;
  /** Fingerprint of the issuer certificate this one was last verified against. */
  issuerFingerprint: string | null;
  facts: CertificateFacts;
}

/** A replaced root certificate kept in ca-bundle.pem; its file is `cas/<root>/retired/<fingerprint>.pem` (layout.ts). */
export interface RetiredCert {
  /** SHA-256 of the certificate's DER, hex: also names its file, and the file must hash to it. */
  fingerprint: string;
  notAfter: string;
  /**
   * Published in ca-bundle.pem until then: the old certificate's own notAfter after a renewal (same key);
   * after a key rotation, the last notAfter of the certificates issued under the old key.
   */
  until: string;
}

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const isoTime = z.string().refine((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t) && Number.isFinite(Date.parse(t)), "expected an ISO-8601 time");
const kind = z.enum(["ca", "server", "client"]);
const stamp = z.string().max(200).nullable();
const subjectFields = z.strictObject(Object.fromEntries(SUBJECT_FIELDS.map((field) => [field, z.string()])) as Record<SubjectField, z.ZodString>).partial();

// Alt names and name-constraint subtrees are kept as one `type:value` string each (`dns:web.test`, `ip:::1`,
// `ip:10.0.0.0/8`): compact, and for alt names what earlier versions wrote. The converters below are the only
// place that turns the two forms into each other.
const ALT_NAME_TYPES: ReadonlySet<string> = new Set<AltName["type"]>(["dns", "ip", "email", "uri"]);

function typeAndValue(text: string): [string, string] {
  const colon = text.indexOf(":");
  return colon < 0 ? ["", text] : [text.slice(0, colon), text.slice(colon + 1)];
}

const altNameText = z.string().transform((text, ctx): AltName => {
  const [type, value] = typeAndValue(text);
  if (!ALT_NAME_TYPES.has(type)) {
    ctx.addIssue({ code: "custom", message: "expected type:value with type dns, ip, email or uri" });
    return z.NEVER;
  }
  return { type, value } as AltName;
});

const subtreeKey = (subtree: AltNameConstraint): string => `${subtree.type}:${subtreeText(subtree)}`;

const subtreeString = z.string().transform((text, ctx): AltNameConstraint => {
  const [type, value] = typeAndValue(text);
  const range = /^(.+)\/(\d{1,3})$/.exec(value);
  if (type === "dns" || type === "email") return { type, value };
  if (type === "ip" && range) return { type, value: range[1]!, prefix: Number(range[2]) };
  // Versions before 0.2 kept the subtree without its type, which cannot be told apart (dns or email?).
  ctx.addIssue({ code: "custom", message: "a name constraint without its type (as versions before 0.2 wrote it)" });
  return z.NEVER;
});

/** CertificateFacts as state.json holds them. */
function factsToJson(facts: CertificateFacts): Omit<CertificateFacts, "altNames" | "nameConstraints"> & { altNames: string[]; nameConstraints: { permitted: string[]; excluded: string[] } | null } {
  const c: NameConstraintsSpec | null = facts.nameConstraints;
  return { ...facts, altNames: facts.altNames.map(altNameKey), nameConstraints: c && { permitted: c.permitted.map(subtreeKey), excluded: c.excluded.map(subtreeKey) } };
}

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

export function emptyState(): StateFile {
  return { version: 1, identities: new Map(), retired: new Map(), crls: new Map(), issued: [], revokedNames: new Map() };
}

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

const byKey = <T>(map: Map<string, T>) => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Stable serialisation: identical state gives identical bytes, so an unchanged run writes nothing. One
 * identity per line, without indentation: at 10,000 identities indented JSON is 40% larger, and every
 * batch of a large first run rewrites the file.
 */
export function serializeState(state: StateFile): string {
  // Object.fromEntries defines own properties, so a name such as "constructor" is just a key.
  const retired = Object.fromEntries(byKey(state.retired).filter(([, list]) => list.length > 0));
  // The ledger one certificate per line, like the identities, in a stable order.
  const issued = [...state.issued].sort(compareIssued).map((e) => JSON.stringify(e));
  const identities = byKey(state.identities).map(([name, record]) => `${JSON.stringify(name)}:${JSON.stringify({ ...record, facts: factsToJson(record.facts) })}`);
  return `{"version":1,"identities":{${identities.length ? `\n${identities.join(",\n")}\n` : ""}},"retired":${JSON.stringify(retired)},"crls":${JSON.stringify(Object.fromEntries(byKey(state.crls)))},"issued":[${issued.length ? `\n${issued.join(",\n")}\n` : ""}],"revokedNames":${JSON.stringify(Object.fromEntries(byKey(state.revokedNames)))}}\n`;
}

/** The ledger's order in state.json: by CA, then serial, so identical ledgers give identical bytes. */
export function compareIssued(a: IssuedCert, b: IssuedCert): number {
  return a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : a.serial.length - b.serial.length || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0);
}
