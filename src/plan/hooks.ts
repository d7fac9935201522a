import path from "node:path";
import type { Config, IdentityKind, IdentitySpec } from "../config/types.js";
import { identityPaths } from "../store/layout.js";
import { type ActionKind, type Plan } from "./types.js";

/**
 * Why a hook runs: the identity's own action ("revoke": it is revoked in this run and its files removed),
 * "crl" when a CA's CRL is re-signed (servers that check CRLs must reload them), or "refresh" when only
 * its chain files changed.
 */
export const HOOK_ACTIONS = ["create", "reissue", "renew", "revoke", "crl", "refresh", "retry"] as const;
export type HookAction = (typeof HOOK_ACTIONS)[number];

/** One afterChange run: which identity, why, and the command pki.yaml gives for it. */
export interface PlannedHook {
  name: string;
  kind: IdentityKind;
  action: HookAction;
  command: string | string[];
  timeoutSeconds: number;
}

/** A hook that failed (or never got to run) in an earlier run, as recorded in the output folder. */
export interface PendingHook {
  name: string;
  action: HookAction;
}

/**
 * The hooks a run will execute: one per identity with `afterChange` whose files the plan changes (a new
 * certificate, or a chain refreshed because an issuer changed), plus those still pending from an earlier
 * run whose hook failed. Pure: the plan already lists every file it rewrites.
 */
export function plannedHooks(config: Config, plan: Pick<Plan, "actions" | "refresh" | "crls">, pending: readonly PendingHook[]): PlannedHook[] {
  const refreshedDirs = new Set(plan.refresh.map((file) => path.dirname(file)));
  const resignedCrls = new Set(plan.crls.filter((crl) => crl.action !== "unchanged").map((crl) => crl.ca));
  const actions = new Map(plan.actions.map((a) => [a.name, a] as const));
  const waiting = new Map(pending.map((p) => [p.name, p.action] as const));
  const out: PlannedHook[] = [];
  for (const id of config.identities) {
    if (!id.afterChange) continue;
    const action = hookActionFor(id, config, actions.get(id.name)?.action, refreshedDirs) ?? (resignedCrls.has(id.name) ? "crl" : null) ?? (waiting.has(id.name) ? "retry" : null);
    if (action) out.push({ name: id.name, kind: id.kind, action, command: id.afterChange.command, timeoutSeconds: id.afterChange.timeoutSeconds });
  }
  return out;
}

function hookActionFor(id: IdentitySpec, config: Config, action: ActionKind | undefined, refreshedDirs: ReadonlySet<string>): HookAction | null {
  if (action === "create" || action === "reissue" || action === "renew" || action === "revoke") return action;
  return refreshedDirs.has(identityPaths(config.outputDir, id.kind, id.name).dir) ? "refresh" : null;
}
