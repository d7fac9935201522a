import { formatApproxDuration, formatDuration, renewalWindowSeconds } from "../config/duration.js";
import { identitiesByName } from "../config/issuers.js";
import { SUBJECT_FIELDS, type Config, type IdentitySpec, type RevocationReason, type SubjectSpec } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { crlPaths } from "../store/layout.js";
import type { ObservedIdentity, ObservedState } from "../store/read-state.js";
import type { IssuedCert, RevokedName } from "../store/state-file.js";
import { CLOCK_SKEW_SECONDS } from "../x509/spec.js";
import { ISSUING, type CrlAction, type IdentityAction, type Revocation, type RevokeRequest } from "./types.js";
import { isSafeName } from "../config/rules.js";

/** Serials are compared as lowercase hex without leading zeros, however a certificate or CRL spelled them. */
export const normalSerial = (hex: string) => hex.toLowerCase().replace(/^0+(?=.)/, "");

const entryKey = (issuer: string, serial: string) => `${issuer}\0${serial}`;

/** What a revoked identity's action is: `revoke` while files or unrevoked certificates remain, then `revoked`. */
export function decideRevoked(id: IdentitySpec, seen: ObservedIdentity, observed: ObservedState, nowMs: number): Omit<IdentityAction, "files" | "notBefore" | "notAfter"> {
  const reason = id.revoked!.reason;
  const hasFiles = Object.values(seen.stamps).some((stamp) => stamp !== null && stamp !== undefined) || (id.kind === "ca" && (observed.crls.get(id.name)?.pem ?? null) !== null);
  const pending = liveEntries(observed, nowMs).filter((e) => e.name === id.name && e.kind === id.kind && (e.revoked === null || (e.revoked.reason !== reason && e.revoked.reason !== "superseded")));
  const current = seen.cert ? normalSerial(seen.cert.facts.serial) : null;
  const unknownCurrent = current !== null && !liveEntries(observed, nowMs).some((e) => e.name === id.name && e.serial === current && e.revoked !== null);
  const base = { name: id.name, kind: id.kind, issuer: id.issuer, key: "none" as const };
  const since = observed.state.revokedNames.get(id.name)?.at;
  if (!hasFiles && pending.length === 0 && !unknownCurrent) return { ...base, action: "revoked", reasons: [since ? `revoked ${since.slice(0, 10)}` : "revoked"] };
  const reasons = [`revoked in pki.yaml (${reason})`];
  if (hasFiles) reasons.push("files removed");
  return { ...base, action: "revoke", reasons };
}

/** Ledger entries still worth keeping: unexpired, or revoked and still listed by the signed CRL on disk. */
function liveEntries(observed: ObservedState, nowMs: number): IssuedCert[] {
  const listed = new Set<string>();
  for (const [ca, crl] of observed.crls) for (const e of crl.entries) listed.add(entryKey(ca, normalSerial(e.serial)));
  return observed.state.issued.filter((e) => Date.parse(e.notAfter) > nowMs || (e.revoked !== null && listed.has(entryKey(e.issuer, e.serial))));
}

const sameSubject = (a: Partial<SubjectSpec>, b: Partial<SubjectSpec>) => SUBJECT_FIELDS.every((f) => (a[f] ?? "") === (b[f] ?? ""));

export interface LedgerAfterRun {
  /** state.json's `issued` after this run, before apply adds the certificates it signs. */
  ledger: IssuedCert[];
  revocations: Revocation[];
  revokedNames: Map<string, RevokedName>;
}

/**
 * The record of issued certificates after this run (pure: plan and apply both call it with the same inputs).
 * Every unexpired certificate provision knows of is in it: recorded ones, and ones found on disk or in an
 * orphan's record that were issued before provision kept the ledger. This run's revocations are marked:
 * `revoked: true` names (every certificate ever issued under the name), pruned orphans (cessationOfOperation),
 * and with `revokeSuperseded`, a leaf's certificate replaced under a new key (superseded).
 */
