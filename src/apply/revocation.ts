import type { KeyObject } from "node:crypto";
import type { IdentitySpec } from "../config/types.js";
import { ledgerAfterRun, normalSerial } from "../plan/revocation.js";
import type { CrlAction } from "../plan/types.js";
import { crlBundlePath, identityPaths, MODES } from "../store/layout.js";
import { compareIssued, type CrlRecord, type IssuedCert, type RevokedName, type StateFile } from "../store/state-file.js";
import { signCrl } from "../x509/crl.js";
import { subjectNameDer } from "../x509/encode.js";
import { subjectKeyIdOf } from "../x509/issue.js";
import { spkiOf } from "../x509/keys.js";
import { pemToDer } from "../x509/pem.js";
import { signatureAlgorithmFor } from "../x509/spec.js";
import { certOf, type ApplyContext, type Progress } from "./context.js";
import type { Changes } from "./files.js";
import { keyOf, loadKeys } from "./keys.js";

/**
 * The revocation part of state.json as of a commit: the ledger of issued certificates (with this run's
 * revocations, and every certificate signed so far, so a later `revoked: true` revokes it too), and, in the
 * last commit, the CRL numbers and revoked names this run leaves.
 */
export function revocationState(ctx: ApplyContext, progress: Progress, final: boolean): Pick<StateFile, "crls" | "issued" | "revokedNames"> {
  const { ledger, revokedNames } = ledgerAfterRun(ctx.config, ctx.observed, new Map(ctx.plan.actions.filter((a) => a.action !== "orphaned").map((a) => [a.name, a])), Date.parse(ctx.plan.now), ctx.plan.prune, ctx.plan.revokeRequests);
  const issued: IssuedCert[] = [...ledger];
  for (const [name, cert] of progress.issued) {
    const id = ctx.byName.get(name)!;
    if (id.issuer !== null) issued.push({ name, kind: id.kind, issuer: id.issuer, serial: normalSerial(cert.facts.serial), notAfter: cert.facts.notAfter, revoked: null });
  }
  const crls = new Map<string, CrlRecord>(final ? ctx.plan.crls.map((c) => [c.ca, { number: c.number, thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate }]) : ctx.observed.state.crls);
  return { crls, issued: issued.sort(compareIssued), revokedNames: final ? revokedNames : new Map<string, RevokedName>(ctx.observed.state.revokedNames) };
}

/**
 * Phase "revoke", in the last commit (after every certificate of the run is signed): signs the CRLs the plan
 * re-signs with each CA's key, composes crl-bundle.pem, and deletes the folders of revoked identities.
 */
export function revocationChanges(ctx: ApplyContext, progress: Progress): Changes {
  const changes: Changes = { writes: [], chmods: [], deletes: [] };
  const signing = ctx.plan.crls.filter((c) => c.action !== "unchanged").map((c) => ctx.byName.get(c.ca)!);
  loadKeys(signing.filter((ca) => !progress.keys.has(ca.name)), ctx, progress);
  const pems: string[] = [];
  for (const crl of ctx.plan.crls) {
    if (crl.action === "unchanged") {
      pems.push(ctx.observed.crls.get(crl.ca)!.pem!);
      continue;
    }
    const ca = ctx.byName.get(crl.ca)!;
    const keyId = (progress.issued.get(ca.name)?.facts ?? ctx.seenOf(ca.name).cert?.facts)?.subjectKeyId ?? null;
    const { der, pem } = signPlannedCrl(crl, ca, certOf(ctx, progress, ca.name), keyOf(progress, ca), keyId);
    changes.writes.push({ path: crl.files.pem, content: pem, mode: MODES.cert }, { path: crl.files.der, content: der, mode: MODES.cert });
    pems.push(pem);
  }
  const bundle = pems.join("");
  if (ctx.plan.crls.length > 0 && bundle !== ctx.observed.crlBundlePem) changes.writes.push({ path: crlBundlePath(ctx.config.outputDir), content: bundle, mode: MODES.cert });
  // A revoked identity's files go: nothing can present or re-use its key or certificate any more.
  for (const a of ctx.plan.actions) {
    if (a.action === "revoke" && ctx.byName.get(a.name)?.kind === a.kind && a.reasons.includes("files removed")) changes.deletes.push(identityPaths(ctx.config.outputDir, a.kind, a.name).dir);
  }
  return changes;
}

/**
 * Signs a CRL as the plan has it, with its CA's key, under the CA certificate's subject (and key ID, when the
 * certificate carries one). Shared by this phase and the library's in-memory createPki.
 */
export function signPlannedCrl(crl: CrlAction, ca: IdentitySpec, caCertPem: string, key: KeyObject, subjectKeyId: string | null): { der: Buffer; pem: string } {
  return signCrl(
    {
      issuerNameDer: subjectNameDer(pemToDer(caCertPem, "CERTIFICATE")!),
      signatureAlgorithm: signatureAlgorithmFor(ca.key),
      thisUpdate: new Date(crl.thisUpdate),
      nextUpdate: new Date(crl.nextUpdate),
      number: crl.number,
      authorityKeyId: subjectKeyId ? Buffer.from(subjectKeyId, "hex") : subjectKeyIdOf(spkiOf(key)),
      entries: crl.revoked.map((e) => ({ serial: e.serial, revokedAt: new Date(e.revokedAt), reason: e.reason })),
    },
    key,
  );
}
