import type * as z from "./zod.js";
import { constraintViolation, subtreeText, subtreeWithin } from "./name-constraints.js";
import { indexByName, issuerChain } from "./issuers.js";
import { constrainedNameAt, constrainedNamesFor } from "./san.js";
import type { Config, IdentitySpec, KeyType, NameConstraintsSpec, SubjectSpec, YamlPath } from "./types.js";
import type { Locate } from "./locate.js";
import type { Diagnostic } from "../errors.js";
import { formatPath } from "../errors.js";
import type { RuleContext } from "./rules.js";

/**
 * External CAs: a CA whose certificate (and optionally key) lives outside provision's output folder, such as
 * a team admin's intermediate (member mode) or a company or mkcert root (bring your own root). provision
 * reads these files and never creates, renews or rewrites them. This module holds the pure part: which
 * pki.yaml fields such a CA may carry, and what its certificate allows below it.
 */

/** The fields of an external CA that its certificate decides: setting them in pki.yaml is an error. */
const DECIDED_BY_CERT = ["issuer", "commonName", "subject", "key", "validity", "renewBefore", "pathLength", "nameConstraints", "formats", "p12PassphraseEnv"] as const;

/** zod refinement of a CA entry: an external CA carries only `external` and, with a key, `passphraseEnv`. */
export function externalCaFields(value: { external?: { key?: string | undefined } | undefined } & Record<string, unknown>, ctx: z.core.$RefinementCtx): void {
  if (!value.external) return;
  for (const field of DECIDED_BY_CERT) {
    if (value[field] === undefined) continue;
    const why = field === "issuer" ? "give the certificates above it with external.chain" : "its certificate (external.cert) decides it";
    ctx.addIssue({ code: "custom", path: [field], message: `${field} cannot be set on an external CA: ${why}` });
  }
  // An external CA never changes here, so a hook on it would never run.
  for (const field of ["afterChange", "afterChangeTimeout"] as const) {
    if (value[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} cannot be set on an external CA: provision never changes it, so the hook would never run` });
  }
  if (value.passphraseEnv !== undefined && value.external.key === undefined) {
    ctx.addIssue({ code: "custom", path: ["passphraseEnv"], message: "passphraseEnv decrypts external.key, and this external CA has no key" });
  }
}

/** Where an external CA's files are, as written in pki.yaml (relative to its folder). */
export interface ExternalSpec {
  cert: string;
  key: string | null;
  chain: string | null;
}

/** Whether identities under this CA get certificate requests instead of certificates: it is external and keyless. */
export function signsElsewhere(ca: Pick<IdentitySpec, "external"> | null | undefined): boolean {
  return ca?.external != null && ca.external.key === null;
}

/** Only servers and clients can wait for someone else to sign them: `provision sign` makes no CA certificates. */
const noCaBelowKeylessExternal = ({ identities, byName, report }: RuleContext): void => {
  for (const id of identities) {
    const issuer = id.issuer === null ? undefined : byName.get(id.issuer);
    if (id.kind === "ca" && signsElsewhere(issuer)) {
      report([...id.yamlPath, "issuer"], `CA "${id.name}" cannot be issued by ${issuer!.name}: it is external without a key, and provision sign makes only server and client certificates; add external.key, or make ${id.name} external too`);
    }
  }
};

export const EXTERNAL_RULES = [noCaBelowKeylessExternal] as const;

/** What an external CA's certificate says, as read by store/external.ts. */
export interface ExternalCertFacts {
  subject: Partial<SubjectSpec>;
  keyType: KeyType | null;
  lifetimeSeconds: number;
  isCa: boolean;
  canSign: boolean;
  pathLength: number | null;
  nameConstraints: NameConstraintsSpec | null;
  /** The same for each certificate above it, nearest first (their limits bind what is issued below too). */
  upstream: { subject: string; pathLength: number | null; nameConstraints: NameConstraintsSpec | null; file: string }[];
  /** The file its certificate came from, for messages. */
  certFile: string;
}

/**
 * Fills each external CA's spec from its certificate (subject, key type, lifetime, pathLength, name
 * constraints), then checks what pki.yaml asks to issue below it against those limits and the limits of
 * every certificate above it. Each error points at the pki.yaml node to change (`locate`: its line and
 * column) and names the certificate file whose limit it breaks. Pure: the files were read by store/external.ts.
 */
export function resolveExternalSpecs(
  config: Config,
  facts: ReadonlyMap<string, ExternalCertFacts>,
  locate: Locate = (path) => ({ file: config.file, path: formatPath(path) }),
): { config: Config; diagnostics: Diagnostic[] } {
  const identities = config.identities.map((id): IdentitySpec => {
    const f = facts.get(id.name);
    if (!id.external || !f) return id;
    return {
      ...id,
      subject: { ...f.subject, commonName: f.subject.commonName ?? "" },
      key: f.keyType ?? id.key,
      validitySeconds: f.lifetimeSeconds,
      pathLength: f.pathLength,
      nameConstraints: f.nameConstraints,
    };
  });
  const resolved: Config = { ...config, identities };
  const diagnostics: Diagnostic[] = [];
  const report = (path: YamlPath, message: string) => diagnostics.push({ severity: "error", ...locate(path), message });
  const byName = indexByName(identities);

  for (const ca of identities) {
    const f = facts.get(ca.name);
    if (!ca.external || !f) continue;
    const where = `its certificate ${f.certFile}`;
    if (!f.isCa || !f.canSign) {
      report([...ca.yamlPath, "external", "cert"], `${f.certFile} is not a CA certificate (${!f.isCa ? "basicConstraints has no CA:TRUE" : "keyUsage lacks keyCertSign"}); point external.cert at the CA's certificate`);
      continue;
    }
    if (ca.external.key !== null && f.keyType === null) {
      report([...ca.yamlPath, "external", "key"], `the key of ${f.certFile} is of a type provision cannot sign with; supported: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096`);
    }
    // How many CA levels may still stand below this CA: its own pathLength, and each one above minus the distance.
    const limits = [f.pathLength, ...f.upstream.map((u, i) => (u.pathLength === null ? null : u.pathLength - (i + 1)))].filter((n): n is number => n !== null);
    const limit = limits.length ? Math.min(...limits) : null;
    const constraintSets = [
      { owner: `external CA ${ca.name} (${where})`, constraints: f.nameConstraints },
      ...f.upstream.map((u) => ({ owner: `${u.subject} (in ${u.file}), above external CA ${ca.name}`, constraints: u.nameConstraints })),
    ].filter((c): c is { owner: string; constraints: NameConstraintsSpec } => c.constraints !== null);

    for (const id of identities) {
      const chain = issuerChain(id, byName);
      const depth = chain.indexOf(ca) + 1;
      if (depth === 0) continue;
      if (id.kind === "ca" && limit !== null && depth > limit) {
        report([...id.yamlPath, "issuer"], `CA "${id.name}" would stand ${depth} CA level(s) below external CA ${ca.name}, whose certificates allow ${limit} (pathLength in ${f.certFile}${f.upstream.length ? " and above" : ""})`);
      }
      for (const { owner, constraints } of constraintSets) {
        // Every name a verifier holds to the constraints: a client's host-like commonName too (config/san.ts).
        for (const { name } of constrainedNamesFor(id)) {
          const why = constraintViolation(name, constraints);
          if (!why) continue;
          const { path, what } = constrainedNameAt(id, name);
          report(path, `${what} is outside the name constraints of ${owner}: ${why}`);
        }
        for (const [index, subtree] of (id.kind === "ca" ? (id.nameConstraints?.permitted ?? []) : []).entries()) {
          const parentPermitted = constraints.permitted.filter((p) => p.type === subtree.type);
          const excluded = constraints.excluded.some((p) => subtreeWithin(subtree, p));
          if ((parentPermitted.length && !parentPermitted.some((p) => subtreeWithin(subtree, p))) || excluded) {
            report([...id.yamlPath, "nameConstraints", "permitted", index], `"${subtreeText(subtree)}" widens the name constraints of ${owner}; a CA's constraints may only narrow its issuer's`);
          }
        }
      }
    }
  }
  return { config: resolved, diagnostics };
}
