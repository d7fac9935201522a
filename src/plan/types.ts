import type { IdentityKind, RevocationReason } from "../config/types.js";
import type { PlannedHook } from "./hooks.js";

/**
 * `waiting`: the issuer is an external CA without a key, so the certificate must come from its holder (provision csr).
 * `revoke`: pki.yaml says `revoked: true` and this run revokes its certificates or removes its files;
 * `revoked`: that was done by an earlier run, nothing is left to do.
 */
export type ActionKind = "create" | "reissue" | "renew" | "unchanged" | "orphaned" | "waiting" | "revoke" | "revoked";
/** What happens to the private key: a new one, the one on disk, or nothing (no certificate is issued). */
export type KeyAction = "generate" | "reuse" | "none";

export interface IdentityAction {
  name: string;
  kind: IdentityKind;
  action: ActionKind;
  /** Why, in words a person reads in the plan (e.g. "altNames changed (+api.squirrels.test)"). */
  reasons: string[];
  key: KeyAction;
  issuer: string | null;
  /** Validity of the certificate after this run: the new one when issuing, the current one otherwise. */
  notBefore: string | null;
  notAfter: string | null;
  files: { cert: string; key: string; chain?: string; fullchain?: string };
}

/**
 * What happens to a replaced root certificate published in ca-bundle.pem beside the current one: `add`
 * (this run replaces the root; the old certificate is kept until `until`), `keep` (still inside its
 * overlap), `drop` (the overlap is over, the root is gone, or the file is not that certificate: its file
 * is deleted and it leaves the bundle).
 */
export interface RetiredAction {
  ca: string;
  fingerprint: string;
  notAfter: string;
  until: string;
  action: "add" | "keep" | "drop";
  reason: string;
  /** Derived from the CA's name and the fingerprint (store/layout.ts), never read from state.json. */
  file: string;
}

/**
 * A certificate to revoke by serial, asked for by a caller rather than by pki.yaml (the ACME server's
 * revokeCert): it goes into `ca`'s CRL until `notAfter`.
 */
export interface RevokeRequest {
  ca: string;
  /** Hex, any case, leading zeros allowed. */
  serial: string;
  notAfter: string;
  reason?: RevocationReason;
  /** Recorded in the ledger; default: the CA's name (a valid identity name no leaf can have). */
  name?: string;
}

/** One certificate this run revokes: it goes into its CA's CRL. */
export interface Revocation {
  name: string;
  kind: IdentityKind;
  /** The CA whose CRL lists it. */
  issuer: string;
  serial: string;
  reason: RevocationReason;
  /** Why, for people: "revoked in pki.yaml", "removed from pki.yaml (--prune)", "superseded by a new key". */
  why: string;
}

/**
 * A CA's CRL (`cas/<ca>/crl.pem` and `crl.der`): `create` (none yet), `refresh` (re-signed: its entries changed,
 * it is inside its refresh window, or the file is not what it should be) or `unchanged`.
 */
export interface CrlAction {
  ca: string;
  action: "create" | "refresh" | "unchanged";
  reasons: string[];
  /** The CRL after this run: a new one when re-signed, the one on disk otherwise. */
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  /** When the next run re-signs it, unless something changes before. */
  refreshAt: string;
  /** The certificates it lists; `name` is null for an entry known only from the signed crl.pem on disk. */
  revoked: { serial: string; name: string | null; reason: string; revokedAt: string }[];
  files: { pem: string; der: string };
}

/** The plan is plain data: `provision plan --json` prints it as is. */
export interface Plan {
  version: 1;
  /** The time the plan was computed for (ISO-8601); issued certificates start just before it. */
  now: string;
  actions: IdentityAction[];
  /** Derived files (chains, ca-bundle.pem) whose content will change though no certificate in them is new. */
  refresh: string[];
  /** Orphans are deleted by this run. */
  prune: boolean;
  /** Replaced root certificates: which stay in ca-bundle.pem and which files are deleted. */
  retired: RetiredAction[];
  /** Private files others may read: set back to `mode` (0600). */
  permissions: { file: string; mode: number; was: number }[];
  /** afterChange hooks this run executes once its files are committed (retries of failed ones included). */
  hooks: PlannedHook[];
  /** Certificates this run revokes (listed in their CA's CRL from now on). */
  revocations: Revocation[];
  /** Revocations asked for by serial (PlanOptions.revokeSerials), kept so apply records the same ledger. */
  revokeRequests: RevokeRequest[];
  /** Every CA's CRL, and whether crl-bundle.pem is rewritten though no CRL changed (it does not match them). */
  crls: CrlAction[];
  crlBundleStale: boolean;
  /** Things worth knowing that change nothing (a damaged state.json, a passphrase to re-encrypt). */
  notes: string[];
}

export const ISSUING: ReadonlySet<ActionKind> = new Set(["create", "reissue", "renew"]);

/**
 * Whether the plan has work that `plan` reports with exit 2. Tightening the mode of a private file is not
 * counted: git stores no read bits, so every checkout of an output folder kept on a branch (the CI
 * recipe) brings keys back as 0644, and counting it would make every quiet night a renewal run. Every
 * apply still sets them back to 0600, and the plan lists them in its notes.
 */
export function hasChanges(plan: Plan): boolean {
  return (
    plan.actions.some((a) => ISSUING.has(a.action) || a.action === "revoke" || (a.action === "orphaned" && plan.prune)) ||
    plan.crls.some((c) => c.action !== "unchanged") ||
    plan.crlBundleStale ||
    plan.refresh.length > 0 ||
    plan.retired.some((r) => r.action !== "keep") ||
    plan.hooks.some((h) => h.action === "retry")
  );
}
