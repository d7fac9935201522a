import path from "node:path";
import type { Plan } from "./types.js";

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join("  ").trimEnd());
}

const COLOURS: Record<string, string> = { create: "32", reissue: "33", renew: "36", orphaned: "35", unchanged: "2", waiting: "33", revoke: "31", revoked: "2" };

/** One line per identity: name, kind, action and why; actions coloured when `color` is set. */
export function formatPlan(plan: Plan, outputDir: string, { color = false } = {}): string {
  const rows = plan.actions.map((a) => [a.name, a.kind, a.action, a.reasons.join("; ")]);
  const lines = table([["NAME", "KIND", "ACTION", "REASON"], ...rows]);
  if (color) {
    plan.actions.forEach((a, i) => {
      const line = lines[i + 1]!;
      const at = line.indexOf(` ${a.action}`, a.name.length + a.kind.length);
      if (at >= 0) lines[i + 1] = `${line.slice(0, at + 1)}\x1b[${COLOURS[a.action]}m${a.action}\x1b[0m${line.slice(at + 1 + a.action.length)}`;
    });
  }
  for (const file of plan.refresh) lines.push(`refresh ${path.relative(outputDir, file) || file} (an issuer's certificate changed)`);
  for (const r of plan.revocations) lines.push(`revoke ${r.kind} ${r.name} serial ${r.serial} in ${r.issuer}'s CRL (${r.reason}): ${r.why}`);
  for (const crl of plan.crls) {
    if (crl.action !== "unchanged") lines.push(`${crl.action === "create" ? "create" : "refresh"} crl ${path.relative(outputDir, crl.files.pem) || crl.files.pem} (${crl.reasons.join("; ")})`);
  }
  if (plan.crlBundleStale) lines.push("refresh crl-bundle.pem (it does not match the CRLs)");
  for (const hook of plan.hooks) lines.push(`hook ${hook.name} (${hook.action}): ${typeof hook.command === "string" ? hook.command : JSON.stringify(hook.command)}`);
  for (const note of plan.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

export function summarize(plan: Plan): string {
  const counts = new Map<string, number>();
  for (const a of plan.actions) counts.set(a.action, (counts.get(a.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(", ");
}

export { table as formatTable };
