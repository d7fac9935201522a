import { parseDuration } from "../../config/duration.js";
import { ProvisionError } from "../../errors.js";
import { renewalWindow } from "../../plan/build.js";
import { formatTable } from "../../plan/format.js";
import type { IdentityAction, Plan } from "../../plan/types.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";
import { loadAndPlan } from "./prepare.js";
import { identitiesByName } from "../../config/issuers.js";
import { acmeIssuedCertificates, type AcmeIssuedRow } from "../../acme/issued.js";

export type IdentityState = "ok" | "renew soon" | "expired" | "spec changed" | "missing" | "orphaned" | "waiting" | "revoked" | "revoke pending";

export interface StatusRow {
  name: string;
  kind: string;
  issuer: string | null;
  key: string | null;
  names: string[];
  notAfter: string | null;
  daysLeft: number | null;
  /** When the renewal window opens (notAfter minus renewBefore): from then on `provision` renews it. */
  renewAt: string | null;
  state: IdentityState;
  reasons: string[];
  /** True when --within was given and this identity needs work now, or its renewal falls due within it. */
  due: boolean;
}

function stateOf(action: IdentityAction): IdentityState {
  switch (action.action) {
    case "unchanged": return "ok";
    case "orphaned": return "orphaned";
    case "waiting": return "waiting";
    case "revoked": return "revoked";
    case "revoke": return "revoke pending";
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
    const spec = identitiesByName(config).get(name);
    return {
      key: facts?.keyType ?? spec?.key ?? null,
      names: facts?.altNames.map((n) => n.value) ?? [],
      notAfter: facts?.notAfter ?? null,
      renewAt: facts && spec ? new Date(renewalWindow(spec, facts).startsAt).toISOString() : null,
    };
  });
  const acme = config.acme ? acmeIssuedCertificates(config.outputDir, new Date(plan.now)) : null;
  const crls = crlRows(plan, withinSeconds);
  if (options.json) io.stdout(`${JSON.stringify({ version: 1, now: plan.now, identities: rows, crls, ...(acme ? { acme } : {}) }, null, 2)}\n`);
  else {
    const table = formatTable([
      ["NAME", "KIND", "ISSUER", "KEY", "NOT AFTER", "DAYS LEFT", "RENEW FROM", "STATE", "NAMES"],
      ...rows.map((r) => [r.name, r.kind, r.issuer ?? "-", r.key ?? "-", minute(r.notAfter), r.daysLeft === null ? "-" : String(r.daysLeft), minute(r.renewAt), r.state + (r.due && r.state === "ok" ? " (due)" : ""), r.names.join(",")]),
    ]);
    io.stdout(`${table.join("\n")}\n`);
    for (const row of rows.filter((r) => r.state === "waiting" || r.reasons.some(isPendingRequest))) io.stdout(`${waitingHint(row, config.file)}\n`);
    if (crls.length) {
      const crlTable = formatTable([
        ["CRL", "NUMBER", "NEXT UPDATE", "REFRESH FROM", "REVOKED", "STATE"],
        ...crls.map((c) => [c.ca, String(c.number), minute(c.nextUpdate), minute(c.refreshAt), String(c.revoked), c.state + (c.due && c.state === "ok" ? " (due)" : "")]),
      ]);
      io.stdout(`\n${crlTable.join("\n")}\n`);
    }
    if (acme) io.stdout(acmeTable(acme));
  }
  // Without --within, status only reports; with it, it answers "does anything need work in time?".
  return withinSeconds !== null && (rows.some((r) => r.due) || crls.some((c) => c.due)) ? EXIT.changesPending : EXIT.ok;
}

export interface CrlRow {
  ca: string;
  number: number;
  nextUpdate: string;
  refreshAt: string;
  /** How many certificates it lists. */
  revoked: number;
  /** `ok`, or what the next run does: `refresh` (with reasons), `missing` (no CRL yet). */
  state: "ok" | "refresh" | "missing";
  reasons: string[];
  due: boolean;
}

