import { createHash, type KeyObject } from "node:crypto";
import type { IdentitySpec } from "../config/types.js";
import { InternalError } from "../errors.js";
import { composeBundle, composeChain, composeFullchain } from "../plan/compose.js";
import type { FileWrite } from "../store/atomic-write.js";
import { readOutputFile } from "../store/guard.js";
import { bundlePath, formatFiles, identityPaths, MODES, type IdentityPaths } from "../store/layout.js";
import { passphraseOf } from "../store/passphrase.js";
import { readDerivedFile, readKeyPem } from "../store/read-state.js";
import type { RetiredCert } from "../store/state-file.js";
import { encodePrivateKey, encodePrivateKeyDer } from "../x509/keys.js";
import { pemBlocks, pemToDer } from "../x509/pem.js";
import { buildPkcs12 } from "../x509/pkcs12.js";
import { certOf, type ApplyContext, type Progress } from "./context.js";
import { keyOf } from "./keys.js";

/** A rendered file (launch config) that should exist with this content. */
export type ExtraFile = FileWrite;

/** What one commit changes on disk, besides state.json. */
export interface Changes {
  writes: FileWrite[];
  chmods: { file: string; mode: number }[];
  deletes: string[];
}

export const noChanges = (): Changes => ({ writes: [], chmods: [], deletes: [] });

/** Whether an identity has anything to write: a certificate, a key, a chain or a format file. */
export function hasFileWork(id: IdentitySpec, ctx: ApplyContext): boolean {
  // An external CA's files are the user's: never written. An idle identity has nothing to derive.
  if (id.external || ctx.idle(id)) return false;
  const paths = ctx.pathsOf(id);
  if (ctx.issuing(id.name) || ctx.refresh.has(paths.key)) return true;
  if (id.kind !== "ca" && (ctx.refresh.has(paths.chain) || ctx.refresh.has(paths.fullchain) || ctx.issuersOf(id).some((i) => ctx.issuing(i.name)))) return true;
  return id.formats.some((f) => formatFiles(paths, f).some((file) => ctx.refresh.has(file)));
}

/**
 * Phase "assemble writes" for one identity: key.pem, cert.pem, chain.pem, fullchain.pem and its formats,
 * each only when its bytes change. Records the hash of a key.pem it writes in `progress.keySha`.
 */
export function identityWrites(id: IdentitySpec, ctx: ApplyContext, progress: Progress): FileWrite[] {
  const paths = ctx.pathsOf(id);
  const seen = ctx.seenOf(id.name);
  const writes: FileWrite[] = [];
  const certOfName = (name: string) => certOf(ctx, progress, name);
  let keyText: string | undefined;
  if (progress.generated.has(id.name) || ctx.refresh.has(paths.key)) {
    const passphrase = passphraseOf(id, ctx.deps.env);
    if (id.passphraseEnv !== null && passphrase === null) throw new InternalError(`plan let ${id.name}'s key through without ${id.passphraseEnv}`);
    keyText = encodePrivateKey(keyOf(progress, id), passphrase);
    progress.keySha.set(id.name, createHash("sha256").update(keyText).digest("hex"));
    writes.push({ path: paths.key, content: keyText, mode: MODES.key });
  }
  const issuing = ctx.issuing(id.name);
  if (issuing) writes.push({ path: paths.cert, content: certOfName(id.name), mode: MODES.cert });
  if (id.kind !== "ca") {
    // Chains change with a certificate in them; otherwise the plan lists the ones found stale.
    const issuers = ctx.issuersOf(id);
    const rewrite = issuing || issuers.some((i) => ctx.issuing(i.name));
    const desire = (file: string, content: string, current: () => string | null | undefined) => {
      const known = current();
      if (content !== (known !== undefined ? known : readDerivedFile(file))) writes.push({ path: file, content, mode: MODES.cert });
    };
    if (rewrite || ctx.refresh.has(paths.chain)) desire(paths.chain, composeChain(issuers, certOfName, ctx.upstreamOf), () => seen.chainPem);
    if (rewrite || ctx.refresh.has(paths.fullchain)) desire(paths.fullchain, composeFullchain(id, issuers, certOfName, ctx.upstreamOf), () => seen.fullchainPem);
  }
  const formatStale = id.formats.some((f) => formatFiles(paths, f).some((file) => ctx.refresh.has(file)));
  if (id.formats.length > 0 && (issuing || keyText !== undefined || formatStale)) {
    const keyPem = keyText ?? readKeyPem(ctx.config.outputDir, id.kind, id.name);
    const issuers = ctx.issuersOf(id);
    const chains = { chain: composeChain(issuers, certOfName, ctx.upstreamOf), fullchain: composeFullchain(id, issuers, certOfName, ctx.upstreamOf) };
    writes.push(...formatWrites(id, paths, chains, keyOf(progress, id), keyPem, ctx));
  }
  return writes;
}

