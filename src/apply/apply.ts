import { createHash, type KeyObject } from "node:crypto";
import path from "node:path";
import type { Config, IdentitySpec } from "../config/types.js";
import type { Deps } from "../deps.js";
import { InternalError } from "../errors.js";
import { composeBundle, composeChain, composeFullchain, issuerPath } from "../plan/compose.js";
import { ISSUING, type IdentityAction, type Plan } from "../plan/types.js";
import { usableCertificate } from "../plan/build.js";
import { removeStaleTemps, writeFilesAtomically, type FileWrite } from "../store/atomic-write.js";
import { chmodPrivate, deleteInside, prepareFolder, readOutputFile } from "../store/guard.js";
import { bundlePath, formatFiles, identityPaths, MODES, statePath, type IdentityPaths } from "../store/layout.js";
import { buildPkcs12 } from "../x509/pkcs12.js";
import { pemBlocks, pemToDer } from "../x509/pem.js";
import { readCertificatePem, readDerivedFile, readKeyPem, type ObservedState } from "../store/read-state.js";
import { recordOwnCaKeys } from "../store/own-keys.js";
import { stampOf, type FileStamps } from "../store/stamp.js";
import { serializeState, type RetiredCert, type StateFile, type StateRecord } from "../store/state-file.js";
import { generatePlannedKeys } from "./keys.js";
import { signPlanned } from "./sign.js";
import { decodePrivateKeyWithAny, encodePrivateKey, encodePrivateKeyDer, KEY_KDF } from "../x509/keys.js";
import { passphraseCandidates, passphraseOf } from "../store/passphrase.js";
import { identitiesByName } from "../config/issuers.js";

export interface ApplyResult {
  /** Absolute paths written, in write order. */
  written: string[];
  deleted: string[];
}

/** A rendered file (launch config) that should exist with this content. */
export type ExtraFile = FileWrite;

