import type { Config, IdentitySpec } from "../config/types.js";
import type { Deps } from "../deps.js";
import { InternalError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { formatFiles } from "../store/layout.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { readKeyPem } from "../store/read-state.js";
import { decodePrivateKeyWithAny, type KeyMaterial } from "../x509/keys.js";
import { identitiesByName } from "../config/issuers.js";
import type { ApplyContext, Progress } from "./context.js";

/**
 * Phase "generate keys": every key the plan marks `generate` (among `only`, when given: one batch), made in
 * parallel (RSA generation runs off the main thread; key generation opens no files).
 */
export async function generatePlannedKeys(
  config: Config,
  plan: Plan,
  deps: Pick<Deps, "generateKey">,
  onKeyGenerated?: (done: number, total: number) => void,
  only?: readonly IdentitySpec[],
): Promise<Map<string, KeyMaterial>> {
  const generated = new Map<string, KeyMaterial>();
  const names = only && new Set(only.map((id) => id.name));
  const toGenerate = plan.actions.filter((a) => a.key === "generate" && a.action !== "orphaned" && (!names || names.has(a.name)));
  await Promise.all(
    toGenerate.map(async (a) => {
      generated.set(a.name, await deps.generateKey(identitiesByName(config).get(a.name)!.key));
      onKeyGenerated?.(generated.size, toGenerate.length);
    }),
  );
  return generated;
}

/** generatePlannedKeys for one batch of a run, into the run's progress. */
export async function generateKeys(batch: readonly IdentitySpec[], ctx: ApplyContext, progress: Progress, onKey?: () => void): Promise<void> {
  const keys = await generatePlannedKeys(ctx.config, ctx.plan, ctx.deps, onKey && (() => onKey()), batch);
  for (const [name, { privateKey }] of keys) {
    progress.keys.set(name, privateKey);
    progress.generated.add(name);
  }
}

/**
 * The identities whose key on disk a batch needs: its own when it signs with a kept key, re-encodes the key
 * (key.pem refresh) or writes a format holding it; and the issuer of each certificate it signs.
 */
export function keysNeeded(batch: readonly IdentitySpec[], ctx: ApplyContext, progress: Progress): IdentitySpec[] {
  const needed = new Map<string, IdentitySpec>();
  const need = (id: IdentitySpec) => {
    if (!progress.keys.has(id.name)) needed.set(id.name, id);
  };
  for (const id of batch) {
    const paths = ctx.pathsOf(id);
    const issuing = ctx.issuing(id.name);
    if (issuing || ctx.refresh.has(paths.key) || id.formats.some((f) => formatFiles(paths, f).some((file) => ctx.refresh.has(file)))) need(id);
    if (issuing && id.issuer !== null) need(ctx.byName.get(id.issuer)!);
  }
  return [...needed.values()];
}

/**
 * Phase "load keys": reads and decrypts the keys a batch needs from disk. A wrong passphrase stops the run
 * here, after the batches before it were committed.
 */
export function loadKeys(ids: readonly IdentitySpec[], ctx: ApplyContext, progress: Progress): void {
  for (const id of ids) {
    if (ctx.seenOf(id.name).keyStatus === "missing") throw new InternalError(`no key for ${id.name}`);
    // An external CA's key is the user's file, read with its certificate (store/external.ts).
    const pem = ctx.upstreamOf(id.name)?.keyPem ?? readKeyPem(ctx.config.outputDir, id.kind, id.name);
    const passphrases = passphraseCandidates(id, ctx.recordOf(id), ctx.deps.env);
    progress.keys.set(id.name, decodePrivateKeyWithAny(pem, passphrases, { file: ctx.actionOf(id.name).files.key, passphraseEnv: id.passphraseEnv }));
  }
}

/** A key the phases before made available. */
export function keyOf(progress: Progress, id: IdentitySpec) {
  const key = progress.keys.get(id.name);
  if (!key) throw new InternalError(`the key of ${id.name} was not loaded`);
  return key;
}
