import path from "node:path";
import type { IdentityKind } from "../config/types.js";

const KIND_FOLDER: Record<IdentityKind, string> = { ca: "cas", server: "servers", client: "clients" };

/** Where one identity's files live: `<output>/{cas,servers,clients}/<name>/`. */
export interface IdentityPaths {
  dir: string;
  cert: string;
  key: string;
  /** Issuing chain, intermediates first, root last (for verifiers' -untrusted). Leaves only. */
  chain: string;
  /** Certificate + intermediates: what a TLS server sends. Leaves only. */
  fullchain: string;
}

export function identityPaths(outputDir: string, kind: IdentityKind, name: string): IdentityPaths {
  const dir = path.join(outputDir, KIND_FOLDER[kind], name);
  return {
    dir,
    cert: path.join(dir, "cert.pem"),
    key: path.join(dir, "key.pem"),
    chain: path.join(dir, "chain.pem"),
    fullchain: path.join(dir, "fullchain.pem"),
  };
}

export const statePath = (outputDir: string) => path.join(outputDir, "state.json");
export const bundlePath = (outputDir: string) => path.join(outputDir, "ca-bundle.pem");
export const lockPath = (outputDir: string) => path.join(outputDir, ".provision.lock");
export const launchDir = (outputDir: string, server: string) => path.join(outputDir, "launch", server);
/** Earlier certificates of a CA kept for the overlap after a renewal or key rotation. */
export const retiredDir = (outputDir: string, ca: string) => path.join(outputDir, "cas", ca, "retired");

/** File modes (mkcert's): keys private, certificates public, key folders closed to others. */
export const MODES = { key: 0o600, cert: 0o644, keyDir: 0o700, publicDir: 0o755 } as const;