/** One row per CA CRL, as it is on disk (or, for a refresh, as the next run writes it). */
export function crlRows(plan: Plan, withinSeconds: number | null): CrlRow[] {
  const now = Date.parse(plan.now);
  return plan.crls.map((c) => {
    const state = c.action === "unchanged" ? "ok" : c.action === "create" ? "missing" : "refresh";
    const due = withinSeconds !== null && (state !== "ok" || Date.parse(c.refreshAt) - now <= withinSeconds * 1000);
    return { ca: c.ca, number: c.number, nextUpdate: c.nextUpdate, refreshAt: c.refreshAt, revoked: c.revoked.length, state, reasons: c.reasons, due };
  });
}

const isPendingRequest = (reason: string) => reason.startsWith("request pending");

/** What a member does about an identity waiting for a certificate from an external CA's holder. */
function waitingHint(row: StatusRow, file: string): string {
  const flag = file === "pki.yaml" ? "" : ` -f ${file}`;
  if (row.reasons.some(isPendingRequest)) {
    return `${row.name}: ${row.reasons.join("; ")}: have the holder of ${row.issuer}'s key sign the request (\`provision${flag} csr ${row.name} --out ${row.name}.csr\` writes it again, from the same pending key), then \`provision${flag} import ${row.name} <cert.pem>\` swaps key and certificate in together`;
  }
  return `${row.name}: ${row.reasons.join("; ")}: run \`provision${flag} csr ${row.name} --out ${row.name}.csr\`, have the holder of ${row.issuer}'s key sign it (\`provision sign\`), then \`provision${flag} import ${row.name} <cert.pem>\``;
}

/** Certificates issued by provision acme: their clients renew them, so they never count for --within. */
function acmeTable(acme: AcmeIssuedRow[]): string {
  if (acme.length === 0) return "\nACME: no certificates issued yet\n";
  const table = formatTable([
    ["ACME CERTIFICATE", "SERIAL", "NOT AFTER", "DAYS LEFT", "STATE"],
    ...acme.map((r) => [r.names.join(","), r.serial, minute(r.notAfter), String(r.daysLeft), r.state]),
  ]);
  return `\n${table.join("\n")}\n`;
}

function minute(iso: string | null): string {
  return iso?.slice(0, 16).replace("T", " ") ?? "-";
}

/**
 * Rows describe the certificates on disk now (not the ones a run would issue). With --within, a row is due when
 * it needs work now or when its renewal window (renewBefore, not its expiry) opens within the duration: the
 * moment `provision` would renew it, matching the plan's own rule (renew once now >= notAfter - window).
 */
export function statusRows(
  plan: Plan,
  withinSeconds: number | null,
  details: (name: string) => { key: string | null; names: string[]; notAfter: string | null; renewAt: string | null },
): StatusRow[] {
  const now = Date.parse(plan.now);
  return plan.actions.map((action) => {
    const { notAfter, renewAt, ...rest } = details(action.name);
    const msLeft = notAfter === null ? null : Date.parse(notAfter) - now;
    // A run renews what it manages before it expires; an external CA it never renews, so the plan leaves it
    // "unchanged" however old it is: by its notAfter it is expired, and a run cannot fix that.
    const expiredAsIs = action.action === "unchanged" && msLeft !== null && msLeft <= 0;
    const state = expiredAsIs ? "expired" : stateOf(action);
    const reasons = expiredAsIs ? [...action.reasons, `expired ${notAfter}: ${action.kind === "ca" ? "an external CA is renewed by its holder, not by provision" : "nothing renews it"}`] : action.reasons;
    const needsWork = state !== "ok" && state !== "orphaned" && state !== "revoked";
    const renewsWithin = renewAt !== null && withinSeconds !== null && Date.parse(renewAt) - now <= withinSeconds * 1000;
    const due = withinSeconds !== null && state !== "orphaned" && (needsWork || renewsWithin);
    const daysLeft = msLeft === null ? null : Math.floor(msLeft / 86_400_000);
    return { name: action.name, kind: action.kind, issuer: action.issuer, ...rest, notAfter, daysLeft, renewAt, state, reasons, due };
  });
}
