import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Config, IdentityKind, IdentitySpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { inspectCertificate, type CertFacts } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, isEncryptedKeyPem, spkiOf } from "../x509/keys.js";
import { passphraseCandidates } from "./passphrase.js";
import { bundlePath, identityPaths, statePath } from "./layout.js";
import { parseState, type StateFile } from "./state-file.js";

export type KeyStatus = "ok" | "missing" | "unreadable" | "mismatch" | "locked";

/** What is on disk for one identity, judged against its own files and its issuer's certificate. */
export interface ObservedIdentity {
  name: string;
  kind: IdentityKind;
  cert: { pem: string; sha256: string; facts: CertFacts } | null;
  /** Why there is no usable certificate: "missing" or "unreadable (…)". */
  certProblem: string | null;
  keyPem: string | null;
  keySha256: string | null;
  keyStatus: KeyStatus;
  keyDetail: string | null;
  /** Whether the certificate verifies against the issuer's current certificate; null when either is missing. */
  signedByIssuer: boolean | null;
  chainPem: string | null;
  fullchainPem: string | null;
}

export interface ObservedState {
  identities: Map<string, ObservedIdentity>;
  state: StateFile;
  stateText: string | null;
  stateProblem: string | null;
  bundlePem: string | null;
  /** Earlier CA certificates still inside their validity, published in ca-bundle.pem. */
  retiredPems: { pem: string; notAfter: string }[];
  /** Identities recorded in state.json that pki.yaml no longer names. */
  orphans: { name: string; kind: IdentityKind }[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new ProvisionError("unreadable", `cannot read ${file}: ${code ?? String(error)}`, { hint: "check the file's permissions" });
  }
}

/**
 * Reads every identity's files. Files whose hashes match state.json are trusted as recorded; anything
 * else is parsed and checked (cert readable, key matches, signed by the issuer's current certificate).
 */
export async function readObservedState(config: Config, env: NodeJS.ProcessEnv): Promise<ObservedState> {
  const stateText = await readText(statePath(config.outputDir));
  const { state, problem } = parseState(stateText);
  const identities = new Map<string, ObservedIdentity>();
  const x509Cache = new Map<string, X509Certificate>();
  const x509Of = (o: ObservedIdentity) => {
    let cert = x509Cache.get(o.name);
    if (!cert && o.cert) x509Cache.set(o.name, (cert = new X509Certificate(o.cert.pem)));
    return cert;
  };

  const files = await Promise.all(
    config.identities.map(async (id) => {
      const paths = identityPaths(config.outputDir, id.kind, id.name);
      const [cert, key, chain, fullchain] = await Promise.all(
        id.kind === "ca" ? [readText(paths.cert), readText(paths.key), null, null] : [paths.cert, paths.key, paths.chain, paths.fullchain].map(readText),
      );
      return { id, paths, cert, key, chain, fullchain };
    }),
  );

  for (const { id, paths, cert, key, chain, fullchain } of files) {
    const record = state.identities[id.name];
    const observed: ObservedIdentity = {
      name: id.name,
      kind: id.kind,
      cert: null,
      certProblem: cert === null ? "missing" : null,
      keyPem: key,
      keySha256: key === null ? null : sha256(key),
      keyStatus: key === null ? "missing" : "ok",
      keyDetail: null,
      signedByIssuer: null,
      chainPem: chain,
      fullchainPem: fullchain,
    };
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
    if (key !== null && observed.cert) {
      const trusted = record && record.certSha256 === observed.cert.sha256 && record.keySha256 === observed.keySha256;
      if (!trusted) checkKeyMatches(observed, id, paths.key, passphraseCandidates(id, record, env), x509Of);
    } else if (key !== null) {
      checkKeyReadable(observed, id, paths.key, passphraseCandidates(id, record, env));
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
      const pem = await readText(path.join(config.outputDir, retired.file));
      if (pem !== null) retiredPems.push({ pem, notAfter: retired.notAfter });
    }
  }
  return { identities, state, stateText, stateProblem: problem, bundlePem: await readText(bundlePath(config.outputDir)), retiredPems, orphans };
}

function checkKeyReadable(observed: ObservedIdentity, id: IdentitySpec, file: string, passphrases: string[]): KeyObject | undefined {
  const pem = observed.keyPem!;
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
  passphrases: string[],
  x509Of: (o: ObservedIdentity) => X509Certificate | undefined,
): void {
  const key = checkKeyReadable(observed, id, file, passphrases);
  if (!key) return;
  const certSpki = x509Of(observed)!.publicKey.export({ type: "spki", format: "der" });
  if (!certSpki.equals(spkiOf(key))) {
    observed.keyStatus = "mismatch";
    observed.keyDetail = "the key does not belong to the certificate";
  }
}
