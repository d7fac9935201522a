import { createHash, type KeyObject } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Config, IdentitySpec } from "../config/types.js";
import type { Deps } from "../deps.js";
import { InternalError } from "../errors.js";
import { composeBundle, composeChain, composeFullchain, issuerPath } from "../plan/compose.js";
import { ISSUING, type IdentityAction, type Plan } from "../plan/types.js";
import { ensureDir, removeStaleTemps, writeFilesAtomically, type FileWrite } from "../store/atomic-write.js";
import { bundlePath, identityPaths, MODES, retiredDir, statePath } from "../store/layout.js";
import type { ObservedState } from "../store/read-state.js";
import { serializeState, type RetiredCert, type StateFile } from "../store/state-file.js";
import { inspectCertificate, type CertFacts } from "../x509/inspect.js";
import { subjectKeyIdOf, serialFrom, signCertificate, templateFor } from "../x509/issue.js";
import { decodePrivateKeyWithAny, encodePrivateKey, spkiOf, type KeyMaterial } from "../x509/keys.js";
import { passphraseCandidates } from "../store/passphrase.js";

export interface ApplyResult {
  /** Absolute paths written, in write order. */
  written: string[];
  deleted: string[];
}

/** A rendered file (launch config) that should exist with this content. */
export type ExtraFile = FileWrite;

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
  renderExtra: (certOf: (name: string) => string) => readonly ExtraFile[] = () => [],
): Promise<ApplyResult> {
  const byName = new Map(config.identities.map((id) => [id.name, id] as const));
  const actionOf = (name: string) => plan.actions.find((a) => a.name === name) as IdentityAction;
  const seenOf = (name: string) => observed.identities.get(name)!;

  const generated = new Map<string, KeyMaterial>();
  await Promise.all(
    plan.actions
      .filter((a) => a.key === "generate")
      .map(async (a) => generated.set(a.name, await deps.generateKey(byName.get(a.name)!.key))),
  );

  const loaded = new Map<string, KeyObject>();
  const keyOf = (id: IdentitySpec): KeyObject => {
    const fresh = generated.get(id.name);
    if (fresh) return fresh.privateKey;
    let key = loaded.get(id.name);
    if (!key) {
      const pem = seenOf(id.name).keyPem;
      if (pem === null) throw new InternalError(`no key for ${id.name}`);
      const passphrases = passphraseCandidates(id, observed.state.identities[id.name], deps.env);
      key = decodePrivateKeyWithAny(pem, passphrases, { file: actionOf(id.name).files.key, passphraseEnv: id.passphraseEnv });
      loaded.set(id.name, key);
    }
    return key;
  };

  const certs = new Map<string, string>();
  const newFacts = new Map<string, CertFacts>();
  for (const id of config.identities) {
    const action = actionOf(id.name);
    if (!ISSUING.has(action.action)) {
      certs.set(id.name, seenOf(id.name).cert!.pem);
      continue;
    }
    const ownKey = keyOf(id);
    const issuer = id.issuer === null ? null : byName.get(id.issuer)!;
    const issuerKey = issuer ? keyOf(issuer) : ownKey;
    const template = templateFor({
      identity: id,
      spki: spkiOf(ownKey),
      serial: serialFrom(deps.randomBytes(16)),
      notBefore: new Date(action.notBefore!),
      notAfter: new Date(action.notAfter!),
      issuer: issuer ? { subject: issuer.subject, keyType: issuer.key, subjectKeyId: subjectKeyIdOf(spkiOf(issuerKey)) } : null,
    });
    const pem = signCertificate(template, issuerKey);
    certs.set(id.name, pem);
    newFacts.set(id.name, inspectCertificate(pem).facts);
  }
  const certOf = (name: string) => certs.get(name)!;

  const writes: FileWrite[] = [];
  const deletes: string[] = [];
  const keyDirs = new Set<string>();
  const keyTexts = new Map<string, string>();
  const desire = (file: string, content: string, current: string | null, mode: number) => {
    if (content !== current) writes.push({ path: file, content, mode });
  };

  for (const id of config.identities) {
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const seen = seenOf(id.name);
    keyDirs.add(paths.dir);
    const passphrase = id.passphraseEnv === null ? null : (deps.env[id.passphraseEnv] ?? null);
    const wantEncrypted = id.passphraseEnv !== null;
    const keyNeedsWrite = generated.has(id.name) || plan.refresh.includes(paths.key);
    if (keyNeedsWrite && wantEncrypted && passphrase === null) throw new InternalError(`plan let ${id.name}'s key through without ${id.passphraseEnv}`);
    const keyText = keyNeedsWrite ? encodePrivateKey(keyOf(id), wantEncrypted ? passphrase : null) : seen.keyPem!;
    keyTexts.set(id.name, keyText);
    if (keyNeedsWrite) writes.push({ path: paths.key, content: keyText, mode: MODES.key });
  }
  for (const id of config.identities) {
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    desire(paths.cert, certOf(id.name), seenOf(id.name).cert?.pem ?? null, MODES.cert);
  }
  for (const id of config.identities) {
    if (id.kind === "ca") continue;
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const issuers = issuerPath(config, id);
    desire(paths.chain, composeChain(issuers, certOf), seenOf(id.name).chainPem, MODES.cert);
    desire(paths.fullchain, composeFullchain(id, issuers, certOf), seenOf(id.name).fullchainPem, MODES.cert);
  }

  const retired = await retireReplacedRoots(config, plan, observed, certs, writes, deletes);
  const retiredPems = await Promise.all(
    Object.values(retired).flat().map((r) => readRetired(path.join(config.outputDir, r.file), writes)),
  );
  desire(bundlePath(config.outputDir), composeBundle(config, certOf, retiredPems), observed.bundlePem, MODES.cert);

  for (const file of renderExtra(certOf)) {
    const current = await readFile(file.path, "utf8").catch(() => null);
    desire(file.path, file.content.toString(), current, file.mode);
  }

  const state: StateFile = { version: 1, identities: {}, retired };
  for (const id of config.identities) {
    const facts = newFacts.get(id.name) ?? seenOf(id.name).cert!.facts;
    const issuerName = id.issuer ?? id.name;
    state.identities[id.name] = {
      kind: id.kind,
      certSha256: sha256(certOf(id.name)),
      keySha256: sha256(keyTexts.get(id.name)!),
      passphraseEnv: id.passphraseEnv,
      issuerFingerprint: (newFacts.get(issuerName) ?? seenOf(issuerName).cert!.facts).fingerprint,
      facts,
    };
  }
  for (const orphan of observed.orphans) {
    if (plan.prune) {
      const paths = identityPaths(config.outputDir, orphan.kind, orphan.name);
      deletes.push(paths.dir);
    } else {
      state.identities[orphan.name] = observed.state.identities[orphan.name]!;
    }
  }
  const stateText = serializeState(state);
  if (writes.length === 0 && deletes.length === 0 && stateText === observed.stateText) return { written: [], deleted: [] };
  if (stateText !== observed.stateText) writes.push({ path: statePath(config.outputDir), content: stateText, mode: MODES.cert });

  await ensureDir(config.outputDir, MODES.publicDir);
  const dirs = new Set(writes.map((w) => path.dirname(w.path)));
  for (const dir of dirs) await ensureDir(dir, keyDirs.has(dir) ? MODES.keyDir : MODES.publicDir);
  await removeStaleTemps([config.outputDir, ...keyDirs]);
  await writeFilesAtomically(writes);
  for (const target of deletes) await rm(target, { recursive: true, force: true });
  return { written: writes.map((w) => w.path), deleted: deletes };
}

