import type { Config, IdentitySpec } from "../config/types.js";
import type { Deps } from "../deps.js";
import type { Plan } from "../plan/types.js";
import type { ObservedState } from "../store/read-state.js";
import { statePath } from "../store/layout.js";
import { rememberWrittenState } from "../store/state-cache.js";
import { commitBatch, newCommitLog } from "./commit.js";
import { applyContext, newProgress, type ApplyContext, type Progress } from "./context.js";
import { finalChanges, hasFileWork, identityWrites, retiredChanges, type Changes, type ExtraFile } from "./files.js";
import { generateKeys, keysNeeded, loadKeys } from "./keys.js";
import { signCertificates } from "./sign.js";
import { sameRecords, stateAt } from "./state.js";
import { revocationChanges } from "./revocation.js";

export type { ExtraFile } from "./files.js";

export interface ApplyResult {
  /** Absolute paths written, in write order. */
  written: string[];
  deleted: string[];
}

export interface ApplyOptions {
  /** Files rendered from the certificates (launch config); written when their content differs. */
  renderExtra?: (certOf: (name: string) => string) => readonly ExtraFile[];
  /** Called as each new key is ready, for progress lines. */
  onKeyGenerated?: (done: number, total: number) => void;
  /** Identities per commit (tests make it small). */
  batchSize?: number;
}

/**
 * How many identities one commit holds. A killed or failed run keeps every committed batch, so a retry of
 * a large first run continues instead of starting over; each commit rewrites state.json, so batches are
 * not tiny either.
 */
export const BATCH_SIZE = 500;

/**
 * Carries out a plan in batches of identities, issuer first, each batch in phases: generate keys, load
 * keys, sign, assemble writes, commit (files, then state.json). An issuer is always committed in an earlier
 * batch than its children or in the same one, before them. The last commit adds what belongs to no single
 * identity: ca-bundle.pem, launch files, deletions and permission fixes. A failure leaves the disk as the
 * last commit left it: whole batches, each file old or new.
 */
export async function applyPlan(config: Config, plan: Plan, observed: ObservedState, deps: Deps, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { renderExtra = () => [], onKeyGenerated, batchSize = BATCH_SIZE } = options;
  const ctx = applyContext(config, plan, observed, deps);
  const progress = newProgress();
  const log = newCommitLog(ctx);
  const batches = batchesOf(ctx, batchSize);
  const keysToMake = plan.actions.filter((a) => a.key === "generate").length;

  for (const [index, batch] of batches.entries()) {
    await generateKeys(batch, ctx, progress, onKeyGenerated && (() => onKeyGenerated(progress.generated.size, keysToMake)));
    loadKeys(keysNeeded(batch, ctx, progress), ctx, progress);
    signCertificates(batch, ctx, progress);
    const changes = batchChanges(batch, ctx, progress);
    const final = index === batches.length - 1;
    if (final) merge(changes, finalChanges(ctx, progress, renderExtra));
    if (final) merge(changes, revocationChanges(ctx, progress));
    if (final && log.written.length === 0 && isEmpty(changes) && observed.stateText !== null && sameRecords(stateAt(ctx, progress, log.records, true), observed.state)) break;
    await commitBatch(ctx, progress, log, batch, changes, (records) => stateAt(ctx, progress, records, final));
    // Leaf keys are not needed again; CA keys may sign children in later batches.
    for (const id of batch) if (id.kind !== "ca") progress.keys.delete(id.name);
  }
  // The next run reads this state.json: remembered as written, it is not validated again (store/state-cache.ts).
  if (log.stateWritten && log.stateText !== null) rememberWrittenState(deps.env, config.outputDir, log.stateText);
  return { written: [...log.written, ...(log.stateWritten ? [statePath(config.outputDir)] : [])], deleted: log.deleted };
}

/**
 * The identities with files to write, in pki.yaml's issuer-first order, cut into batches; always at least
 * one batch (possibly empty) for the final changes.
 */
export function batchesOf(ctx: ApplyContext, size: number): IdentitySpec[][] {
  const work = ctx.config.identities.filter((id) => hasFileWork(id, ctx));
  const batches: IdentitySpec[][] = [];
  for (let start = 0; start < work.length; start += size) batches.push(work.slice(start, start + size));
  return batches.length ? batches : [[]];
}

/**
 * Phase "assemble writes" for a batch: the old certificates of the roots it replaces (first, so a crash
 * never loses one), then each identity's files in order.
 */
function batchChanges(batch: readonly IdentitySpec[], ctx: ApplyContext, progress: Progress): Changes {
  const changes = retiredChanges(ctx, new Set(batch.map((id) => id.name))).changes;
  for (const id of batch) changes.writes.push(...identityWrites(id, ctx, progress));
  return changes;
}

function merge(into: Changes, more: Changes): void {
  into.writes.push(...more.writes);
  into.chmods.push(...more.chmods);
  into.deletes.push(...more.deletes);
}

const isEmpty = (changes: Changes) => changes.writes.length === 0 && changes.chmods.length === 0 && changes.deletes.length === 0;
