import { altNameKey, type AltName } from "../config/alt-names.js";
import { subtreeText } from "../config/name-constraints.js";
import type { AltNameConstraint, IdentityKind, NameConstraintsSpec, RevocationReason } from "../config/types.js";
import type { FileStamps } from "./stamp.js";
import type { CertificateFacts } from "../x509/spec.js";

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

// Alt names and name-constraint subtrees are kept as one `type:value` string each (`dns:web.test`, `ip:::1`,
// `ip:10.0.0.0/8`): compact, and for alt names what earlier versions wrote. The converters below are the only
// place that turns the two forms into each other (state-parse.ts validates with them).
const ALT_NAME_TYPES: ReadonlySet<string> = new Set<AltName["type"]>(["dns", "ip", "email", "uri"]);

function typeAndValue(text: string): [string, string] {
  const colon = text.indexOf(":");
  return colon < 0 ? ["", text] : [text.slice(0, colon), text.slice(colon + 1)];
}

/** An alt name from its state.json form, or null when its type is not one provision writes. */
export function altNameFromText(text: string): AltName | null {
  const [type, value] = typeAndValue(text);
  return ALT_NAME_TYPES.has(type) ? ({ type, value } as AltName) : null;
}

const subtreeKey = (subtree: AltNameConstraint): string => `${subtree.type}:${subtreeText(subtree)}`;

/** A name-constraint subtree from its state.json form, or null when it has no type (as versions before 0.2 wrote it). */
export function subtreeFromText(text: string): AltNameConstraint | null {
  const [type, value] = typeAndValue(text);
  const range = /^(.+)\/(\d{1,3})$/.exec(value);
  if (type === "dns" || type === "email" || type === "uri") return { type, value };
  if (type === "ip" && range) return { type, value: range[1]!, prefix: Number(range[2]) };
  return null;
}

/** CertificateFacts as state.json holds them. */
function factsToJson(facts: CertificateFacts): Omit<CertificateFacts, "altNames" | "nameConstraints"> & { altNames: string[]; nameConstraints: { permitted: string[]; excluded: string[] } | null } {
  const c: NameConstraintsSpec | null = facts.nameConstraints;
  return { ...facts, altNames: facts.altNames.map(altNameKey), nameConstraints: c && { permitted: c.permitted.map(subtreeKey), excluded: c.excluded.map(subtreeKey) } };
}

/** CertificateFacts from their state.json form, for a text serializeState wrote (null: not one it could write). */
function factsFromJson(json: ReturnType<typeof factsToJson>): CertificateFacts | null {
  const altNames = json.altNames.map(altNameFromText);
  const c = json.nameConstraints;
  const permitted = c ? c.permitted.map(subtreeFromText) : [];
  const excluded = c ? c.excluded.map(subtreeFromText) : [];
  if (altNames.includes(null) || permitted.includes(null) || excluded.includes(null)) return null;
  return { ...json, altNames: altNames as AltName[], nameConstraints: c && { permitted: permitted as AltNameConstraint[], excluded: excluded as AltNameConstraint[] } };
}

export function emptyState(): StateFile {
  return { version: 1, identities: new Map(), retired: new Map(), crls: new Map(), issued: [], revokedNames: new Map() };
}

// Each record's JSON, remembered by the record object (records are never changed once made): a large first run
// rewrites state.json after every batch with the records of all the batches before, which are the same objects.
// Without it, a 10,000-identity create serialised 105,000 records, most of its garbage.
const recordTexts = new WeakMap<StateRecord, string>();

function recordJson(record: StateRecord): string {
  let text = recordTexts.get(record);
  if (text === undefined) recordTexts.set(record, (text = JSON.stringify({ ...record, facts: factsToJson(record.facts) })));
  return text;
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
  const identities = byKey(state.identities).map(([name, record]) => `${JSON.stringify(name)}:${recordJson(record)}`);
  return `{"version":1,"identities":{${identities.length ? `\n${identities.join(",\n")}\n` : ""}},"retired":${JSON.stringify(retired)},"crls":${JSON.stringify(Object.fromEntries(byKey(state.crls)))},"issued":[${issued.length ? `\n${issued.join(",\n")}\n` : ""}],"revokedNames":${JSON.stringify(Object.fromEntries(byKey(state.revokedNames)))}}\n`;
}

const HEAD = '{"version":1,"identities":{';

/**
 * The state held by a text that serializeState wrote (state-cache.ts knows which texts those are: this code wrote
 * them, or they serialise back to themselves), without validating it again. Each record remembers its line as
 * its JSON, so a run that keeps most records (one change among 10,000) does not serialise them again. Null when
 * the text does not have serializeState's layout.
 */
export function stateFromWrittenText(text: string): StateFile | null {
  let value: { identities: Record<string, StateRecord & { facts: ReturnType<typeof factsToJson> }>; retired: Record<string, RetiredCert[]>; crls: Record<string, CrlRecord>; issued: IssuedCert[]; revokedNames: Record<string, RevokedName> };
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!text.startsWith(HEAD) || typeof value?.identities !== "object") return null;
  const state = emptyState();
  // One identity per line, `"name":{record}` and a comma but after the last, in name order, as serializeState writes.
  const end = text.indexOf("\n}", HEAD.length);
  const lines = text[HEAD.length] === "\n" && end > 0 ? text.slice(HEAD.length + 1, end).split("\n") : [];
  for (const [i, line] of lines.entries()) {
    const colon = line.indexOf('":') + 1;
    const name = line.slice(1, colon - 1);
    const raw = Object.hasOwn(value.identities, name) ? value.identities[name]! : undefined;
    const facts = raw && factsFromJson(raw.facts);
    if (!raw || !facts || line[0] !== '"' || state.identities.has(name)) return null;
    const record: StateRecord = { ...raw, facts };
    recordTexts.set(record, line.slice(colon + 1, i < lines.length - 1 ? -1 : undefined));
    state.identities.set(name, record);
  }
  if (state.identities.size !== Object.keys(value.identities).length) return null;
  for (const [name, list] of Object.entries(value.retired)) state.retired.set(name, list);
  for (const [name, crl] of Object.entries(value.crls)) state.crls.set(name, crl);
  state.issued.push(...value.issued);
  for (const [name, revoked] of Object.entries(value.revokedNames)) state.revokedNames.set(name, revoked);
  return state;
}

/** The ledger's order in state.json: by CA, then serial, so identical ledgers give identical bytes. */
export function compareIssued(a: IssuedCert, b: IssuedCert): number {
  return a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : a.serial.length - b.serial.length || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0);
}
