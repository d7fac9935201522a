import { createHash, X509Certificate } from "node:crypto";
import path from "node:path";
import { resolveExternalSpecs, type ExternalCertFacts } from "../config/external.js";
import { locateInFile } from "../config/locate.js";
import type { Config, IdentitySpec } from "../config/types.js";
import { fsReason, ProvisionError } from "../errors.js";
import { inspectCertificate } from "../x509/inspect.js";
import type { CertificateFacts } from "../x509/spec.js";
import { decodePrivateKeyWithAny, isEncryptedKeyPem, spkiOf } from "../x509/keys.js";
import { pemBlocks } from "../x509/pem.js";
import { readUserFile } from "./guard.js";
import { passphraseCandidates } from "./passphrase.js";
import { unseen, type ObservedIdentity } from "./read-state.js";

/**
 * An external CA as found on disk: its certificate, the certificates above it up to a self-signed root, and
 * its key when pki.yaml names one. The files are the user's (pki.yaml names them, and its author is trusted
 * as for the rest of pki.yaml): provision reads them and never writes them.
 */
export interface ExternalCa {
  name: string;
  /** Absolute paths. */
  certFile: string;
  keyFile: string | null;
  /** The CA's own certificate (the first one in external.cert). */
  certPem: string;
  facts: CertificateFacts;
  /** The certificates above it, nearest first, root last; empty when it is a self-signed root itself. */
  upstream: string[];
  /** What ca-bundle.pem publishes for it: the root of its path, then any other self-signed CA in external.chain. */
  roots: string[];
  keyPem: string | null;
  /** What its certificates allow below it, for config/external.ts. */
  limits: ExternalCertFacts;
}

export type ExternalCas = ReadonlyMap<string, ExternalCa>;

/** A file pki.yaml names: symlinks followed, a regular file of bounded size only (store/guard.ts). */
function readFile(file: string, what: string, ca: string): string {
  try {
    return readUserFile(file);
  } catch (error) {
    const why = error instanceof ProvisionError ? error.message : fsReason(error);
    throw new ProvisionError("external-ca", `${what} of external CA ${ca}: ${why}`, { hint: "external paths are relative to the folder holding pki.yaml" });
  }
}

function certificatesIn(text: string, file: string, ca: string): X509Certificate[] {
  const certs = pemBlocks(text).filter((b) => b.label === "CERTIFICATE").map((b) => {
    try {
      return new X509Certificate(b.der);
    } catch {
      throw new ProvisionError("external-ca", `${file} (external CA ${ca}) holds a certificate that does not parse`);
    }
  });
  if (certs.length === 0) throw new ProvisionError("external-ca", `${file} (external CA ${ca}) holds no PEM certificate`, { hint: "expected -----BEGIN CERTIFICATE----- blocks" });
  return certs;
}

const pemOf = (cert: X509Certificate) => cert.toString().replace(/\r\n/g, "\n").replace(/\n*$/, "\n");
const selfSigned = (cert: X509Certificate) => cert.checkIssued(cert) && cert.verify(cert.publicKey);
const fingerprint = (cert: X509Certificate) => cert.fingerprint256;
const oneLine = (name: string) => name.split("\n").join(", ");
/** Whether a CA certificate's keyUsage lets it sign certificates: none given, or keyCertSign (RFC 5280 §4.2.1.3). */
const signsCertificates = (keyUsage: readonly string[]) => keyUsage.length === 0 || keyUsage.includes("keyCertSign");

const MAX_UPSTREAM = 9;

