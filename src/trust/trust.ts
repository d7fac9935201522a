import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { onPath } from "../on-path.js";
import type { Config } from "../config/types.js";
import { ProvisionError, withFs } from "../errors.js";
import path from "node:path";
import type { ExternalCas } from "../store/external.js";
import { identityPaths } from "../store/layout.js";
import { inspectCertificateFile } from "../x509/inspect.js";
import { nssDatabases, nssStore, systemStore, type TrustRoot, type TrustStore } from "./stores.js";

export type TrustAction = "install" | "uninstall" | "status";
export type StoreName = "system" | "nss";

export interface TrustOptions {
  /** Only this root CA (--ca); null: every root of pki.yaml. */
  ca: string | null;
  /** The stores asked for (--store); null: both, the system store skipped with a note when not root. */
  stores: ReadonlySet<StoreName> | null;
  /** One NSS database (--nssdb), absolute. */
  nssdb: string | null;
  env: NodeJS.ProcessEnv;
  /** Whether this process runs as root (it decides whether the default system store is reachable). */
  isRoot: boolean;
  /** The external CAs of pki.yaml (store/external.ts): their roots come from their own files. */
  externals?: ExternalCas;
}

/** What trust install/uninstall will do: each change, plus the stores it skipped and why. */
export interface TrustPlan {
  roots: TrustRoot[];
  stores: TrustStore[];
  skipped: string[];
  changes: { root: TrustRoot; store: TrustStore }[];
}

/**
 * The root CAs of pki.yaml (or the one named), read from the output folder; an external CA's roots (its own
 * certificate, or the top of external.chain) from the files pki.yaml names, so no provision run is needed first.
 */
export function trustRoots(config: Config, ca: string | null, externals: ExternalCas = new Map()): TrustRoot[] {
  const roots = config.identities
    .filter((id) => id.kind === "ca" && id.issuer === null && (ca === null || id.name === ca))
    .flatMap((id) => {
      const external = externals.get(id.name);
      const found = external
        ? external.roots.map((pem) => ({ pem, certFile: pem === external.certPem ? external.certFile : path.resolve(config.baseDir, id.external!.chain ?? id.external!.cert) }))
        : [{ pem: null, certFile: identityPaths(config.outputDir, "ca", id.name).cert }];
      return found.map(({ pem, certFile }) => {
        if (pem === null && !existsSync(certFile)) throw new ProvisionError("not-provisioned", `root CA ${id.name} has no certificate yet`, { hint: "run provision first" });
        const text = pem ?? withFs("read", certFile, () => readFileSync(certFile, "utf8"));
        const fingerprint = inspectCertificateFile(text, certFile).facts.fingerprint;
        return { name: id.name, certFile, pem: text, fingerprint, label: `provision ${id.name} ${fingerprint.slice(0, 16)}` };
      });
    });
  if (roots.length === 0) throw new ProvisionError("unknown-ca", ca ? `no root CA named "${ca}" in ${config.file}` : `no root CA in ${config.file}`);
  return roots;
}

function reachableStores(action: TrustAction, options: TrustOptions): { stores: TrustStore[]; skipped: string[] } {
  const wanted = options.stores ?? new Set<StoreName>(["system", "nss"]);
  const stores: TrustStore[] = [];
  const skipped: string[] = [];
  if (wanted.has("system")) {
    const system = systemStore(options.env);
    // Asked for by default, the system store is skipped (with a note) when we are not root, so a plain
    // `trust install` still reaches the browsers; asked for explicitly, it fails with the fix.
    if (!system) skipped.push("system store: no update-ca-certificates or update-ca-trust here");
    else if (options.stores === null && action !== "status" && !options.isRoot) skipped.push("system store: needs root (run again with sudo to include it)");
    else stores.push(system);
  }
  if (wanted.has("nss")) {
    if (onPath("certutil", options.env)) {
      const home = options.env.HOME ?? homedir();
      for (const db of nssDatabases(options.nssdb, home)) stores.push(nssStore(db, options.env, options.nssdb !== null || db.endsWith(".pki/nssdb")));
    } else skipped.push("browsers (NSS): certutil not found; on Debian/Ubuntu: apt-get install libnss3-tools");
  }
  return { stores, skipped };
}

/** Where each root is trusted (trust status). */
export async function trustStatus(config: Config, options: TrustOptions) {
  const roots = trustRoots(config, options.ca, options.externals);
  const { stores, skipped } = reachableStores("status", options);
  const rows = [];
  for (const root of roots) for (const store of stores) rows.push({ root: root.name, fingerprint: root.fingerprint, store: store.name, where: store.where, trusted: await store.has(root) });
  return { roots: rows, skipped };
}

/** What install or uninstall would change, computed before anything is changed (so --dry-run can stop there). */
export async function planTrust(config: Config, action: "install" | "uninstall", options: TrustOptions): Promise<TrustPlan> {
  const roots = trustRoots(config, options.ca, options.externals);
  const { stores, skipped } = reachableStores(action, options);
  const changes: TrustPlan["changes"] = [];
  for (const root of roots) {
    for (const store of stores) {
      const present = await store.has(root);
      if ((action === "install" && !present) || (action === "uninstall" && present)) changes.push({ root, store });
    }
  }
  return { roots, stores, skipped, changes };
}

/** Carries out a trust plan, change by change. */
export async function applyTrust(plan: TrustPlan, action: "install" | "uninstall"): Promise<void> {
  for (const { root, store } of plan.changes) {
    if (action === "install") await store.add(root);
    else await store.remove(root);
  }
}