/**
 * When a root's certificate is replaced, the old one stays in ca-bundle.pem until it expires, so
 * clients holding the old bundle and servers holding old chains keep working through the switch.
 */
async function retireReplacedRoots(
  config: Config,
  plan: Plan,
  observed: ObservedState,
  certs: Map<string, string>,
  writes: FileWrite[],
  deletes: string[],
): Promise<Record<string, RetiredCert[]>> {
  const now = Date.parse(plan.now);
  const retired: Record<string, RetiredCert[]> = {};
  for (const [name, list] of Object.entries(observed.state.retired)) {
    const root = config.identities.find((id) => id.name === name && id.kind === "ca" && id.issuer === null);
    for (const entry of list) {
      if (root && Date.parse(entry.notAfter) > now) (retired[name] ??= []).push(entry);
      else deletes.push(path.join(config.outputDir, entry.file));
    }
  }
  for (const id of config.identities) {
    if (id.kind !== "ca" || id.issuer !== null) continue;
    const seen = observed.identities.get(id.name)!;
    const old = seen.cert;
    if (!old || old.pem === certs.get(id.name) || Date.parse(old.facts.notAfter) <= now) continue;
    const file = path.relative(config.outputDir, path.join(retiredDir(config.outputDir, id.name), `${old.facts.fingerprint.slice(0, 16)}.pem`));
    writes.push({ path: path.join(config.outputDir, file), content: old.pem, mode: MODES.cert });
    (retired[id.name] ??= []).push({ fingerprint: old.facts.fingerprint, notAfter: old.facts.notAfter, file });
  }
  return retired;
}

async function readRetired(file: string, pending: FileWrite[]): Promise<string> {
  const queued = pending.find((w) => w.path === file);
  return queued ? queued.content.toString() : readFile(file, "utf8");
}
