import path from "node:path";
import type { IdentitySpec } from "../config/types.js";
import { removeStaleTemps, wholeFolderOf, writeFilesAtomically, type WholeFolder } from "../store/atomic-write.js";
import { chmodPrivate, deleteInside, prepareFolder, prepareWholeFolder } from "../store/guard.js";
import { MODES, statePath } from "../store/layout.js";
import { stampOf, type FileStamps } from "../store/stamp.js";
import { serializeState, type StateFile, type StateRecord } from "../store/state-file.js";
import type { ApplyContext, Progress } from "./context.js";
import type { Changes } from "./files.js";
import { recordFor } from "./state.js";
import { recordOwnCaKeys } from "../store/own-keys.js";

/** What the commits of a run have done so far. */
export interface CommitLog {
  written: string[];
  deleted: string[];
  /** The records of committed identities, with the stamps their files got. */
  records: Map<string, StateRecord>;
  /** state.json as last written (or as read at the start). */
  stateText: string | null;
  stateWritten: boolean;
  /** Folders checked in this run (store/guard.ts). */
  checkedDirs: Set<string>;
  /** Folders cleared of stale temp files in this run. */
  sweptDirs: Set<string>;
  /** The identities' own folders (0700: they hold keys). */
  identityDirs: Set<string>;
}

export function newCommitLog(ctx: ApplyContext): CommitLog {
  const identityDirs = new Set(ctx.config.identities.map((id) => ctx.pathsOf(id).dir));
  return { written: [], deleted: [], records: new Map(), stateText: ctx.observed.stateText, stateWritten: false, checkedDirs: new Set(), sweptDirs: new Set(), identityDirs };
}

/**
 * Phase "commit": writes one batch's files (temp, fsync, rename), fixes modes, deletes, records the stamps
 * the files now have, then writes state.json. After it returns, a killed run keeps this batch: the next run
 * finds its files recorded and leaves them alone.
 */
export async function commitBatch(
  ctx: ApplyContext,
  progress: Progress,
  log: CommitLog,
  batch: readonly IdentitySpec[],
  changes: Changes,
  stateFor: (records: ReadonlyMap<string, StateRecord>) => StateFile,
): Promise<void> {
  const { outputDir } = ctx.config;
  const keyDirs = log.identityDirs;
  const whole = wholeFolders(ctx, batch, changes);
  const inWhole = wholeFolderOf(whole);
  // Every folder on the way to a write is checked (store/guard.ts) before the first byte is written.
  const dirs = new Set([...changes.writes.filter((w) => !inWhole(w.path)).map((w) => path.dirname(w.path)), ...changes.chmods.map((c) => path.dirname(c.file))]);
  for (const folder of whole) if (prepareWholeFolder(outputDir, folder.dir, folder.mode, log.checkedDirs)) dirs.add(folder.dir);
  for (const dir of dirs) if (!log.checkedDirs.has(dir)) prepareFolder(outputDir, dir, keyDirs.has(dir) ? MODES.keyDir : MODES.publicDir, log.checkedDirs);
  // Swept once per run, apart from the checks: checking a subfolder checks the output folder on the way.
  const sweep = [...dirs].filter((dir) => (dir === outputDir || keyDirs.has(dir)) && !log.sweptDirs.has(dir));
  for (const dir of sweep) log.sweptDirs.add(dir);
  await removeStaleTemps(sweep);
  // Recorded before any CA key.pem is renamed in (kept for trees an older version left half-written).
  recordOwnCaKeys(ctx.deps.env, outputDir, batch.filter((id) => id.kind === "ca" && progress.keySha.has(id.name)).map((id) => progress.keySha.get(id.name)!));
  await writeFilesAtomically(changes.writes, whole);
  for (const { file, mode } of changes.chmods) chmodPrivate(file, mode);
  for (const target of changes.deletes) if (deleteInside(outputDir, target)) log.deleted.push(target);
  log.written.push(...changes.writes.map((w) => w.path));

  // The batch's identities, and any other whose folder this commit touched, get records with fresh stamps.
  const members = new Set(batch);
  for (const id of ctx.config.identities) {
    if (id.external || ctx.idle(id) || (!members.has(id) && !dirs.has(ctx.pathsOf(id).dir))) continue;
    log.records.set(id.name, recordFor(id, ctx, progress, stampsOf(ctx, id)));
    progress.committed.add(id.name);
  }
  const state = stateFor(log.records);
  const stateText = serializeState(state);
  if (stateText !== log.stateText) {
    await writeFilesAtomically([{ path: statePath(outputDir), content: stateText, mode: MODES.cert }]);
    log.stateText = stateText;
    log.stateWritten = true;
  }
}

/**
 * The identity folders this commit writes as a whole (store/folder-swap.ts): those whose key.pem it writes. A
 * new key and its certificate are then never seen apart, nor a new key beside the old certificate; a renewal
 * with the same key changes no pair, and its files are renamed one by one.
 */
function wholeFolders(ctx: ApplyContext, batch: readonly IdentitySpec[], changes: Changes): WholeFolder[] {
  const written = new Set(changes.writes.map((w) => w.path));
  return batch.filter((id) => written.has(ctx.pathsOf(id).key)).map((id) => ({ dir: ctx.pathsOf(id).dir, mode: MODES.keyDir }));
}

function stampsOf(ctx: ApplyContext, id: IdentitySpec): FileStamps {
  const paths = ctx.pathsOf(id);
  const stamps: FileStamps = { cert: stampOf(paths.cert), key: stampOf(paths.key) };
  if (id.kind !== "ca") Object.assign(stamps, { chain: stampOf(paths.chain), fullchain: stampOf(paths.fullchain) });
  return stamps;
}