export interface ApplyOptions {
  /** Files rendered from the certificates (launch config); written when their content differs. */
  renderExtra?: (certOf: (name: string) => string) => readonly ExtraFile[];
  /** Called as each new key is ready, for progress lines. */
  onKeyGenerated?: (done: number, total: number) => void;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Carries out a plan: generates the keys it asks for (in parallel), signs certificates issuer-first,
 * composes chains and the bundle, and writes only files whose content changes; state.json last.
 * Everything is computed in memory before the first write, so a failure leaves the disk as it was.
 */
export async function applyPlan(
  config: Config,
  plan: Plan,
  observed: ObservedState,
  deps: Deps,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const { renderExtra = () => [], onKeyGenerated } = options;
  const byName = identitiesByName(config);
  // Orphans are listed by kind and name; a name moved to another section has an orphan and an action.
  const actionsByName = new Map(plan.actions.filter((a) => a.action !== "orphaned").map((a) => [a.name, a] as const));
  const actionOf = (name: string) => actionsByName.get(name) as IdentityAction;
  const seenOf = (name: string) => observed.identities.get(name)!;

  const generated = await generatePlannedKeys(config, plan, deps, onKeyGenerated);

  const recordOf = (id: IdentitySpec) => {
    const record = observed.state.identities.get(id.name);
    return record?.kind === id.kind ? record : undefined;
  };
  const keyPems = new Map<string, string>();
  const keyPemOf = (id: IdentitySpec): string => {
    let pem = keyPems.get(id.name);
    // An external CA's key is the user's file, read with its certificate (store/external.ts).
    if (pem === undefined) keyPems.set(id.name, (pem = observed.externals.get(id.name)?.keyPem ?? readKeyPem(config.outputDir, id.kind, id.name)));
    return pem;
  };
  const loaded = new Map<string, KeyObject>();
  const keyOf = (id: IdentitySpec): KeyObject => {
    const fresh = generated.get(id.name);
    if (fresh) return fresh.privateKey;
    let key = loaded.get(id.name);
    if (!key) {
      if (seenOf(id.name).keyStatus === "missing") throw new InternalError(`no key for ${id.name}`);
      const pem = keyPemOf(id);
      const passphrases = passphraseCandidates(id, recordOf(id), deps.env);
      key = decodePrivateKeyWithAny(pem, passphrases, { file: actionOf(id.name).files.key, passphraseEnv: id.passphraseEnv });
      loaded.set(id.name, key);
    }
    return key;
  };

  const { certs, facts: newFacts } = signPlanned(config, plan, keyOf, deps, (name) => observed.externals.get(name));
  // Unchanged certificates are read from disk only if a chain, a format file or the bundle needs them.
  const certOf = (name: string): string => {
    const known = certs.get(name) ?? seenOf(name).cert!.pem;
    if (known !== undefined) return known;
    const pem = readCertificatePem(config.outputDir, byName.get(name)!.kind, name);
    certs.set(name, pem);
    return pem;
  };
  const upstreamOf = (name: string) => observed.externals.get(name);
  // Waiting for a signature elsewhere without a usable certificate: nothing is derived from it or recorded.
  const idle = (id: IdentitySpec) => actionOf(id.name).action === "waiting" && !usableCertificate(seenOf(id.name));

  const writes: FileWrite[] = [];
  const deletes: string[] = [];
  const keyDirs = new Set<string>();
  const writtenKeySha = new Map<string, string>();
  const refresh = new Set(plan.refresh);
  const issuing = (name: string) => ISSUING.has(actionOf(name).action);
  const desire = (file: string, content: string, current: string | null, mode: number) => {
    if (content !== current) writes.push({ path: file, content, mode });
  };

  for (const id of config.identities) {
    if (id.external) continue; // its files are the user's: never written
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    keyDirs.add(paths.dir);
    if (!generated.has(id.name) && !refresh.has(paths.key)) continue;
    const passphrase = passphraseOf(id, deps.env);
    if (id.passphraseEnv !== null && passphrase === null) throw new InternalError(`plan let ${id.name}'s key through without ${id.passphraseEnv}`);
    const keyText = encodePrivateKey(keyOf(id), passphrase);
    writtenKeySha.set(id.name, sha256(keyText));
    writes.push({ path: paths.key, content: keyText, mode: MODES.key });
  }
  for (const id of config.identities) {
    if (issuing(id.name)) writes.push({ path: identityPaths(config.outputDir, id.kind, id.name).cert, content: certOf(id.name), mode: MODES.cert });
  }
  // Chains change with a certificate in them; otherwise the plan lists the ones found stale.
  for (const id of config.identities) {
    if (id.kind === "ca" || idle(id)) continue;
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const issuers = issuerPath(config, id);
    const rewrite = issuing(id.name) || issuers.some((i) => issuing(i.name));
    const seen = seenOf(id.name);
    if (rewrite || refresh.has(paths.chain)) desire(paths.chain, composeChain(issuers, certOf, upstreamOf), seen.chainPem !== undefined ? seen.chainPem : readDerivedFile(paths.chain), MODES.cert);
    if (rewrite || refresh.has(paths.fullchain)) desire(paths.fullchain, composeFullchain(id, issuers, certOf, upstreamOf), seen.fullchainPem !== undefined ? seen.fullchainPem : readDerivedFile(paths.fullchain), MODES.cert);
  }

  for (const id of config.identities) {
    if (id.formats.length === 0 || idle(id)) continue;
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const keyWritten = writtenKeySha.has(id.name);
    if (!issuing(id.name) && !keyWritten && !id.formats.some((f) => formatFiles(paths, f).some((file) => refresh.has(file)))) continue;
    const issuers = issuerPath(config, id);
    const chains = { chain: composeChain(issuers, certOf, upstreamOf), fullchain: composeFullchain(id, issuers, certOf, upstreamOf) };
    writes.push(...formatWrites(id, paths, chains, keyOf(id), keyWritten ? writes.find((w) => w.path === paths.key)!.content.toString() : keyPemOf(id), deps));
  }

  // Replaced roots, as the plan decided: every path is the plan's, derived from a name and a fingerprint.
  const retired = new Map<string, RetiredCert[]>();
  const retiredPems: string[] = [];
  for (const r of plan.retired) {
    if (r.action === "drop") {
      deletes.push(r.file);
      continue;
    }
    const pem = r.action === "add" ? seenOf(r.ca).cert!.pem : observed.retired.find((o) => o.ca === r.ca && o.fingerprint === r.fingerprint)?.pem;
    if (pem === undefined || pem === null) throw new InternalError(`no certificate for retired ${r.ca} ${r.fingerprint}`);
    if (r.action === "add") writes.push({ path: r.file, content: pem, mode: MODES.cert });
    retiredPems.push(pem);
    retired.set(r.ca, [...(retired.get(r.ca) ?? []), { fingerprint: r.fingerprint, notAfter: r.notAfter, until: r.until }]);
  }
  desire(bundlePath(config.outputDir), composeBundle(config, certOf, retiredPems, upstreamOf), observed.bundlePem, MODES.cert);

  for (const file of renderExtra(certOf)) {
    let current: string | null = null;
    try {
      current = readOutputFile(file.path);
    } catch {
      // Not a plain file (a symlink, say): write it, and let the write refuse what must be refused.
    }
    desire(file.path, file.content.toString(), current, file.mode);
  }

  const recordFor = (id: IdentitySpec, stamps: FileStamps): StateRecord => {
    const seen = seenOf(id.name);
    const issuerName = id.issuer ?? id.name;
    return {
      kind: id.kind,
      certSha256: newFacts.has(id.name) ? sha256(certOf(id.name)) : seen.cert!.sha256,
      keySha256: writtenKeySha.get(id.name) ?? seen.keySha256!,
      passphraseEnv: id.passphraseEnv,
      ...(id.passphraseEnv !== null && (writtenKeySha.has(id.name) || (!seen.keyEncryptionWeak && recordOf(id)?.keyKdf === KEY_KDF.label)) ? { keyKdf: KEY_KDF.label } : {}),
      stamps,
      issuerFingerprint: (newFacts.get(issuerName) ?? seenOf(issuerName).cert!.facts).fingerprint,
      facts: newFacts.get(id.name) ?? seen.cert!.facts,
    };
  };
  const state: StateFile = { version: 1, identities: new Map(), retired };
  // External CAs are not provision's to record; an identity still waiting for a usable certificate has none to record.
  const recorded = config.identities.filter((id) => !id.external && !idle(id));
  for (const id of recorded) state.identities.set(id.name, recordFor(id, seenOf(id.name).stamps));
  for (const orphan of observed.orphans) {
    if (plan.prune) deletes.push(identityPaths(config.outputDir, orphan.kind, orphan.name).dir);
    else if (!byName.has(orphan.name)) {
      const record = observed.state.identities.get(orphan.name);
      if (record) state.identities.set(orphan.name, record);
    }
  }
  const chmods = plan.permissions;
  if (writes.length === 0 && deletes.length === 0 && chmods.length === 0 && observed.stateText !== null && sameRecords(state, observed.state)) return { written: [], deleted: [] };

  // Every folder on the way to a write is checked (store/guard.ts) before the first byte is written.
  const checked = new Set<string>();
  const dirs = new Set([...writes.map((w) => path.dirname(w.path)), ...chmods.map((c) => path.dirname(c.file))]);
  for (const dir of dirs) prepareFolder(config.outputDir, dir, keyDirs.has(dir) ? MODES.keyDir : MODES.publicDir, checked);
  await removeStaleTemps([config.outputDir, ...[...keyDirs].filter((d) => checked.has(d))]);
  // Recorded before any key.pem is renamed in, so a run killed before the matching cert.pem can be finished.
  recordOwnCaKeys(deps.env, config.outputDir, config.identities.filter((id) => id.kind === "ca" && writtenKeySha.has(id.name)).map((id) => writtenKeySha.get(id.name)!));
  await writeFilesAtomically(writes);
  for (const { file, mode } of chmods) chmodPrivate(file, mode);
  const deleted: string[] = [];
  for (const target of deletes) if (deleteInside(config.outputDir, target)) deleted.push(target);

  // state.json last, with the stamps of the files as they now are.
  const touchedDirs = new Set([...writes.map((w) => path.dirname(w.path)), ...chmods.map((c) => path.dirname(c.file))]);
  for (const id of recorded) {
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    if (!touchedDirs.has(paths.dir)) continue;
    const stamps: FileStamps = { cert: stampOf(paths.cert), key: stampOf(paths.key) };
    if (id.kind !== "ca") Object.assign(stamps, { chain: stampOf(paths.chain), fullchain: stampOf(paths.fullchain) });
    state.identities.set(id.name, recordFor(id, stamps));
  }
  const stateText = serializeState(state);
  const statePathname = statePath(config.outputDir);
  if (stateText !== observed.stateText) await writeFilesAtomically([{ path: statePathname, content: stateText, mode: MODES.cert }]);
  return { written: [...writes.map((w) => w.path), ...(stateText !== observed.stateText ? [statePathname] : [])], deleted };
}

/** cert.der + key.der, identity.p12, combined.pem: the optional formats of pki.yaml's `formats`. */
function formatWrites(id: IdentitySpec, paths: IdentityPaths, chains: { chain: string; fullchain: string }, key: KeyObject, keyPem: string, deps: Deps): FileWrite[] {
  const certDer = pemToDer(chains.fullchain, "CERTIFICATE")!;
  const passphrase = passphraseOf(id, deps.env);
  const out: FileWrite[] = [];
  if (id.formats.includes("der")) {
    const keyDer = encodePrivateKeyDer(key, passphrase);
    out.push({ path: paths.der, content: certDer, mode: MODES.cert }, { path: paths.keyDer, content: keyDer, mode: MODES.key });
  }
  if (id.formats.includes("p12")) {
    // mkcert's default password when none is configured: many tools refuse an empty one.
    const password = (id.p12PassphraseEnv === null ? undefined : deps.env[id.p12PassphraseEnv]) ?? "changeit";
    const chainDers = pemBlocks(chains.chain).map((b) => b.der);
    const p12 = buildPkcs12({ certDers: [certDer, ...chainDers], key, password, friendlyName: id.name, random: deps.randomBytes(24) });
    out.push({ path: paths.p12, content: p12, mode: MODES.key });
  }
  if (id.formats.includes("combined")) {
    out.push({ path: paths.combined, content: chains.fullchain + keyPem, mode: MODES.key });
  }
  return out;
}

/** Whether two states record the same files, without serialising either. */
function sameRecords(next: StateFile, current: StateFile): boolean {
  if (next.identities.size !== current.identities.size) return false;
  for (const [name, a] of next.identities) {
    const b = current.identities.get(name);
    if (!b || a.kind !== b.kind || a.certSha256 !== b.certSha256 || a.keySha256 !== b.keySha256 || a.issuerFingerprint !== b.issuerFingerprint || a.passphraseEnv !== b.passphraseEnv || a.keyKdf !== b.keyKdf || JSON.stringify(a.stamps) !== JSON.stringify(b.stamps)) {
      return false;
    }
  }
  return JSON.stringify([...next.retired]) === JSON.stringify([...current.retired].filter(([, list]) => list.length > 0));
}
