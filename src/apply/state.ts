import type { IdentitySpec } from "../config/types.js";
import type { FileStamps } from "../store/stamp.js";
import type { StateFile, StateRecord } from "../store/state-file.js";
import { KEY_KDF } from "../x509/keys.js";
import type { ApplyContext, Progress } from "./context.js";
import { retiredRecords } from "./files.js";
import { revocationState } from "./revocation.js";
import { compareIssued } from "../store/state-file.js";

/**
 * Phase "state": the record of an identity as this run leaves it, with the stamps of its files. Only for
 * identities whose batch is committed (or at the end): the issuer fingerprint names the issuer as it is now.
 */
export function recordFor(id: IdentitySpec, ctx: ApplyContext, progress: Progress, stamps: FileStamps): StateRecord {
  const seen = ctx.seenOf(id.name);
  const issued = progress.issued.get(id.name);
  const issuerName = id.issuer ?? id.name;
  const keyWritten = progress.keySha.has(id.name);
  const kdfCurrent = keyWritten || (!seen.keyEncryptionWeak && ctx.recordOf(id)?.keyKdf === KEY_KDF.label);
  return {
    kind: id.kind,
    certSha256: issued?.sha256 ?? seen.cert!.sha256,
    keySha256: progress.keySha.get(id.name) ?? seen.keySha256!,
    passphraseEnv: id.passphraseEnv,
    ...(id.passphraseEnv !== null && kdfCurrent ? { keyKdf: KEY_KDF.label } : {}),
    stamps,
    issuerFingerprint: (progress.issued.get(issuerName)?.facts ?? ctx.seenOf(issuerName).cert!.facts).fingerprint,
    facts: issued?.facts ?? seen.cert!.facts,
  };
}

/**
 * state.json as of a commit. Committed identities have their new records; the others keep the record read
 * at the start, which still describes their files. At the end, every identity in pki.yaml is recorded, and
 * orphans keep their records unless pruned.
 */
export function stateAt(ctx: ApplyContext, progress: Progress, records: ReadonlyMap<string, StateRecord>, final: boolean): StateFile {
  const identities = new Map<string, StateRecord>();
  for (const id of ctx.config.identities) {
    // External CAs are not provision's to record; an identity still waiting for a usable certificate has none to record.
    if (id.external || ctx.idle(id)) continue;
    const record = records.get(id.name) ?? (final ? keptOrFresh(id, ctx, progress) : ctx.observed.state.identities.get(id.name));
    if (record) identities.set(id.name, record);
  }
  if (!(final && ctx.plan.prune)) {
    for (const orphan of ctx.observed.orphans) {
      const record = ctx.observed.state.identities.get(orphan.name);
      if (record && !ctx.byName.has(orphan.name)) identities.set(orphan.name, record);
    }
  }
  return { version: 1, identities, retired: retiredRecords(ctx, progress, final), ...revocationState(ctx, progress, final) };
}

/**
 * An uncommitted identity's record at the end of a run: the record read at the start when it says exactly what
 * recordFor says (the same facts object: read from it), so that it keeps the JSON it was read with (state-file.ts)
 * and one change among 10,000 does not serialise the other 9,999 again.
 */
function keptOrFresh(id: IdentitySpec, ctx: ApplyContext, progress: Progress): StateRecord {
  const fresh = recordFor(id, ctx, progress, ctx.seenOf(id.name).stamps);
  const read = ctx.observed.state.identities.get(id.name);
  return read && read.facts === fresh.facts && sameFiles(fresh, read) ? read : fresh;
}

function sameFiles(a: StateRecord, b: StateRecord): boolean {
  return a.kind === b.kind && a.certSha256 === b.certSha256 && a.keySha256 === b.keySha256 && a.issuerFingerprint === b.issuerFingerprint && a.passphraseEnv === b.passphraseEnv && a.keyKdf === b.keyKdf && JSON.stringify(a.stamps) === JSON.stringify(b.stamps);
}

/** Whether two states record the same files, without serialising either. */
export function sameRecords(next: StateFile, current: StateFile): boolean {
  if (next.identities.size !== current.identities.size) return false;
  for (const [name, a] of next.identities) {
    const b = current.identities.get(name);
    if (!b || !sameFiles(a, b)) return false;
  }
  if (JSON.stringify([...next.retired]) !== JSON.stringify([...current.retired].filter(([, list]) => list.length > 0))) return false;
  const ledger = (s: StateFile) => JSON.stringify([[...s.crls].sort(), [...s.revokedNames].sort(), [...s.issued].sort(compareIssued)]);
  return ledger(next) === ledger(current);
}
