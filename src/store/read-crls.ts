import { X509Certificate } from "node:crypto";
import type { Config } from "../config/types.js";
import { crlSignedBy, readCrl, type CrlEntry } from "../x509/crl.js";
import { pemToDer } from "../x509/pem.js";
import { readOutputBytes, readOutputFile } from "./guard.js";
import { crlBundlePath, crlPaths, identityPaths } from "./layout.js";
import type { StateFile } from "./state-file.js";

/** What a CA's CRL on disk says, as far as the planner compares it. */
export interface ObservedCrl {
  ca: string;
  /** crl.pem's text (null: missing); the bundle is composed from it. */
  pem: string | null;
  /** Why it cannot be kept as is (missing, unreadable, not signed by the CA's key, crl.der differs); null when fine. */
  problem: string | null;
  /** The highest cRLNumber seen (in crl.pem or recorded in state.json); the next CRL gets a higher one. */
  number: number | null;
  thisUpdate: string | null;
  nextUpdate: string | null;
  /** Its revoked entries, when it is signed by the CA's current key (else empty: nothing unsigned is believed). */
  entries: CrlEntry[];
}

export interface ObservedCrls {
  crls: Map<string, ObservedCrl>;
  bundlePem: string | null;
}

const CRL_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads each CA's crl.pem and crl.der, parses the CRL and checks its signature against the CA's current
 * certificate. Its entries are believed only when that signature holds; state.json (untrusted) only ever
 * raises the floor of the next CRL number. CRLs are parsed on every run (there are few CAs): a revocation
 * dropped from state.json is still found in the signed CRL.
 */
export function readObservedCrls(config: Config, state: StateFile, caCertPem: (ca: string) => string | null): ObservedCrls {
  const crls = new Map<string, ObservedCrl>();
  for (const id of config.identities) {
    if (id.kind !== "ca" || !id.crl) continue;
    const files = crlPaths(config.outputDir, id.name);
    const recorded = state.crls.get(id.name)?.number ?? null;
    const pem = readOutputFile(files.pem, CRL_MAX_BYTES);
    const base = { ca: id.name, pem, number: recorded, thisUpdate: null, nextUpdate: null, entries: [] };
    const decoded = pem === null ? null : readCrl(pem);
    if (pem === null || decoded === null) {
      crls.set(id.name, { ...base, problem: pem === null ? "missing" : "crl.pem unreadable" });
      continue;
    }
    let signed = false;
    try {
      const caPem = caCertPem(id.name);
      signed = caPem !== null && crlSignedBy(decoded, new X509Certificate(caPem).publicKey);
    } catch {
      signed = false;
    }
    const der = readOutputBytes(files.der, CRL_MAX_BYTES);
    const derMatches = der !== null && der.equals(pemToDer(pem, "X509 CRL") ?? Buffer.alloc(0));
    const problem = !signed ? "not signed by the CA's current key" : decoded.nextUpdate === null ? "no nextUpdate" : !derMatches ? "crl.der does not match crl.pem" : null;
    crls.set(id.name, {
      ...base,
      number: Math.max(decoded.number ?? 0, recorded ?? 0),
      thisUpdate: decoded.thisUpdate,
      nextUpdate: decoded.nextUpdate,
      entries: signed ? decoded.entries : [],
      problem,
    });
  }
  return { crls, bundlePem: readOutputFile(crlBundlePath(config.outputDir), CRL_MAX_BYTES) };
}

/** A CA's certificate PEM for checking a CRL: the one the observation holds, else read from its folder. */
export function caCertReader(config: Config, known: (ca: string) => string | undefined): (ca: string) => string | null {
  return (ca) => known(ca) ?? readOutputFile(identityPaths(config.outputDir, "ca", ca).cert);
}
