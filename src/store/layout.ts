import path from "node:path";
import type { IdentityKind } from "../config/types.js";

export const KIND_FOLDER: Readonly<Record<IdentityKind, string>> = { ca: "cas", server: "servers", client: "clients" };
export const KINDS: readonly IdentityKind[] = ["ca", "server", "client"];
/** `<output>/cas`, `<output>/servers`, `<output>/clients`. */
export const kindDir = (outputDir: string, kind: IdentityKind) => path.join(outputDir, KIND_FOLDER[kind]);

/** Where one identity's files live: `<output>/{cas,servers,clients}/<name>/`. */
export interface IdentityPaths {
  dir: string;
  cert: string;
  key: string;
  /** Issuing chain, intermediates first, root last (for verifiers' -untrusted). Leaves only. */
  chain: string;
  /** Certificate + intermediates: what a TLS server sends. Leaves only. */
  fullchain: string;
  /** Optional formats (pki.yaml `formats`). */
  der: string;
  keyDer: string;
  p12: string;
  combined: string;
  /**
   * The key of a renewal request made by `provision csr` under a keyless external CA (rotateKey: always): it
   * waits here, beside the key and certificate still in use, until `provision import` swaps both in.
   */
  nextKey: string;
}

const pathCache = new Map<string, IdentityPaths>();

export function identityPaths(outputDir: string, kind: IdentityKind, name: string): IdentityPaths {
  const cacheKey = `${outputDir}\0${kind}\0${name}`;
  const cached = pathCache.get(cacheKey);
  if (cached) return cached;
  // Plain concatenation: names are validated folder names and outputDir is absolute and normalised, and
  // path.join is a measurable share of a no-op run over thousands of identities.
  const dir = `${outputDir}${path.sep}${KIND_FOLDER[kind]}${path.sep}${name}`;
  const paths = {
    dir,
    cert: `${dir}${path.sep}cert.pem`,
    key: `${dir}${path.sep}key.pem`,
    chain: `${dir}${path.sep}chain.pem`,
    fullchain: `${dir}${path.sep}fullchain.pem`,
    der: `${dir}${path.sep}cert.der`,
    keyDer: `${dir}${path.sep}key.der`,
    p12: `${dir}${path.sep}identity.p12`,
    combined: `${dir}${path.sep}combined.pem`,
    nextKey: `${dir}${path.sep}next-key.pem`,
  };
  pathCache.set(cacheKey, paths);
  return paths;
}

export const statePath = (outputDir: string) => path.join(outputDir, "state.json");
export const bundlePath = (outputDir: string) => path.join(outputDir, "ca-bundle.pem");
export const lockPath = (outputDir: string) => path.join(outputDir, ".provision.lock");
/** Held by `provision watch` for its lifetime: one watcher per output folder. */
export const watchLockPath = (outputDir: string) => path.join(outputDir, ".provision-watch.lock");
/** afterChange hooks that failed and are retried by the next run. */
export const pendingHooksPath = (outputDir: string) => path.join(outputDir, "hooks-pending.json");
export const launchDir = (outputDir: string, server: string) => path.join(outputDir, "launch", server);
/** Earlier certificates of a CA kept for the overlap after a renewal or key rotation. */
export const retiredDir = (outputDir: string, ca: string) => path.join(outputDir, "cas", ca, "retired");
/**
 * One retired certificate, named by its SHA-256 fingerprint (the first 16 hex digits, as 0.1 named them).
 * `ca` must be a validated name and `fingerprint` 64 hex digits: never a path from state.json.
 */
export const retiredCertPath = (outputDir: string, ca: string, fingerprint: string) => path.join(retiredDir(outputDir, ca), `${fingerprint.slice(0, 16)}.pem`);

/** A CA's CRL, as PEM and DER: `<output>/cas/<ca>/crl.pem`, `crl.der` (ca: a validated name). */
export const crlPaths = (outputDir: string, ca: string) => {
  const dir = identityPaths(outputDir, "ca", ca).dir;
  return { pem: path.join(dir, "crl.pem"), der: path.join(dir, "crl.der") };
};
/** Every CA's CRL in one PEM file: what nginx ssl_crl, curl --crlfile and openssl -CRLfile take. */
export const crlBundlePath = (outputDir: string) => path.join(outputDir, "crl-bundle.pem");

/** File modes (mkcert's): keys private, certificates public, key folders closed to others. */
export const MODES = { key: 0o600, cert: 0o644, keyDir: 0o700, publicDir: 0o755 } as const;

/** The files of each optional format. */
export function formatFiles(paths: IdentityPaths, format: "der" | "p12" | "combined"): string[] {
  return format === "der" ? [paths.der, paths.keyDer] : format === "p12" ? [paths.p12] : [paths.combined];
}

/** `provision acme` state: `<output>/acme/{accounts,orders,certs}/<id>`, ids being random base64url the server made. */
export const acmeDir = (outputDir: string) => path.join(outputDir, "acme");
export const acmeLockPath = (outputDir: string) => path.join(outputDir, "acme", ".acme.lock");
export const acmeObjectPath = (outputDir: string, folder: "accounts" | "orders" | "certs", id: string, ext: "json" | "pem") => path.join(outputDir, "acme", folder, `${id}.${ext}`);
/** The endpoint's own TLS certificate when pki.yaml names no server for it. */
export const acmeTlsPaths = (outputDir: string) => ({ dir: path.join(outputDir, "acme", "tls"), cert: path.join(outputDir, "acme", "tls", "cert.pem"), key: path.join(outputDir, "acme", "tls", "key.pem") });
