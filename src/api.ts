/**
 * The library entry of pki-provision: `createPki` makes a whole PKI in memory (for test suites, as the
 * `selfsigned` package or certyaml's Go API do), and loadPki → planPki → applyPki do what the CLI does with
 * files. Both go through the same validation, planner and signing phase as `provision`.
 */
import { stringify } from "yaml";
import { generatePlannedKeys } from "./apply/keys.js";
import { signPlanned } from "./apply/sign.js";
import { signPlannedCrl } from "./apply/revocation.js";
import { identitiesByName } from "./config/issuers.js";
import { loadConfig, loadConfigText, type LoadedConfig } from "./config/load.js";
import type { PkiSpec } from "./config/schema.js";
import type { Config, IdentityKind } from "./config/types.js";
import { realDeps, type Deps } from "./deps.js";
import { buildPlan } from "./plan/build.js";
import { composeBundle, composeChain, composeFullchain, issuerPath } from "./plan/compose.js";
import type { Plan, RevokeRequest } from "./plan/types.js";
import { nothingObserved, type ObservedState } from "./store/read-state.js";
import { preparePlan, type PrepareOptions } from "./apply/prepare.js";
import { applyConfig } from "./apply/run.js";
import { hookFailure, hookResults, type HookResult } from "./apply/hooks.js";
import { encodePrivateKey } from "./x509/keys.js";
import { ProvisionError } from "./errors.js";

export { ERROR_CODES, ProvisionError, type Diagnostic, type ErrorCode } from "./errors.js";
export type { Config, IdentityKind, IdentitySpec } from "./config/types.js";
export type { PkiSpec } from "./config/schema.js";
export type { IdentityAction, Plan, RevokeRequest } from "./plan/types.js";
export type { LoadedConfig } from "./config/load.js";
export type { ObservedState } from "./store/read-state.js";
export type { HookResult } from "./apply/hooks.js";

/** One identity of an in-memory PKI, every value a PEM string. */
export interface IssuedIdentity {
  name: string;
  kind: IdentityKind;
  /** The private key, PKCS#8, unencrypted (it never leaves memory unless you write it). */
  key: string;
  cert: string;
  /** The issuers, nearest first, root last (empty for a root): chain.pem. */
  chain: string;
  /** The certificate and its intermediates, what a TLS server sends: fullchain.pem (the cert alone for a CA). */
  fullchain: string;
  /**
   * A CA's CRL (PEM, as cas/<ca>/crl.pem; empty, since nothing of a new PKI is revoked), signed as `provision`
   * signs it; null for a server or client, and for a CA that signs no CRL (an external one without its key).
   */
  crl: string | null;
}

/** What createPki returns: every identity by name, and the roots to trust. */
export interface InMemoryPki {
  identities: ReadonlyMap<string, IssuedIdentity>;
  /** The root certificates, as ca-bundle.pem holds them: what a client should trust. */
  caBundle: string;
  /**
   * Every CA's CRL, one PEM each: what a verifier that checks revocation needs, since it refuses a chain with
   * a CA that has none. Give Node's `crl` option this array: of a string it reads only the first CRL.
   */
  crls: string[];
  /** The same CRLs in one text, as crl-bundle.pem holds them (nginx's ssl_crl, `openssl verify -CRLfile`). */
  crlBundle: string;
  /** identities.get(name), or a ProvisionError naming the identities there are. */
  get(name: string): IssuedIdentity;
  /** The plan that was carried out (every action `create`). */
  plan: Plan;
}

export interface CreatePkiOptions {
  /** Issue as of this time (default: now); certificates start 5 minutes before it. */
  now?: Date;
  /** Keys, serials and the clock, for tests that want them fixed. */
  deps?: Partial<Deps>;
}

/**
 * createPki makes every CA, server and client that `spec` describes, in memory: no file is read or written.
 * `spec` is pki.yaml's text or the object it describes. It is validated exactly as pki.yaml is (a
 * ProvisionError with code `invalid-config` lists every problem). `output`, `formats` and passphrases do not
 * apply: keys come back unencrypted.
 */
