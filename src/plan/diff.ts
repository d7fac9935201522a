import type { AltName } from "../config/alt-names.js";
import { formatDuration } from "../config/duration.js";
import { SUBJECT_FIELDS, type AltNameConstraint, type IdentitySpec, type NameConstraintsSpec, type SubjectSpec } from "../config/types.js";
import { sanFor } from "../config/san.js";
import { CLOCK_SKEW_SECONDS, profileFor, type CertificateFacts } from "../x509/spec.js";


function subjectChanges(want: SubjectSpec, have: Partial<SubjectSpec>): string[] {
  return SUBJECT_FIELDS.filter((f) => (want[f] ?? "") !== (have[f] ?? "")).map((f) => `${f}: ${have[f] ?? "(none)"} → ${want[f] ?? "(none)"}`);
}

const sameName = (a: AltName) => (b: AltName) => a.type === b.type && a.value === b.value;

const sameSubtree = (a: AltNameConstraint, b: AltNameConstraint) => a.type === b.type && a.value === b.value && (a.type !== "ip" || (b.type === "ip" && a.prefix === b.prefix));

/** Equal lists of subtrees, in order (the order is written into the certificate); no extension equals an empty one. */
function sameConstraints(want: NameConstraintsSpec | null, have: NameConstraintsSpec | null): boolean {
  const lists = (c: NameConstraintsSpec | null) => [c?.permitted ?? [], c?.excluded ?? []];
  const [a, b] = [lists(want), lists(have)];
  return a.every((list, i) => list.length === b[i]!.length && list.every((subtree, j) => sameSubtree(subtree, b[i]![j]!)));
}

/** Lifetime a certificate was issued with, in seconds, skew allowance excluded. */
export function issuedValiditySeconds(facts: Pick<CertificateFacts, "notBefore" | "notAfter">): number {
  return Math.round((Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / 1000) - CLOCK_SKEW_SECONDS;
}

/** What a certificate takes from its issuer: its name, and where its CRL is published. */
export interface IssuerView {
  subject: SubjectSpec;
  /** The issuer's crlUrl; null for a self-signed root (it is its own issuer, and points to no CRL). */
  crlUrl: string | null;
}

type Comparison = (identity: IdentitySpec, issuer: IssuerView, facts: CertificateFacts) => string | null;

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
  { fields: ["issuer"], compare: (_identity, issuer, facts) => (subjectChanges(issuer.subject, facts.issuer).length ? "issuer name changed" : null) },
  {
    fields: ["crlUrl"],
    compare: (_identity, issuer, facts) => {
      const have = facts.crlUrls ?? [];
      const want = issuer.crlUrl === null ? [] : [issuer.crlUrl];
      return have.join() !== want.join() ? `CRL distribution point changed (${have.join(", ") || "none"} → ${want.join(", ") || "none"})` : null;
    },
  },
  {
    fields: ["altNames"],
    compare: (identity, _issuer, facts) => {
      const want = sanFor(identity);
      const added = want.filter((n) => !facts.altNames.some(sameName(n))).map((n) => `+${n.value}`);
      const removed = facts.altNames.filter((n) => !want.some(sameName(n))).map((n) => `-${n.value}`);
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
      return sameConstraints(identity.nameConstraints, facts.nameConstraints) ? null : "nameConstraints changed";
    },
  },
];

/** The identity fields specDifferences compares: exactly those the schema declares `reissue`. */
export const COMPARED_FIELDS: ReadonlySet<string> = new Set(COMPARISONS.flatMap((c) => c.fields));

/** Every way the certificate on disk differs from what the spec asks for, as plan reasons. */
export function specDifferences(identity: IdentitySpec, issuer: IssuerView, facts: CertificateFacts, options: { validity?: boolean } = {}): string[] {
  // validity: false when someone else picks the lifetime and extensions (the holder of a keyless external CA, with sign --validity).
  const compared = options.validity === false ? COMPARISONS.filter((c) => !c.fields.includes("validity") && !c.fields.includes("crlUrl")) : COMPARISONS;
  return compared.map((c) => c.compare(identity, issuer, facts)).filter((reason) => reason !== null);
}
