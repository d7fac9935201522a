import type { IdentityKind } from "../config/types.js";
import type { PlannedHook } from "./hooks.js";

/** `waiting`: the issuer is an external CA without a key, so the certificate must come from its holder (provision csr). */
export type ActionKind = "create" | "reissue" | "renew" | "unchanged" | "orphaned" | "waiting";
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
    plan.actions.some((a) => ISSUING.has(a.action) || (a.action === "orphaned" && plan.prune)) ||
    plan.refresh.length > 0 ||
    plan.retired.some((r) => r.action !== "keep") ||
    plan.hooks.some((h) => h.action === "retry")
  );
}