/** cert.der + key.der, identity.p12, combined.pem: the optional formats of pki.yaml's `formats`. */
function formatWrites(id: IdentitySpec, paths: IdentityPaths, chains: { chain: string; fullchain: string }, key: KeyObject, keyPem: string, ctx: ApplyContext): FileWrite[] {
  const certDer = pemToDer(chains.fullchain, "CERTIFICATE")!;
  const passphrase = passphraseOf(id, ctx.deps.env);
  const out: FileWrite[] = [];
  if (id.formats.includes("der")) {
    const keyDer = encodePrivateKeyDer(key, passphrase);
    out.push({ path: paths.der, content: certDer, mode: MODES.cert }, { path: paths.keyDer, content: keyDer, mode: MODES.key });
  }
  if (id.formats.includes("p12")) {
    // mkcert's default password when none is configured: many tools refuse an empty one.
    const password = (id.p12PassphraseEnv === null ? undefined : ctx.deps.env[id.p12PassphraseEnv]) ?? "changeit";
    const chainDers = pemBlocks(chains.chain).map((b) => b.der);
    const p12 = buildPkcs12({ certDers: [certDer, ...chainDers], key, password, friendlyName: id.name, random: ctx.deps.randomBytes(24) });
    out.push({ path: paths.p12, content: p12, mode: MODES.key });
  }
  if (id.formats.includes("combined")) {
    out.push({ path: paths.combined, content: chains.fullchain + keyPem, mode: MODES.key });
  }
  return out;
}

/**
 * Replaced roots, as the plan decided (every path is the plan's): the old certificate of a root this run
 * replaces is written in the same commit as the new one, so it is never lost; dropped ones are deleted by
 * the final commit. Also returns the PEMs ca-bundle.pem publishes besides the current roots.
 */
export function retiredChanges(ctx: ApplyContext, committing: ReadonlySet<string> | "final"): { changes: Changes; pems: string[] } {
  const changes = noChanges();
  const pems: string[] = [];
  for (const r of ctx.plan.retired) {
    if (r.action === "drop") {
      if (committing === "final") changes.deletes.push(r.file);
      continue;
    }
    const pem = r.action === "add" ? ctx.seenOf(r.ca).cert!.pem : ctx.observed.retired.find((o) => o.ca === r.ca && o.fingerprint === r.fingerprint)?.pem;
    if (pem === undefined || pem === null) throw new InternalError(`no certificate for retired ${r.ca} ${r.fingerprint}`);
    if (r.action === "add" && committing !== "final" && committing.has(r.ca)) changes.writes.push({ path: r.file, content: pem, mode: MODES.cert });
    pems.push(pem);
  }
  return { changes, pems };
}

/**
 * The retired roots state.json records at a commit: kept ones, added ones once their root is committed,
 * and dropped ones until the final commit deletes their files.
 */
export function retiredRecords(ctx: ApplyContext, progress: Progress, final: boolean): Map<string, RetiredCert[]> {
  const retired = new Map<string, RetiredCert[]>();
  for (const r of ctx.plan.retired) {
    if (r.action === "drop" ? final : r.action === "add" && !progress.committed.has(r.ca)) continue;
    retired.set(r.ca, [...(retired.get(r.ca) ?? []), { fingerprint: r.fingerprint, notAfter: r.notAfter, until: r.until }]);
  }
  return retired;
}

/**
 * Phase "assemble writes" for what belongs to no single identity, in the last commit: ca-bundle.pem,
 * the rendered launch files, dropped retired roots, pruned orphans and permission fixes.
 */
export function finalChanges(ctx: ApplyContext, progress: Progress, renderExtra: (certOf: (name: string) => string) => readonly ExtraFile[]): Changes {
  const { changes, pems } = retiredChanges(ctx, "final");
  const certOfName = (name: string) => certOf(ctx, progress, name);
  const desire = (file: string, content: string, current: string | null) => {
    if (content !== current) changes.writes.push({ path: file, content, mode: MODES.cert });
  };
  desire(bundlePath(ctx.config.outputDir), composeBundle(ctx.config, certOfName, pems, ctx.upstreamOf), ctx.observed.bundlePem);
  for (const file of renderExtra(certOfName)) {
    let current: string | null = null;
    try {
      current = readOutputFile(file.path);
    } catch {
      // Not a plain file (a symlink, say): write it, and let the write refuse what must be refused.
    }
    if (file.content.toString() !== current) changes.writes.push(file);
  }
  for (const orphan of ctx.observed.orphans) {
    // Not pathsOf: an orphan may share its name with an identity that moved to another section.
    if (ctx.plan.prune) changes.deletes.push(identityPaths(ctx.config.outputDir, orphan.kind, orphan.name).dir);
  }
  changes.chmods.push(...ctx.plan.permissions.map(({ file, mode }) => ({ file, mode })));
  return changes;
}