export function ledgerAfterRun(
  config: Config,
  observed: ObservedState,
  actions: ReadonlyMap<string, Pick<IdentityAction, "action" | "key">>,
  nowMs: number,
  prune: boolean,
  requests: readonly RevokeRequest[] = [],
): LedgerAfterRun {
  const byName = identitiesByName(config);
  const now = new Date(nowMs).toISOString();
  const ledger = new Map<string, IssuedCert>();
  for (const e of liveEntries(observed, nowMs)) ledger.set(entryKey(e.issuer, e.serial), { ...e });
  const remember = (name: string, kind: IssuedCert["kind"], issuer: string | undefined, facts: { serial: string; notAfter: string } | undefined) => {
    if (!issuer || !facts || Date.parse(facts.notAfter) <= nowMs) return;
    const serial = normalSerial(facts.serial);
    if (!ledger.has(entryKey(issuer, serial))) ledger.set(entryKey(issuer, serial), { name, kind, issuer, serial, notAfter: facts.notAfter, revoked: null });
  };
  for (const id of config.identities) {
    if (id.issuer === null || id.external) continue; // a root is in no CRL; an external CA is not ours to record
    remember(id.name, id.kind, id.issuer, observed.identities.get(id.name)?.cert?.facts);
  }
  // Orphans issued before the ledger existed: their issuer is the CA whose subject their certificate names.
  const cas = config.identities.filter((id) => id.kind === "ca");
  for (const orphan of observed.orphans) {
    const facts = observed.state.identities.get(orphan.name)?.facts;
    if (!facts?.issuer || !facts.subject || sameSubject(facts.issuer, facts.subject)) continue;
    remember(orphan.name, orphan.kind, cas.find((ca) => sameSubject(ca.subject, facts.issuer))?.name, facts);
  }

  const revocations: Revocation[] = [];
  const revoke = (e: IssuedCert, reason: RevocationReason, why: string) => {
    if (e.revoked?.reason === reason) return;
    e.revoked = { at: e.revoked?.at ?? now, reason };
    revocations.push({ name: e.name, kind: e.kind, issuer: e.issuer, serial: e.serial, reason, why });
  };
  for (const r of requests) {
    const ca = byName.get(r.ca);
    const serial = normalSerial(r.serial);
    if (ca?.kind !== "ca" || !/^[0-9a-f]{1,128}$/.test(serial) || !Number.isFinite(Date.parse(r.notAfter)) || (r.name !== undefined && !isSafeName(r.name))) {
      throw new ProvisionError("bad-flag", `cannot revoke serial ${r.serial} of ${r.ca}: ${ca?.kind !== "ca" ? "no CA of that name" : "malformed serial, notAfter or name"}`);
    }
    if (Date.parse(r.notAfter) <= nowMs) continue; // expired: no CRL needs it
    const key = entryKey(r.ca, serial);
    const entry = ledger.get(key) ?? { name: r.name ?? r.ca, kind: "server" as const, issuer: r.ca, serial, notAfter: new Date(Date.parse(r.notAfter)).toISOString(), revoked: null };
    ledger.set(key, entry);
    if (entry.revoked === null) revoke(entry, r.reason ?? "unspecified", "revoked on request");
  }
  const pruned = new Set(prune ? observed.orphans.map((o) => `${o.kind}/${o.name}`) : []);
  for (const e of ledger.values()) {
    const spec = byName.get(e.name);
    const seen = observed.identities.get(e.name);
    if (spec?.kind === e.kind && spec.revoked && e.revoked?.reason !== "superseded") revoke(e, spec.revoked.reason, "revoked in pki.yaml");
    else if (e.revoked === null && pruned.has(`${e.kind}/${e.name}`)) revoke(e, "cessationOfOperation", "removed from pki.yaml (--prune)");
    else if (e.revoked === null && spec?.kind === e.kind && spec.revokeSuperseded && seen?.cert && normalSerial(seen.cert.facts.serial) === e.serial) {
      const action = actions.get(e.name);
      if (action && ISSUING.has(action.action) && action.key === "generate") revoke(e, "superseded", "superseded by a certificate with a new key (revokeSuperseded)");
    }
  }

  const revokedNames = new Map(observed.state.revokedNames);
  for (const id of config.identities) {
    const earlier = revokedNames.get(id.name);
    if (id.revoked && !earlier) revokedNames.set(id.name, { kind: id.kind, at: now });
    if (!id.revoked && earlier) {
      throw new ProvisionError("revoked-identity", `${id.name} was revoked on ${earlier.at.slice(0, 10)}; a revoked name cannot be used again`, {
        hint: `keep revoked: true on ${id.yamlPath.join(".")} (its certificates stay in the CRL until they expire), and give the new identity another name`,
      });
    }
  }
  return { ledger: [...ledger.values()], revocations, revokedNames };
}

/** Whether provision can sign this CA's CRL: it holds the key, and the CA has (or gets) a certificate. */
export function signsCrl(id: IdentitySpec, seen: ObservedIdentity | undefined, action: Pick<IdentityAction, "action"> | undefined): boolean {
  if (id.kind !== "ca" || !id.crl || id.revoked) return false;
  if (id.external && id.external.key === null) return false; // its holder keeps its CRL
  return ISSUING.has(action?.action ?? "unchanged") || (seen?.cert ?? null) !== null;
}

/**
 * Each CA's CRL after this run. Re-signed (number + 1, thisUpdate backdated like certificates, nextUpdate one
 * crlValidity later) when it is missing or not what it should be, when its entries change, when the CA's
 * certificate is re-issued, when crlValidity changed, or once inside its refresh window; otherwise unchanged,
 * so a run with nothing to do writes nothing.
 */
