import { createHash, type KeyObject } from "node:crypto";
import type { Config, IdentitySpec } from "../config/types.js";
import type { Deps } from "../deps.js";
import { ISSUING, type Plan } from "../plan/types.js";
import { factsFromTemplate } from "../x509/inspect.js";
import type { CertificateFacts } from "../x509/spec.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../x509/issue.js";
import { spkiOf } from "../x509/keys.js";
import { identitiesByName } from "../config/issuers.js";
import type { ApplyContext, Progress } from "./context.js";
import { keyOf as loadedKey } from "./keys.js";

/**
 * Phase "sign": issues every certificate the plan creates, reissues or renews, issuer first (config order),
 * with the validity the plan fixed. `keyOf` gives an identity's key (new or loaded). In memory only: both
 * applyPlan and the library's createPki go through here.
 */
export function signPlanned(
  config: Config,
  plan: Plan,
  keyOf: (id: IdentitySpec) => KeyObject,
  deps: Pick<Deps, "randomBytes">,
  /** An issuer's certificate when it is an external CA (its name and key id are copied from it). */
  externalIssuerOf: (name: string) => { certPem: string; facts: { subjectKeyId: string | null } } | undefined = () => undefined,
  /** One batch of a run (default: every identity). */
  only: readonly IdentitySpec[] = config.identities,
): { certs: Map<string, string>; facts: Map<string, CertificateFacts> } {
  const byName = identitiesByName(config);
  // Orphans are listed by kind and name; a name moved to another section has an orphan and an action.
  const actions = new Map(plan.actions.filter((a) => a.action !== "orphaned").map((a) => [a.name, a] as const));
  const certs = new Map<string, string>();
  const facts = new Map<string, CertificateFacts>();
  const keyIds = new Map<string, Buffer>();
  for (const id of only) {
    const action = actions.get(id.name)!;
    if (!ISSUING.has(action.action)) continue;
    const ownKey = keyOf(id);
    const issuer = id.issuer === null ? null : byName.get(id.issuer)!;
    const issuerKey = issuer ? keyOf(issuer) : ownKey;
    // One subject key ID per issuer, not one per certificate it signs.
    let issuerKeyId = issuer ? keyIds.get(issuer.name) : undefined;
    if (issuer && !issuerKeyId) keyIds.set(issuer.name, (issuerKeyId = subjectKeyIdOf(spkiOf(issuerKey))));
    const template = templateFor({
      identity: id,
      spki: spkiOf(ownKey),
      serial: serialFrom(deps.randomBytes(16)),
      notBefore: new Date(action.notBefore!),
      notAfter: new Date(action.notAfter!),
      issuer: issuer ? { subject: issuer.subject, keyType: issuer.key, subjectKeyId: issuerKeyId!, crlUrl: issuer.crl?.url ?? null } : null,
      externalIssuer: issuer ? externalIssuerOf(issuer.name) : undefined,
    });
    const { der, pem } = signCertificate(template, issuerKey);
    certs.set(id.name, pem);
    facts.set(id.name, factsFromTemplate(template, der, id.key));
  }
  return { certs, facts };
}

/** signPlanned for one batch of a run, with the keys the phases before made available. */
export function signCertificates(batch: readonly IdentitySpec[], ctx: ApplyContext, progress: Progress): void {
  const { certs, facts } = signPlanned(ctx.config, ctx.plan, (id) => loadedKey(progress, id), ctx.deps, ctx.upstreamOf, batch);
  for (const [name, pem] of certs) {
    progress.issued.set(name, { pem, sha256: createHash("sha256").update(pem).digest("hex"), facts: facts.get(name)! });
  }
}
