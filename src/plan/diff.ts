import { altNameKey } from "../config/alt-names.js";
import { formatDuration } from "../config/duration.js";
import { subtreeText } from "../config/name-constraints.js";
import { SUBJECT_FIELDS, type IdentitySpec, type SubjectSpec } from "../config/types.js";
import type { CertFacts } from "../x509/inspect.js";
import { sanFor } from "../config/san.js";
import { CLOCK_SKEW_SECONDS, profileFor } from "../x509/spec.js";


function subjectChanges(want: SubjectSpec, have: Partial<SubjectSpec>): string[] {
  return SUBJECT_FIELDS.filter((f) => (want[f] ?? "") !== (have[f] ?? "")).map((f) => `${f}: ${have[f] ?? "(none)"} → ${want[f] ?? "(none)"}`);
}

function constraintKeys(c: IdentitySpec["nameConstraints"]): string {
  if (!c || (c.permitted.length === 0 && c.excluded.length === 0)) return "";
  return JSON.stringify([c.permitted.map(subtreeText), c.excluded.map(subtreeText)]);
}

/** Lifetime a certificate was issued with, in seconds, skew allowance excluded. */
export function issuedValiditySeconds(facts: Pick<CertFacts, "notBefore" | "notAfter">): number {
  return Math.round((Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / 1000) - CLOCK_SKEW_SECONDS;
}

type Comparison = (identity: IdentitySpec, issuerSubject: SubjectSpec, facts: CertFacts) => string | null;

/**
 * One comparison per group of fields that config/schema.ts declares `reissue`, keyed by those fields' names
 * (a test checks that the two lists agree, so a new reissue field cannot be forgotten here).
 */
const COMPARISONS: readonly { fields: readonly string[]; compare: Comparison }[] = [
  {
    fields: ["subject", "commonName"],
    compare: (identity, _issuer, facts) => {
      const subject = subjectChanges(identity.subject, facts.subject);
      return subject.length ? `subject changed (${subject.join(", ")})` : null;
    },
  },
  { fields: ["issuer"], compare: (_identity, issuerSubject, facts) => (subjectChanges(issuerSubject, facts.issuer).length ? "issuer name changed" : null) },
  {
    fields: ["altNames"],
    compare: (identity, _issuer, facts) => {
      const want = sanFor(identity).map(altNameKey);
      const added = want.filter((n) => !facts.altNames.includes(n)).map((n) => `+${n.slice(n.indexOf(":") + 1)}`);
      const removed = facts.altNames.filter((n) => !want.includes(n)).map((n) => `-${n.slice(n.indexOf(":") + 1)}`);
      return added.length || removed.length ? `altNames changed (${[...added, ...removed].join(", ")})` : null;
    },
  },
  { fields: ["key"], compare: (identity, _issuer, facts) => (facts.keyType !== identity.key ? `key type changed (${facts.keyType ?? "unsupported"} → ${identity.key})` : null) },
  {
    fields: ["validity"],
    compare: (identity, _issuer, facts) => {
      const issued = issuedValiditySeconds(facts);
      return issued !== identity.validitySeconds ? `validity changed (${formatDuration(issued)} → ${formatDuration(identity.validitySeconds)})` : null;
    },
  },
  {
    // Not a field: the kind (section) decides CA=true and the extended key usages.
    fields: [],
    compare: (identity, _issuer, facts) => {
      const eku = profileFor(identity.kind, identity.key).extKeyUsage;
      return facts.isCa !== (identity.kind === "ca") || facts.extKeyUsage.join() !== eku.join() ? "certificate profile changed" : null;
    },
  },
  {
    fields: ["pathLength"],
    compare: (identity, _issuer, facts) =>
      identity.kind === "ca" && facts.pathLength !== identity.pathLength ? `pathLength changed (${facts.pathLength ?? "none"} → ${identity.pathLength ?? "none"})` : null,
  },
  {
    fields: ["nameConstraints"],
    compare: (identity, _issuer, facts) => {
      if (identity.kind !== "ca") return null;
      const have = JSON.stringify(facts.nameConstraints ? [facts.nameConstraints.permitted, facts.nameConstraints.excluded] : "");
      return have !== (constraintKeys(identity.nameConstraints) || '""') ? "nameConstraints changed" : null;
    },
  },
];

/** The identity fields specDifferences compares: exactly those the schema declares `reissue`. */
export const COMPARED_FIELDS: ReadonlySet<string> = new Set(COMPARISONS.flatMap((c) => c.fields));

/** Every way the certificate on disk differs from what the spec asks for, as plan reasons. */
export function specDifferences(identity: IdentitySpec, issuerSubject: SubjectSpec, facts: CertFacts, options: { validity?: boolean } = {}): string[] {
  // validity: false when someone else picks the lifetime (the holder of a keyless external CA, with sign --validity).
  const compared = options.validity === false ? COMPARISONS.filter((c) => !c.fields.includes("validity")) : COMPARISONS;
  return compared.map((c) => c.compare(identity, issuerSubject, facts)).filter((reason) => reason !== null);
}
