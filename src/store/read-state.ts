import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Config, IdentityKind, IdentitySpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { inspectCertificate, type CertFacts } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, isEncryptedKeyPem, spkiOf } from "../x509/keys.js";
import { bundlePath, formatFiles, identityPaths, statePath, type IdentityPaths } from "./layout.js";
import { passphraseCandidates } from "./passphrase.js";
import { stampOf, type FileStamps } from "./stamp.js";
import { parseState, type StateFile, type StateRecord } from "./state-file.js";

export type KeyStatus = "ok" | "missing" | "unreadable" | "mismatch" | "locked";

/**
 * What is on disk for one identity, judged against its own files and its issuer's certificate. File
 * contents are read on first access: for files whose stamps match state.json, usually never.
 */
export interface ObservedIdentity {
  name: string;
  kind: IdentityKind;
  cert: { readonly pem: string; sha256: string; facts: CertFacts } | null;
  /** Why there is no usable certificate: "missing" or "unreadable (…)". */
  certProblem: string | null;
  readonly keyPem: string | null;
  keySha256: string | null;
  keyEncrypted: boolean;
  keyStatus: KeyStatus;
  keyDetail: string | null;
  /** Whether the certificate verifies against the issuer's current certificate; null when either is missing. */
  signedByIssuer: boolean | null;
  readonly chainPem: string | null;
  readonly fullchainPem: string | null;
  /** Files of the configured extra formats that do not exist. */
  missingFormatFiles: string[];
  /** Every file is exactly as provision last wrote and checked it (stamps match state.json). */
  trusted: boolean;
  stamps: FileStamps;
}

export interface ObservedState {
  identities: Map<string, ObservedIdentity>;
  state: StateFile;
  stateText: string | null;
  stateProblem: string | null;
  bundlePem: string | null;
  /** Earlier CA certificates still published in ca-bundle.pem. */
  retiredPems: { pem: string; until: string }[];
  /** Identities recorded in state.json that pki.yaml no longer names. */
  orphans: { name: string; kind: IdentityKind }[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

// Synchronous on purpose: thousands of small reads cost a fraction of what promise-based reads do.
function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new ProvisionError("unreadable", `cannot read ${file}: ${code ?? String(error)}`, { hint: "check the file's permissions" });
  }
}

function lazyText(file: string): () => string | null {
  let value: string | null | undefined;
  return () => (value === undefined ? (value = readText(file)) : value);
}

function currentStamps(id: IdentitySpec, paths: IdentityPaths): FileStamps {
  const stamps: FileStamps = { cert: stampOf(paths.cert), key: stampOf(paths.key) };
  if (id.kind !== "ca") {
    stamps.chain = stampOf(paths.chain);
    stamps.fullchain = stampOf(paths.fullchain);
  }
  return stamps;
}

function stampsMatch(record: StateRecord | undefined, id: IdentitySpec, stamps: FileStamps): boolean {
  const recorded = record?.stamps;
  if (!record || record.kind !== id.kind || !recorded || stamps.cert === null || stamps.key === null) return false;
  return recorded.cert === stamps.cert && recorded.key === stamps.key && recorded.chain === stamps.chain && recorded.fullchain === stamps.fullchain;
}

/**
 * Reads every identity's files. Files whose stamps match state.json are trusted as recorded and not read;
 * files whose hashes match are trusted too; anything else is parsed and checked (certificate readable,
 * key matches it, signed by the issuer's current certificate).
 */
export async function readObservedState(config: Config, env: NodeJS.ProcessEnv): Promise<ObservedState> {
  const stateText = readText(statePath(config.outputDir));
  const { state, problem } = parseState(stateText);
  const identities = new Map<string, ObservedIdentity>();
  const x509Cache = new Map<string, X509Certificate>();
  const x509Of = (o: ObservedIdentity) => {
    let cert = x509Cache.get(o.name);
    if (!cert && o.cert) x509Cache.set(o.name, (cert = new X509Certificate(o.cert.pem)));
    return cert;
  };

  for (const id of config.identities) {
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const record = state.identities[id.name];
    const stamps = currentStamps(id, paths);
    const [certText, keyText] = [lazyText(paths.cert), lazyText(paths.key)];
    const [chainText, fullchainText] = id.kind === "ca" ? [() => null, () => null] : [lazyText(paths.chain), lazyText(paths.fullchain)];
    const trusted = stampsMatch(record, id, stamps);
    const observed: ObservedIdentity = {
      name: id.name,
      kind: id.kind,
      cert: null,
      certProblem: stamps.cert === null ? "missing" : null,
      get keyPem() { return keyText(); },
      keySha256: null,
      keyEncrypted: false,
      keyStatus: stamps.key === null ? "missing" : "ok",
      keyDetail: null,
      signedByIssuer: null,
      get chainPem() { return chainText(); },
      get fullchainPem() { return fullchainText(); },
      missingFormatFiles: id.formats.flatMap((f) => formatFiles(paths, f)).filter((file) => stampOf(file) === null),
      trusted,
      stamps,
    };
    if (trusted) {
      observed.cert = { get pem() { return certText()!; }, sha256: record!.certSha256, facts: record!.facts };
      observed.keySha256 = record!.keySha256;
      observed.keyEncrypted = record!.passphraseEnv !== null;
    } else {
      inspectFiles(observed, id, paths, record, env, certText(), keyText(), x509Of);
    }
    identities.set(id.name, observed);
  }

  for (const id of config.identities) {
    const observed = identities.get(id.name)!;
    const issuer = id.issuer === null ? observed : identities.get(id.issuer);
    if (!observed.cert || !issuer?.cert) continue;
    const record = state.identities[id.name];
    const fromCache = record?.certSha256 === observed.cert.sha256 && record.issuerFingerprint === issuer.cert.facts.fingerprint;
    if (fromCache) observed.signedByIssuer = true;
    else {
      const child = x509Of(observed)!;
      const parent = x509Of(issuer)!;
      observed.signedByIssuer = child.checkIssued(parent) && child.verify(parent.publicKey);
    }
  }

  const names = new Set(config.identities.map((id) => id.name));
  const orphans = Object.entries(state.identities)
    .filter(([name]) => !names.has(name))
    .map(([name, record]) => ({ name, kind: record.kind }));
  const retiredPems: ObservedState["retiredPems"] = [];
  for (const list of Object.values(state.retired)) {
    for (const retired of list) {
      const pem = readText(path.join(config.outputDir, retired.file));
      if (pem !== null) retiredPems.push({ pem, until: retired.until ?? retired.notAfter });
    }
  }
  return { identities, state, stateText, stateProblem: problem, bundlePem: readText(bundlePath(config.outputDir)), retiredPems, orphans };
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
  if (cert !== null) {
    const certSha = sha256(cert);
    if (record && record.kind === id.kind && record.certSha256 === certSha) {
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
  const certSpki = x509Of(observed)!.publicKey.export({ type: "spki", format: "der" });
  if (!certSpki.equals(spkiOf(key))) {
    observed.keyStatus = "mismatch";
    observed.keyDetail = "the key does not belong to the certificate";
  }
}
