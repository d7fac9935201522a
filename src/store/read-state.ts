import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { lstatSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { identitiesByName, issuerChain } from "../config/issuers.js";
import type { Config, IdentityKind, IdentitySpec } from "../config/types.js";
import { isSafeName } from "../config/rules.js";
import { fsError, InternalError, ProvisionError } from "../errors.js";
import { observeExternal, type ExternalCas } from "./external.js";
import { signsElsewhere } from "../config/external.js";
import { hasPendingKey } from "./pending-key.js";
import { inspectCertificate } from "../x509/inspect.js";
import type { CertificateFacts } from "../x509/spec.js";
import { decodePrivateKeyWithAny, isEncryptedKeyPem, keyEncryptionIsStrong, KEY_KDF, spkiOf } from "../x509/keys.js";
import { readOutputFile } from "./guard.js";
import { swapLeftover } from "./folder-swap.js";
import { bundlePath, formatFiles, identityPaths, KIND_FOLDER, kindDir, KINDS, retiredCertPath, statePath, type IdentityPaths } from "./layout.js";
import { passphraseCandidates } from "./passphrase.js";
import { statFile, type FileStamps } from "./stamp.js";
import { emptyState, type StateFile, type StateRecord } from "./state-file.js";
import { parseStateCached } from "./state-cache.js";
import { caCertReader, readObservedCrls, type ObservedCrl } from "./read-crls.js";

export type KeyStatus = "ok" | "missing" | "unreadable" | "mismatch" | "locked";

/**
 * What is on disk for one identity, judged against its own files and its issuer's certificate. Plain
 * data: what the planner compares is read here, up front; files whose stamps match state.json are not
 * read at all (their `pem` fields are undefined) unless a chain or the bundle has to be composed from them.
 */
export interface ObservedIdentity {
  name: string;
  kind: IdentityKind;
  /** `pem` is undefined when the file was trusted by its stamp and not needed for a comparison. */
  cert: { pem: string | undefined; sha256: string; facts: CertificateFacts } | null;
  /** Why there is no usable certificate: "missing" or "unreadable (…)". */
  certProblem: string | null;
  keySha256: string | null;
  keyEncrypted: boolean;
  /** The key is encrypted more weakly than KEY_KDF (written by an older version): re-encrypt it. */
  keyEncryptionWeak: boolean;
  keyStatus: KeyStatus;
  keyDetail: string | null;
  /** Whether the certificate verifies against the issuer's current certificate; null when either is missing. */
  signedByIssuer: boolean | null;
  /** chain.pem and fullchain.pem: undefined when not read (they and their issuers are exactly as last written). */
  chainPem?: string | null;
  fullchainPem?: string | null;
  /** Files of the configured extra formats that do not exist. */
  missingFormatFiles: string[];
  /** Private files (key.pem, key.der, identity.p12, combined.pem) that others may read, with their mode. */
  loosePrivateFiles: { file: string; mode: number }[];
  /** Every file is exactly as provision last wrote and checked it (stamps match state.json). */
  trusted: boolean;
  /** Below a keyless external CA: the pending key of a renewal request (next-key.pem) when one stands there. */
  pendingKey?: string | null;
  stamps: FileStamps;
}

/** A retired root certificate recorded in state.json; `pem` is null when its file is missing or not that certificate. */
export interface ObservedRetired {
  ca: string;
  fingerprint: string;
  notAfter: string;
  until: string;
  pem: string | null;
}

export interface ObservedState {
  identities: Map<string, ObservedIdentity>;
  state: StateFile;
  stateText: string | null;
  /** What in state.json was ignored, and files that were not what they claimed to be: plan notes. */
  problems: string[];
  bundlePem: string | null;
  /** Earlier root certificates recorded in state.json, each checked against its fingerprint. */
  retired: ObservedRetired[];
  /**
   * Identities with files under the output folder that pki.yaml no longer names under that kind: in
   * state.json but not in pki.yaml, or moved to another section (their old folder is still there).
   */
  orphans: { name: string; kind: IdentityKind; notAfter: string | null }[];
  /** The external CAs' files (store/external.ts): their certificates, the chains above them, their keys. */
  externals: ExternalCas;
  /**
   * Identities whose folder a run killed in the middle of a folder swap left aside (`.<name>.<hex>.old`, the
   * folder itself missing): the next applying run puts them back before it reads (store/folder-swap.ts).
   */
  aside?: ReadonlySet<string>;
  /** Each CA's CRL on disk (store/read-crls.ts), and crl-bundle.pem. */
  crls: Map<string, ObservedCrl>;
  crlBundlePem: string | null;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const ONE_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

function stampsOf(id: IdentitySpec, paths: IdentityPaths): { stamps: FileStamps; keyMode: number | null } {
  const key = statFile(paths.key);
  const stamps: FileStamps = { cert: statFile(paths.cert).stamp, key: key.stamp };
  if (id.kind !== "ca") {
    stamps.chain = statFile(paths.chain).stamp;
    stamps.fullchain = statFile(paths.fullchain).stamp;
  }
  return { stamps, keyMode: key.mode };
}

function stampsMatch(record: StateRecord | undefined, id: IdentitySpec, stamps: FileStamps): boolean {
  const recorded = record?.stamps;
  if (!record || record.kind !== id.kind || !recorded || stamps.cert === null || stamps.key === null) return false;
  return recorded.cert === stamps.cert && recorded.key === stamps.key && recorded.chain === stamps.chain && recorded.fullchain === stamps.fullchain;
}

/** The output folder may be a symlink the user made, but must be a folder (or not exist yet). */
function checkOutputForRead(out: string): void {
  let info;
  try {
    info = statSync(out, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") throw fsError("read", out, error);
  }
  if (info === undefined ? !parentsAreFolders(out) : !info.isDirectory()) {
    throw new ProvisionError("unsafe-path", `the output folder ${out} is not a folder (a file stands on its path)`, { hint: "point output: in pki.yaml at a folder" });
  }
}

function parentsAreFolders(dir: string): boolean {
  for (let at = path.dirname(dir); ; at = path.dirname(at)) {
    try {
      const info = statSync(at, { throwIfNoEntry: false });
      if (info) return info.isDirectory();
    } catch {
      return false;
    }
    if (path.dirname(at) === at) return true;
  }
}

/** Refuses a symlink (or a file) where a folder of the output tree should be, before anything is read from it. */
function checkFolderForRead(dir: string): void {
  let info;
  try {
    info = lstatSync(dir, { throwIfNoEntry: false });
  } catch (error) {
    throw fsError("read", dir, error);
  }
  if (!info) return;
  if (info.isSymbolicLink()) {
    throw new ProvisionError("unsafe-path", `refusing to read ${dir}: it is a symlink`, { hint: "provision never follows a symlink inside the output folder (the output folder itself may be one); remove the link and run again" });
  }
  if (!info.isDirectory()) throw new ProvisionError("unsafe-path", `refusing to read ${dir}: it is not a folder`, { hint: "remove what stands there and run again" });
}

/**
 * Reads every identity's files. Files whose stamps match state.json are trusted as recorded and not read;
 * files whose hashes match are trusted too; anything else is parsed and checked (certificate readable,
 * key matches it, signed by the issuer's current certificate). state.json is validated first and every
 * path comes from layout.ts, never from state.json.
 */
export async function readObservedState(config: Config, env: NodeJS.ProcessEnv, externals: ExternalCas = new Map()): Promise<ObservedState> {
  const out = config.outputDir;
  checkOutputForRead(out);
  for (const kind of KINDS) checkFolderForRead(kindDir(out, kind));
  // state.json grows with the identities (about 1.5 kB each); other files are a few kB.
  const stateText = readOutputFile(statePath(out), 256 * 1024 * 1024);
  const { state, problems } = await parseStateCached(env, out, stateText);
  const recordOf = (id: Pick<IdentitySpec, "name" | "kind">) => {
    const record = state.identities.get(id.name);
    return record?.kind === id.kind ? record : undefined;
  };
  const identities = new Map<string, ObservedIdentity>();
  const x509Cache = new Map<string, X509Certificate>();
  const x509Of = (o: ObservedIdentity) => {
    let cert = x509Cache.get(o.name);
    if (!cert && o.cert?.pem !== undefined) x509Cache.set(o.name, (cert = new X509Certificate(o.cert.pem)));
    return cert;
  };

  const byName = identitiesByName(config);
  for (const id of config.identities) {
    if (id.external) {
      const external = externals.get(id.name);
      if (!external) throw new InternalError(`external CA ${id.name} was not read (call loadExternalCas first)`);
      identities.set(id.name, observeExternal(id, external, env));
      continue;
    }
    const paths = identityPaths(out, id.kind, id.name);
    checkFolderForRead(paths.dir);
    const record = recordOf(id);
    const { stamps, keyMode } = stampsOf(id, paths);
    const trusted = stampsMatch(record, id, stamps);
    const loosePrivateFiles = keyMode !== null && (keyMode & 0o077) !== 0 ? [{ file: paths.key, mode: keyMode }] : [];
    const missingFormatFiles: string[] = [];
    for (const file of id.formats.flatMap((f) => formatFiles(paths, f))) {
      const { stamp, mode } = statFile(file);
      if (stamp === null) missingFormatFiles.push(file);
      const isPrivate = file === paths.keyDer || file === paths.p12 || file === paths.combined;
      if (isPrivate && mode !== null && (mode & 0o077) !== 0) loosePrivateFiles.push({ file, mode });
    }
    const observed: ObservedIdentity = {
      name: id.name,
      kind: id.kind,
      cert: null,
      certProblem: stamps.cert === null ? "missing" : null,
      keySha256: null,
      keyEncrypted: false,
      keyEncryptionWeak: false,
      keyStatus: stamps.key === null ? "missing" : "ok",
      keyDetail: null,
      signedByIssuer: null,
      missingFormatFiles,
      loosePrivateFiles,
      trusted,
      stamps,
    };
    if (trusted) {
      // A root's certificate is always read: ca-bundle.pem is composed from it.
      const pem = id.issuer === null ? (readOutputFile(paths.cert) ?? undefined) : undefined;
      observed.cert = { pem, sha256: record!.certSha256, facts: record!.facts };
      observed.keySha256 = record!.keySha256;
      observed.keyEncrypted = record!.passphraseEnv !== null;
      // Keys written before KEY_KDF: read the header (no decryption) to see whether to re-encrypt.
      if (observed.keyEncrypted && record!.keyKdf !== KEY_KDF.label) {
        const key = readOutputFile(paths.key);
        observed.keyEncryptionWeak = key !== null && isEncryptedKeyPem(key) && !keyEncryptionIsStrong(key);
      }
    } else {
      inspectFiles(observed, id, paths, record, env, readOutputFile(paths.cert), readOutputFile(paths.key), x509Of);
    }
    // Only identities that wait for another's signature can have a renewal request pending (provision csr).
    const issuerSpec = id.issuer === null ? undefined : byName.get(id.issuer);
    if (signsElsewhere(issuerSpec) && hasPendingKey(paths.nextKey)) observed.pendingKey = paths.nextKey;
    identities.set(id.name, observed);
  }

  // Chains are compared only where an identity or one of its issuers is not exactly as last written.
  for (const id of config.identities) {
    if (id.kind === "ca") continue;
    const observed = identities.get(id.name)!;
    const issuers = issuerChain(id, byName);
    if (observed.trusted && issuers.every((i) => identities.get(i.name)!.trusted)) continue;
    const paths = identityPaths(out, id.kind, id.name);
    observed.chainPem = readOutputFile(paths.chain);
    observed.fullchainPem = readOutputFile(paths.fullchain);
    for (const o of [observed, ...issuers.map((i) => identities.get(i.name)!)]) {
      if (o.cert && o.cert.pem === undefined) o.cert.pem = readOutputFile(identityPaths(out, o.kind, o.name).cert) ?? undefined;
    }
  }

  for (const id of config.identities) {
    if (id.external) continue; // its files are the user's, taken as given
    const observed = identities.get(id.name)!;
    const issuer = id.issuer === null ? observed : identities.get(id.issuer);
    if (!observed.cert || !issuer?.cert) continue;
    const record = recordOf(id);
    const fromCache = record?.certSha256 === observed.cert.sha256 && record.issuerFingerprint === issuer.cert.facts.fingerprint;
    if (fromCache) observed.signedByIssuer = true;
    else {
      for (const o of [observed, issuer]) if (o.cert!.pem === undefined) o.cert!.pem = readOutputFile(identityPaths(out, o.kind, o.name).cert) ?? undefined;
      const child = x509Of(observed);
      const parent = x509Of(issuer);
      observed.signedByIssuer = Boolean(child && parent && child.checkIssued(parent) && child.verify(parent.publicKey));
    }
  }

  const certPemOf = caCertReader(config, (ca) => externals.get(ca)?.certPem ?? identities.get(ca)?.cert?.pem);
  const { crls, bundlePem: crlBundlePem } = readObservedCrls(config, state, certPemOf);
  return {
    identities,
    state,
    stateText,
    problems,
    bundlePem: readOutputFile(bundlePath(out)),
    retired: readRetired(out, state, problems),
    ...findOrphans(config, state, problems),
    externals,
    crls,
    crlBundlePem,
  };
}

/** An identity of which nothing is on disk: no certificate, no key, nothing recorded. */
export function unseen(id: Pick<IdentitySpec, "name" | "kind">): ObservedIdentity {
  return {
    name: id.name,
    kind: id.kind,
    cert: null,
    certProblem: "missing",
    keySha256: null,
    keyEncrypted: false,
    keyEncryptionWeak: false,
    keyStatus: "missing",
    keyDetail: null,
    signedByIssuer: null,
    missingFormatFiles: [],
    loosePrivateFiles: [],
    trusted: false,
    stamps: { cert: null, key: null },
  };
}

/**
 * What an empty output folder looks like to the planner: nothing issued, nothing recorded. The library's
 * createPki plans against it (and reads no file).
 */
export function nothingObserved(config: Config): ObservedState {
  const identities = new Map<string, ObservedIdentity>();
  for (const id of config.identities) {
    identities.set(id.name, unseen(id));
  }
  return { identities, state: emptyState(), stateText: null, problems: [], bundlePem: null, retired: [], orphans: [], externals: new Map(), crls: new Map(), crlBundlePem: null };
}

/**
 * The retired certificates state.json lists, each read from the path its fingerprint gives and kept only
 * when the file is one certificate with exactly that fingerprint: nothing else can reach ca-bundle.pem.
 */
function readRetired(out: string, state: StateFile, problems: string[]): ObservedRetired[] {
  const found: ObservedRetired[] = [];
  for (const [ca, list] of state.retired) {
    checkFolderForRead(identityPaths(out, "ca", ca).dir);
    for (const entry of list) {
      const file = retiredCertPath(out, ca, entry.fingerprint);
      let pem: string | null = null;
      try {
        pem = readOutputFile(file, 64 * 1024);
      } catch (error) {
        if (!(error instanceof ProvisionError)) throw error;
        problems.push(`${error.message}; the retired certificate is dropped`);
      }
      if (pem !== null && !(ONE_CERTIFICATE.test(pem) && certFingerprint(pem) === entry.fingerprint)) {
        problems.push(`${file} is not the certificate state.json lists (${entry.fingerprint.slice(0, 16)}…); it is dropped from ca-bundle.pem`);
        pem = null;
      }
      found.push({ ca, fingerprint: entry.fingerprint, notAfter: entry.notAfter, until: entry.until, pem });
    }
  }
  return found;
}

function certFingerprint(pem: string): string | null {
  try {
    return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Orphans: names state.json records that pki.yaml no longer has under that kind, and the folders of
 * identities that moved to another section (cas → servers, say), found by listing the kind folders. Only
 * valid identity names are ever turned into paths.
 */
function findOrphans(config: Config, state: StateFile, problems: string[]): Pick<ObservedState, "orphans" | "aside"> {
  const aside = new Set<string>();
  const configured = new Map(config.identities.map((id) => [id.name, id.kind] as const));
  const orphans = new Map<string, ObservedState["orphans"][number]>();
  for (const [name, record] of state.identities) {
    if (configured.get(name) !== record.kind) orphans.set(`${record.kind}/${name}`, { name, kind: record.kind, notAfter: record.facts.notAfter });
  }
  for (const kind of KINDS) {
    let entries: string[];
    try {
      entries = readdirSync(kindDir(config.outputDir, kind));
    } catch {
      continue;
    }
    for (const name of entries) {
      const leftover = name.startsWith(".") ? swapLeftover(name) : null;
      if (leftover?.stage === "old" && configured.get(leftover.name) === kind && !entries.includes(leftover.name)) {
        aside.add(leftover.name);
        problems.push(`${KIND_FOLDER[kind]}/${leftover.name} was moved aside by an interrupted run (${KIND_FOLDER[kind]}/${name}): the next provision run puts it back`);
      }
      const now = configured.get(name);
      if (now === undefined || now === kind || !isSafeName(name) || orphans.has(`${kind}/${name}`)) continue;
      orphans.set(`${kind}/${name}`, { name, kind, notAfter: null });
    }
  }
  return { orphans: [...orphans.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1)), aside };
}

/** The slow path: hash the files, and parse and check whatever state.json cannot vouch for. */
function inspectFiles(
  observed: ObservedIdentity,
  id: IdentitySpec,
  paths: IdentityPaths,
  record: StateRecord | undefined,
  env: NodeJS.ProcessEnv,
  cert: string | null,
  key: string | null,
  x509Of: (o: ObservedIdentity) => X509Certificate | undefined,
): void {
  observed.certProblem = cert === null ? "missing" : null;
  observed.keyStatus = key === null ? "missing" : "ok";
  observed.keySha256 = key === null ? null : sha256(key);
  observed.keyEncrypted = key !== null && isEncryptedKeyPem(key);
  observed.keyEncryptionWeak = key !== null && observed.keyEncrypted && !keyEncryptionIsStrong(key);
  if (cert !== null) {
    const certSha = sha256(cert);
    // A hash state.json vouches for is taken only for text that is one PEM certificate: state.json is untrusted.
    if (record && record.certSha256 === certSha && ONE_CERTIFICATE.test(cert)) {
      observed.cert = { pem: cert, sha256: certSha, facts: record.facts };
    } else {
      try {
        observed.cert = { pem: cert, sha256: certSha, facts: inspectCertificate(cert).facts };
      } catch {
        observed.certProblem = "unreadable (not a valid PEM certificate)";
      }
    }
  }
  const passphrases = passphraseCandidates(id, record, env);
  if (key !== null && observed.cert) {
    const unchanged = record && record.certSha256 === observed.cert.sha256 && record.keySha256 === observed.keySha256;
    if (!unchanged) checkKeyMatches(observed, id, paths.key, key, passphrases, x509Of);
  } else if (key !== null) {
    checkKeyReadable(observed, id, paths.key, key, passphrases);
  }
}

function checkKeyReadable(observed: ObservedIdentity, id: IdentitySpec, file: string, pem: string, passphrases: string[]): KeyObject | undefined {
  if (isEncryptedKeyPem(pem) && passphrases.length === 0) {
    observed.keyStatus = "locked";
    observed.keyDetail = "encrypted, and no passphrase variable is set";
    return undefined;
  }
  try {
    return decodePrivateKeyWithAny(pem, passphrases, { file, passphraseEnv: id.passphraseEnv });
  } catch (error) {
    observed.keyStatus = error instanceof ProvisionError && error.code === "passphrase-wrong" ? "locked" : "unreadable";
    observed.keyDetail = error instanceof Error ? error.message : String(error);
    return undefined;
  }
}

function checkKeyMatches(
  observed: ObservedIdentity,
  id: IdentitySpec,
  file: string,
  pem: string,
  passphrases: string[],
  x509Of: (o: ObservedIdentity) => X509Certificate | undefined,
): void {
  const key = checkKeyReadable(observed, id, file, pem, passphrases);
  if (!key) return;
  const cert = x509Of(observed);
  const certSpki = cert?.publicKey.export({ type: "spki", format: "der" });
  if (!certSpki?.equals(spkiOf(key))) {
    observed.keyStatus = "mismatch";
    observed.keyDetail = "the key does not belong to the certificate";
  }
}

/** A certificate apply needs but the planner did not (an unchanged one, for a chain or a format file). */
export function readCertificatePem(outputDir: string, kind: IdentityKind, name: string): string {
  const file = identityPaths(outputDir, kind, name).cert;
  const pem = readOutputFile(file);
  if (pem === null) throw new ProvisionError("fs-error", `cannot read ${file}: no such file`, { hint: "it was there when this run started; run again" });
  return pem;
}

/** A private key's PEM, for apply (signing, re-encrypting, combined.pem); never kept in the observed state. */
export function readKeyPem(outputDir: string, kind: IdentityKind, name: string): string {
  const file = identityPaths(outputDir, kind, name).key;
  const pem = readOutputFile(file);
  if (pem === null) throw new ProvisionError("fs-error", `cannot read ${file}: no such file`, { hint: "it was there when this run started; run again" });
  return pem;
}

/** A chain file's current content, when the planner did not read it; null when it does not exist. */
export function readDerivedFile(file: string): string | null {
  return readOutputFile(file);
}