/** Reads every external CA of the config; a file that is missing, unreadable or not what it should be stops the run. */
export function readExternalCas(config: Config): Map<string, ExternalCa> {
  const out = new Map<string, ExternalCa>();
  for (const id of config.identities) {
    if (!id.external) continue;
    const certFile = path.resolve(config.baseDir, id.external.cert);
    const [cert, ...extra] = certificatesIn(readFile(certFile, "the certificate", id.name), id.external.cert, id.name);
    const chainFile = id.external.chain === null ? null : path.resolve(config.baseDir, id.external.chain);
    const candidates = [...extra, ...(chainFile === null ? [] : certificatesIn(readFile(chainFile, "the chain", id.name), id.external.chain!, id.name))];

    // Walk up by signature to a self-signed root; the files may hold more (a whole ca-bundle.pem, say).
    const upstream: X509Certificate[] = [];
    for (let current = cert!; !selfSigned(current); ) {
      const parent = candidates.find((c) => !upstream.includes(c) && c !== current && current.checkIssued(c) && current.verify(c.publicKey));
      // Node's checkIssued, like OpenSSL's, refuses an issuer whose keyUsage lacks keyCertSign: a certificate
      // named and signed by such a CA (itself, for a root) is not missing, it is one no verifier will accept.
      const unusable = parent ? undefined : [current, ...candidates].find((c) => current.issuer === c.subject && current.verify(c.publicKey) && !signsCertificates(inspectCertificate(pemOf(c)).keyUsage));
      if (unusable) {
        const file = unusable === cert || extra.includes(unusable) ? id.external.cert : id.external.chain!;
        throw new ProvisionError("external-ca", `external CA ${id.name}: ${oneLine(unusable.subject)} (in ${file}) ${unusable === current ? "is self-signed" : `signs ${oneLine(current.subject)}`}, but its keyUsage lacks keyCertSign, so verifiers will not accept it as a CA`, {
          hint: "make that certificate again with keyCertSign in its keyUsage (openssl: -addext keyUsage=critical,keyCertSign,cRLSign), with the same key",
        });
      }
      const files = [id.external.cert, id.external.chain].filter(Boolean).join(" or ");
      if (!parent) {
        throw new ProvisionError("external-ca", `external CA ${id.name}: the issuer of ${oneLine(current.subject)} (${oneLine(current.issuer)}) is not in ${files}`, {
          hint: "give the certificates above it, up to the self-signed root, with external.chain (for a provision admin's intermediate: their ca-bundle.pem)",
        });
      }
      // A bound on the walk (and on certificates that sign each other in a loop).
      if (upstream.length === MAX_UPSTREAM) {
        throw new ProvisionError("external-ca", `external CA ${id.name}: more than ${MAX_UPSTREAM} certificates above ${oneLine(cert!.subject)} in ${files} before a self-signed root`, {
          hint: `provision follows at most ${MAX_UPSTREAM} CA certificates up to the root; use a CA nearer its root`,
        });
      }
      upstream.push(parent);
      current = parent;
    }
    const root = upstream.at(-1) ?? cert!;
    const otherRoots = candidates.filter((c) => c.ca && selfSigned(c) && fingerprint(c) !== fingerprint(root));
    const roots = [...new Map([root, ...otherRoots].map((c) => [fingerprint(c), pemOf(c)])).values()];

    const keyFile = id.external.key === null ? null : path.resolve(config.baseDir, id.external.key);
    const keyPem = keyFile === null ? null : readFile(keyFile, "the key", id.name);
    const certPem = pemOf(cert!);
    const inspected = inspectCertificate(certPem);
    out.set(id.name, {
      name: id.name,
      certFile,
      keyFile,
      certPem,
      facts: inspected.facts,
      upstream: upstream.map(pemOf),
      roots,
      keyPem,
      limits: {
        subject: inspected.facts.subject,
        keyType: inspected.facts.keyType,
        lifetimeSeconds: Math.round((Date.parse(inspected.facts.notAfter) - Date.parse(inspected.facts.notBefore)) / 1000),
        isCa: inspected.facts.isCa,
        canSign: signsCertificates(inspected.keyUsage),
        pathLength: inspected.facts.pathLength,
        nameConstraints: inspected.facts.nameConstraints,
        upstream: upstream.map((u) => {
          const { pathLength, nameConstraints } = inspectCertificate(pemOf(u)).facts;
          return { subject: oneLine(u.subject), pathLength, nameConstraints, file: extra.includes(u) ? id.external!.cert : id.external!.chain! };
        }),
        certFile: id.external.cert,
      },
    });
  }
  return out;
}

/**
 * Reads the external CAs and returns the config with their specs taken from their certificates; what pki.yaml
 * asks to issue below them is checked against their pathLength and name constraints (and those above them).
 */
export function loadExternalCas(config: Config): { config: Config; externals: ExternalCas } {
  if (!config.identities.some((id) => id.external)) return { config, externals: new Map() };
  const externals = readExternalCas(config);
  const resolved = resolveExternalSpecs(config, new Map([...externals].map(([name, ext]) => [name, ext.limits] as const)), locateInFile(config));
  if (resolved.diagnostics.length) {
    const n = resolved.diagnostics.length;
    throw new ProvisionError("invalid-config", `${config.file} asks for what its external CAs cannot issue (${n} problem${n === 1 ? "" : "s"})`, {
      diagnostics: resolved.diagnostics,
      hint: "change pki.yaml, or use a CA whose certificate allows it; nothing was written",
    });
  }
  return { config: resolved.config, externals };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The observed state of an external CA: its certificate as given, and its key (if any) checked against it. */
export function observeExternal(id: IdentitySpec, ext: ExternalCa, env: NodeJS.ProcessEnv): ObservedIdentity {
  const observed: ObservedIdentity = {
    ...unseen(id),
    cert: { pem: ext.certPem, sha256: sha256(ext.certPem), facts: ext.facts },
    certProblem: null,
    keySha256: ext.keyPem === null ? null : sha256(ext.keyPem),
    keyEncrypted: ext.keyPem !== null && isEncryptedKeyPem(ext.keyPem),
    // Never re-encrypted: the key is the user's file.
    keyStatus: ext.keyPem === null ? "missing" : "ok",
  };
  if (ext.keyPem === null) return observed;
  const passphrases = passphraseCandidates(id, undefined, env);
  if (observed.keyEncrypted && passphrases.length === 0) {
    observed.keyStatus = "locked";
    observed.keyDetail = "encrypted, and no passphrase variable is set";
    return observed;
  }
  try {
    const key = decodePrivateKeyWithAny(ext.keyPem, passphrases, { file: ext.keyFile!, passphraseEnv: id.passphraseEnv });
    if (!spkiOf(key).equals(new X509Certificate(ext.certPem).publicKey.export({ type: "spki", format: "der" }))) {
      observed.keyStatus = "mismatch";
      observed.keyDetail = `${ext.keyFile} is not the key of ${ext.certFile}`;
    }
  } catch (error) {
    observed.keyStatus = error instanceof ProvisionError && error.code === "passphrase-wrong" ? "locked" : "unreadable";
    observed.keyDetail = error instanceof Error ? error.message : String(error);
  }
  return observed;
}
