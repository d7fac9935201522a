import { altNameKey } from "../config/alt-names.js";
import { formatDuration } from "../config/duration.js";
import type { IdentitySpec, SubjectSpec } from "../config/types.js";
import type { CertFacts } from "../x509/inspect.js";
import { sanFor } from "../config/san.js";
import { profileFor } from "../x509/spec.js";

/** notBefore is set this far before "now" so clients with a slightly slow clock accept a new certificate. */
export const CLOCK_SKEW_SECONDS = 300;

const SUBJECT_FIELDS = ["country", "state", "locality", "organization", "organizationalUnit", "commonName"] as const;

function subjectChanges(want: SubjectSpec, have: Partial<SubjectSpec>): string[] {
  return SUBJECT_FIELDS.filter((f) => (want[f] ?? "") !== (have[f] ?? "")).map((f) => `${f}: ${have[f] ?? "(none)"} → ${want[f] ?? "(none)"}`);
}

function constraintKeys(c: IdentitySpec["nameConstraints"]): string {
  if (!c || (c.permitted.length === 0 && c.excluded.length === 0)) return "";
  const text = (x: { type: string; value: string; prefix?: number }) => (x.type === "ip" ? `${x.value}/${x.prefix}` : x.value);
  return JSON.stringify([c.permitted.map(text), c.excluded.map(text)]);
}

/** Lifetime a certificate was issued with, in seconds, skew allowance excluded. */
export function issuedValiditySeconds(facts: CertFacts): number {
  return Math.round((Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / 1000) - CLOCK_SKEW_SECONDS;
}

/** Every way the certificate on disk differs from what the spec asks for, as plan reasons. */
export function specDifferences(identity: IdentitySpec, issuerSubject: SubjectSpec, facts: CertFacts): string[] {
  const reasons: string[] = [];
  const subject = subjectChanges(identity.subject, facts.subject);
  if (subject.length) reasons.push(`subject changed (${subject.join(", ")})`);
  if (subjectChanges(issuerSubject, facts.issuer).length) reasons.push("issuer name changed");

  const want = sanFor(identity).map(altNameKey);
  const added = want.filter((n) => !facts.altNames.includes(n)).map((n) => `+${n.slice(n.indexOf(":") + 1)}`);
  const removed = facts.altNames.filter((n) => !want.includes(n)).map((n) => `-${n.slice(n.indexOf(":") + 1)}`);
  if (added.length || removed.length) reasons.push(`altNames changed (${[...added, ...removed].join(", ")})`);

  if (facts.keyType !== identity.key) reasons.push(`key type changed (${facts.keyType ?? "unsupported"} → ${identity.key})`);
  const issued = issuedValiditySeconds(facts);
  if (issued !== identity.validitySeconds) reasons.push(`validity changed (${formatDuration(issued)} → ${formatDuration(identity.validitySeconds)})`);

  const isCa = identity.kind === "ca";
  const eku = profileFor(identity.kind, identity.key).extKeyUsage;
  if (facts.isCa !== isCa || facts.extKeyUsage.join() !== eku.join()) reasons.push("certificate profile changed");
  if (isCa && facts.pathLength !== identity.pathLength) reasons.push(`pathLength changed (${facts.pathLength ?? "none"} → ${identity.pathLength ?? "none"})`);
  if (isCa && JSON.stringify(facts.nameConstraints ? [facts.nameConstraints.permitted, facts.nameConstraints.excluded] : "") !== (constraintKeys(identity.nameConstraints) || '""')) {
    reasons.push("nameConstraints changed");
  }
  return reasons;
}
