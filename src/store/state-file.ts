import type { IdentityKind } from "../config/types.js";
import type { FileStamps } from "./stamp.js";
import type { CertFacts } from "../x509/inspect.js";

/**
 * state.json: a cache of what provision last wrote. It lets a run where nothing changed compare file
 * hashes instead of parsing certificates. It is never the source of truth: when a hash differs, the
 * files themselves are inspected.
 */
export interface StateFile {
  version: 1;
  identities: Record<string, StateRecord>;
  /** Earlier CA certificates still published in ca-bundle.pem, by CA name. */
  retired: Record<string, RetiredCert[]>;
}

export interface StateRecord {
  kind: IdentityKind;
  certSha256: string;
  keySha256: string;
  /** The variable whose passphrase encrypts key.pem (null: not encrypted). Never the passphrase itself. */
  passphraseEnv: string | null;
  /** Stamps of the files as last written and checked; files that still carry them are not read again. */
  stamps?: FileStamps;
  /** Fingerprint of the issuer certificate this one was last verified against. */
  issuerFingerprint: string | null;
  facts: CertFacts;
}

export interface RetiredCert {
  fingerprint: string;
  notAfter: string;
  /**
   * Published in ca-bundle.pem until then: the old certificate's own notAfter after a renewal (same key);
   * after a key rotation, the last notAfter of the certificates issued under the old key.
   */
  until?: string;
  /** Path relative to the output folder. */
  file: string;
}

export function emptyState(): StateFile {
  return { version: 1, identities: {}, retired: {} };
}

/** Parses state.json; a damaged file is reported and treated as empty (everything gets inspected). */
export function parseState(text: string | null): { state: StateFile; problem: string | null } {
  if (text === null) return { state: emptyState(), problem: null };
  try {
    const value = JSON.parse(text) as Partial<StateFile>;
    if (value.version !== 1 || typeof value.identities !== "object" || value.identities === null) throw new Error("unknown layout");
    return { state: { version: 1, identities: value.identities, retired: value.retired ?? {} }, problem: null };
  } catch (error) {
    return { state: emptyState(), problem: `state.json is damaged (${(error as Error).message}); every file will be inspected` };
  }
}

/** Stable serialisation: identical state gives identical bytes, so an unchanged run writes nothing. */
export function serializeState(state: StateFile): string {
  const sorted = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ version: 1, identities: sorted(state.identities), retired: sorted(state.retired) }, null, 2)}\n`;
}