export function planCrls(config: Config, observed: ObservedState, actions: ReadonlyMap<string, IdentityAction>, ledger: readonly IssuedCert[], nowMs: number): { crls: CrlAction[]; bundleStale: boolean } {
  const crls: CrlAction[] = [];
  for (const id of config.identities) {
    const action = actions.get(id.name);
    if (!signsCrl(id, observed.identities.get(id.name), action)) continue;
    const spec = id.crl!;
    const seen = observed.crls.get(id.name);
    const known = new Set(ledger.filter((e) => e.issuer === id.name).map((e) => e.serial));
    const revoked: CrlAction["revoked"] = ledger
      .filter((e) => e.issuer === id.name && e.revoked !== null && Date.parse(e.notAfter) > nowMs)
      .map((e) => ({ serial: e.serial, name: e.name, reason: e.revoked!.reason, revokedAt: e.revoked!.at }));
    // An entry of the signed CRL that state.json does not account for stays: a lost or edited state.json un-revokes nothing.
    for (const e of seen?.entries ?? []) if (!known.has(normalSerial(e.serial))) revoked.push({ serial: normalSerial(e.serial), name: null, reason: e.reason, revokedAt: e.revokedAt });
    revoked.sort((a, b) => a.serial.length - b.serial.length || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));

    const reasons: string[] = [];
    const fresh = !seen || seen.problem === "missing";
    if (fresh) reasons.push(observed.state.crls.has(id.name) ? "crl.pem missing" : "new");
    else if (seen.problem) reasons.push(seen.problem);
    if (!fresh && action && (action.action === "create" || action.action === "reissue")) reasons.push("CA certificate re-issued");
    if (seen && !seen.problem) {
      const key = (e: { serial: string; reason: string; revokedAt: string }) => `${normalSerial(e.serial)}:${e.reason}:${Date.parse(e.revokedAt) / 1000}`;
      const have = new Set(seen.entries.map(key));
      const want = new Set(revoked.map(key));
      const added = [...want].filter((k) => !have.has(k)).length;
      const removed = [...have].filter((k) => !want.has(k)).length;
      if (added || removed) reasons.push(`entries changed (${[added ? `+${added} revoked` : "", removed ? `-${removed} expired or updated` : ""].filter(Boolean).join(", ")})`);
      const lifetime = Math.round((Date.parse(seen.nextUpdate!) - Date.parse(seen.thisUpdate!)) / 1000);
      if (lifetime !== spec.validitySeconds) reasons.push(`crlValidity changed (${formatDuration(lifetime)} → ${formatDuration(spec.validitySeconds)})`);
      else {
        const window = renewalWindowSeconds(spec.refreshBefore, lifetime) * 1000;
        const next = Date.parse(seen.nextUpdate!);
        if (nowMs >= next) reasons.push(`expired ${formatApproxDuration((nowMs - next) / 1000)} ago`);
        else if (nowMs >= next - window) reasons.push(`expires in ${formatApproxDuration((next - nowMs) / 1000)} (window ${refreshText(spec.refreshBefore.text, lifetime, window)})`);
      }
    }
    const files = crlPaths(config.outputDir, id.name);
    if (reasons.length === 0 && seen) {
      const lifetime = Date.parse(seen.nextUpdate!) - Date.parse(seen.thisUpdate!);
      const refreshAt = new Date(Date.parse(seen.nextUpdate!) - renewalWindowSeconds(spec.refreshBefore, lifetime / 1000) * 1000).toISOString();
      crls.push({ ca: id.name, action: "unchanged", reasons, number: seen.number ?? 0, thisUpdate: seen.thisUpdate!, nextUpdate: seen.nextUpdate!, refreshAt, revoked, files });
      continue;
    }
    const thisUpdate = nowMs - CLOCK_SKEW_SECONDS * 1000;
    const nextUpdate = thisUpdate + spec.validitySeconds * 1000;
    const refreshAt = nextUpdate - renewalWindowSeconds(spec.refreshBefore, spec.validitySeconds) * 1000;
    crls.push({
      ca: id.name,
      action: fresh && !observed.state.crls.has(id.name) ? "create" : "refresh",
      reasons,
      number: (seen?.number ?? 0) + 1,
      thisUpdate: new Date(thisUpdate).toISOString(),
      nextUpdate: new Date(nextUpdate).toISOString(),
      refreshAt: new Date(refreshAt).toISOString(),
      revoked,
      files,
    });
  }
  const unchanged = crls.every((c) => c.action === "unchanged");
  const bundleStale = unchanged && crls.length > 0 && observed.crlBundlePem !== crls.map((c) => observed.crls.get(c.ca)!.pem).join("");
  return { crls, bundleStale };
}

function refreshText(text: string, lifetimeSeconds: number, windowMs: number): string {
  return text.includes("/") ? `${text} of ${formatApproxDuration(lifetimeSeconds)} = ${formatApproxDuration(windowMs / 1000)}` : text;
}
