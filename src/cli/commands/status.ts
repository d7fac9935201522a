import { parseDuration } from "../../config/duration.js";
import { ProvisionError } from "../../errors.js";
import { formatTable } from "../../plan/format.js";
import type { IdentityAction, Plan } from "../../plan/types.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";
import { loadAndPlan } from "./prepare.js";

export type IdentityState = "ok" | "renew soon" | "expired" | "spec changed" | "missing" | "orphaned";

export interface StatusRow {
  name: string;
  kind: string;
  issuer: string | null;
  key: string | null;
  names: string[];
  notAfter: string | null;
  daysLeft: number | null;
  state: IdentityState;
  reasons: string[];
  /** True when --within was given and this identity needs work inside it. */
  due: boolean;
}

function stateOf(action: IdentityAction): IdentityState {
  switch (action.action) {
    case "unchanged": return "ok";
    case "orphaned": return "orphaned";
    case "create": return "missing";
    case "renew": return action.reasons.some((r) => r.startsWith("expired")) ? "expired" : "renew soon";
    case "reissue": return action.reasons.some((r) => r.includes("missing") || r.includes("unreadable")) ? "missing" : "spec changed";
  }
}

/** `provision status [--within 30d]`: one row per identity; exit 2 when anything needs work within the window. */
export async function runStatus(options: CliOptions, io: Io): Promise<number> {
  const withinSeconds = options.within === null ? null : parseDuration(options.within);
  if (withinSeconds === undefined) throw new ProvisionError("usage", `--within ${options.within}: expected a duration such as 30d`);
  const { plan, observed, config } = await loadAndPlan(options, io);
  const rows = statusRows(plan, withinSeconds, (name) => {
    const facts = observed.identities.get(name)?.cert?.facts ?? observed.state.identities.get(name)?.facts;
    return {
      key: facts?.keyType ?? config.identities.find((i) => i.name === name)?.key ?? null,
      names: facts?.altNames.map((n) => n.slice(n.indexOf(":") + 1)) ?? [],
      notAfter: facts?.notAfter ?? null,
    };
  });
  if (options.json) io.stdout(`${JSON.stringify({ version: 1, now: plan.now, identities: rows }, null, 2)}\n`);
  else {
    const table = formatTable([
      ["NAME", "KIND", "ISSUER", "KEY", "NOT AFTER", "DAYS LEFT", "STATE", "NAMES"],
      ...rows.map((r) => [r.name, r.kind, r.issuer ?? "-", r.key ?? "-", r.notAfter?.slice(0, 16).replace("T", " ") ?? "-", r.daysLeft === null ? "-" : String(r.daysLeft), r.state + (r.due && r.state === "ok" ? " (due)" : ""), r.names.join(",")]),
    ]);
    io.stdout(`${table.join("\n")}\n`);
  }
  // Without --within, status only reports; with it, it answers "does anything need work in time?".
  return withinSeconds !== null && rows.some((r) => r.due) ? EXIT.changesPending : EXIT.ok;
}

/** Rows describe the certificates on disk now (not the ones a run would issue). */
export function statusRows(
  plan: Plan,
  withinSeconds: number | null,
  details: (name: string) => { key: string | null; names: string[]; notAfter: string | null },
): StatusRow[] {
  const now = Date.parse(plan.now);
  return plan.actions.map((action) => {
    const state = stateOf(action);
    const { notAfter, ...rest } = details(action.name);
    const msLeft = notAfter === null ? null : Date.parse(notAfter) - now;
    const needsWork = state !== "ok" && state !== "orphaned";
    const due = withinSeconds !== null && (needsWork || (msLeft !== null && msLeft <= withinSeconds * 1000));
    const daysLeft = msLeft === null ? null : Math.floor(msLeft / 86_400_000);
    return { name: action.name, kind: action.kind, issuer: action.issuer, ...rest, notAfter, daysLeft, state, reasons: action.reasons, due };
  });
}