export async function createPki(spec: string | PkiSpec, options: CreatePkiOptions = {}): Promise<InMemoryPki> {
  const text = typeof spec === "string" ? spec : stringify(spec);
  const { config } = await loadConfigText(text, typeof spec === "string" ? "pki.yaml" : "spec");
  // An external CA is defined by its files, and createPki reads none (it planned as if the CA had no lifetime:
  // "would outlive external CA int, which expires undefined").
  const external = config.identities.filter((id) => id.external);
  if (external.length) {
    throw new ProvisionError("external-ca", `createPki reads no file, so it cannot use external CA ${external.map((id) => id.name).join(", ")} (its certificate and key are files)`, {
      hint: "use loadPki and applyPki, which read the external CA's files as provision does, or describe the CA in the spec itself",
    });
  }
  const deps = realDeps(options.deps);
  const plan = buildPlan(config, nothingObserved(config), options.now ?? deps.now());
  const keys = await generatePlannedKeys(config, plan, deps);
  const keyOf = (name: string) => keys.get(name)!.privateKey;
  const { certs, facts } = signPlanned(config, plan, (id) => keyOf(id.name), deps);
  const certOf = (name: string) => certs.get(name)!;
  const byName = identitiesByName(config);
  const crls = new Map(plan.crls.map((crl) => [crl.ca, signPlannedCrl(crl, byName.get(crl.ca)!, certOf(crl.ca), keyOf(crl.ca), facts.get(crl.ca)!.subjectKeyId).pem]));

  const identities = new Map<string, IssuedIdentity>();
  for (const id of config.identities) {
    const issuers = issuerPath(config, id);
    identities.set(id.name, {
      name: id.name,
      kind: id.kind,
      key: encodePrivateKey(keyOf(id.name), null),
      cert: certOf(id.name),
      chain: composeChain(issuers, certOf),
      fullchain: id.kind === "ca" ? certOf(id.name) : composeFullchain(id, issuers, certOf),
      crl: crls.get(id.name) ?? null,
    });
  }
  const get = (name: string): IssuedIdentity => {
    const found = identities.get(name);
    if (!found) throw new ProvisionError("unknown-identity", `no identity named "${name}"; there are ${[...identities.keys()].join(", ")}`);
    return found;
  };
  return { identities, caBundle: composeBundle(config, certOf, []), crls: [...crls.values()], crlBundle: [...crls.values()].join(""), get, plan };
}

/** Reads and validates a pki.yaml file (relative to `cwd`), as `provision` does. */
export async function loadPki(file = "pki.yaml", options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  return loadConfig(file, options);
}

export interface PlanPkiOptions {
  /** Plan as of this time (default: now), as `--now` does. */
  now?: Date;
  /** Where passphrases are read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** CAs whose key to replace (`--rotate-ca-key`). */
  rotateCaKeys?: Iterable<string>;
  /** Delete the files of identities no longer in pki.yaml (`--prune`). */
  prune?: boolean;
  deps?: Partial<Deps>;
}

/** Reads the output folder and plans, as `provision plan --json` does; writes nothing. */
export async function planPki(config: Config, options: PlanPkiOptions = {}): Promise<{ plan: Plan; observed: ObservedState }> {
  const { plan, observed } = await preparePlan(config, prepareOptions(options));
  return { plan, observed };
}

function prepareOptions(options: PlanPkiOptions): PrepareOptions {
  const deps = realDeps({ ...(options.env ? { env: options.env } : {}), ...options.deps });
  return { deps, now: options.now ?? deps.now(), rotateCaKeys: options.rotateCaKeys ?? [], prune: options.prune ?? false };
}

export interface ApplyPkiOptions extends PlanPkiOptions {
  /** Where afterChange hook output goes, line by line (default: standard error). */
  hookOutput?: (text: string) => void;
}

/** What applyPki did: the plan, the files written and deleted, and the afterChange hooks it ran. */
export interface AppliedPki {
  plan: Plan;
  written: string[];
  deleted: string[];
  hookResults: HookResult[];
}

/**
 * revokeSerials revokes certificates by serial, as the ACME server's revokeCert needs: each request names the
 * CA that issued it, the serial (hex) and its notAfter (and optionally a reason, default unspecified). Under
 * the output folder's lock, like a `provision` run: the serials are recorded in state.json's ledger as revoked
 * and the CAs' CRLs (and crl-bundle.pem) are re-signed in the same run. Expired certificates are skipped; an
 * unknown CA or a malformed serial rejects with a ProvisionError (`bad-flag`) before anything is written.
 */
export async function revokeSerials(config: Config, requests: readonly RevokeRequest[], options: ApplyPkiOptions = {}): Promise<AppliedPki> {
  const { plan, written, deleted, hooks } = await applyConfig(config, { ...prepareOptions(options), revokeSerials: requests, ...(options.hookOutput ? { hookOutput: options.hookOutput } : {}) });
  const failure = hookFailure(hooks);
  if (failure) throw failure;
  return { plan, written, deleted, hookResults: hookResults(hooks) };
}

/**
 * Plans and writes, as `provision` does and through the same function: under the output folder's lock,
 * keys 0600, each file written atomically, state.json after each batch, launch config rendered, then the
 * afterChange hooks of what changed. Rejects with a ProvisionError `hook-failed` when a hook fails (the
 * files are committed; the next call retries only the failed hooks), as `provision` exits 1.
 */
export async function applyPki(config: Config, options: ApplyPkiOptions = {}): Promise<AppliedPki> {
  const { plan, written, deleted, hooks } = await applyConfig(config, { ...prepareOptions(options), ...(options.hookOutput ? { hookOutput: options.hookOutput } : {}) });
  const failure = hookFailure(hooks);
  if (failure) throw failure;
  return { plan, written, deleted, hookResults: hookResults(hooks) };
}
