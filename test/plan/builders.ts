import { generateKeyPairSync } from "node:crypto";
import { parseConfig } from "../../src/config/parse.js";
import type { Config, IdentitySpec } from "../../src/config/types.js";
import { composeBundle, composeChain, composeFullchain, issuerPath } from "../../src/plan/compose.js";
import type { ObservedIdentity, ObservedState } from "../../src/store/read-state.js";
import type { ObservedCrl } from "../../src/store/read-crls.js";
import { emptyState } from "../../src/store/state-file.js";
import { factsFromTemplate } from "../../src/x509/inspect.js";
import { subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { CLOCK_SKEW_SECONDS, type CertificateFacts } from "../../src/x509/spec.js";

/**
 * Builders for the pure planner: Config from YAML text, ObservedState as a run at a given time would have left
 * the disk, and a fixed clock. This is the one place in test/ that knows ObservedState's shape.
 */

export const T0 = new Date("2027-01-01T00:00:00Z");
export const DAY = 86_400_000;
export const at = (ms: number) => new Date(T0.getTime() + ms);

export function config(yaml: string): Config {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml", { cwd: "/nonexistent/planner-test" });
  if (!config) throw new Error(diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join("\n"));
  return config;
}

// One public key for every identity: the planner compares facts, never keys, so none is generated per test.
const SPKI = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });

/** The facts of the certificate `apply` would have issued for `id` at `issuedAt`. */
export function factsOf(cfg: Config, id: IdentitySpec, issuedAt: Date): CertificateFacts {
  const issuer = id.issuer === null ? null : cfg.identities.find((i) => i.name === id.issuer)!;
  const template = templateFor({
    identity: id,
    spki: SPKI,
    serial: Buffer.alloc(16, 1),
    notBefore: new Date(issuedAt.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter: new Date(issuedAt.getTime() + id.validitySeconds * 1000),
    issuer: issuer ? { subject: issuer.subject, keyType: issuer.key, subjectKeyId: subjectKeyIdOf(SPKI) } : null,
  });
  return factsFromTemplate(template, Buffer.from(`${id.name}@${issuedAt.toISOString()}`), id.key);
}

export interface IdentityOverrides {
  /** When this identity's certificate was issued (default: the `issuedAt` of observedAfterRun). */
  issuedAt?: Date;
  /** Facts that differ from the spec, as if pki.yaml changed after the run or the file was altered. */
  facts?: Partial<CertificateFacts>;
  keyStatus?: ObservedIdentity["keyStatus"];
  /** No certificate on disk (deleted, or unreadable). */
  certMissing?: boolean;
}

/**
 * The disk as a run of `cfg` at `issuedAt` left it: every certificate as specified, keys present, all files
 * trusted by their stamps, state.json recording everything. `overrides` change single identities.
 */
export function observedAfterRun(cfg: Config, issuedAt: Date, overrides: Record<string, IdentityOverrides> = {}, extra: { orphans?: ObservedState["orphans"] } = {}): ObservedState {
  const identities = new Map<string, ObservedIdentity>();
  const state = emptyState();
  const pemOf = (name: string) => `PEM(${name})\n`;
  for (const id of cfg.identities) {
    const o = overrides[id.name] ?? {};
    const facts = { ...factsOf(cfg, id, o.issuedAt ?? issuedAt), ...o.facts };
    const keyStatus = o.keyStatus ?? "ok";
    identities.set(id.name, {
      name: id.name,
      kind: id.kind,
      cert: o.certMissing ? null : { pem: pemOf(id.name), sha256: `sha-${id.name}`, facts },
      certProblem: o.certMissing ? "missing" : null,
      keySha256: keyStatus === "missing" ? null : `key-${id.name}`,
      keyEncrypted: false,
      keyEncryptionWeak: false,
      keyStatus,
      keyDetail: null,
      signedByIssuer: o.certMissing ? null : true,
      missingFormatFiles: [],
      loosePrivateFiles: [],
      trusted: !o.certMissing && keyStatus === "ok" && !o.facts,
      stamps: { cert: "1", key: "1", ...(id.kind === "ca" ? {} : { chain: "1", fullchain: "1" }) },
    });
    state.identities.set(id.name, { kind: id.kind, certSha256: `sha-${id.name}`, keySha256: `key-${id.name}`, passphraseEnv: null, issuerFingerprint: null, facts });
  }
  for (const id of cfg.identities) {
    if (id.kind === "ca") continue;
    const seen = identities.get(id.name)!;
    seen.chainPem = composeChain(issuerPath(cfg, id), pemOf);
    seen.fullchainPem = composeFullchain(id, issuerPath(cfg, id), pemOf);
  }
  for (const orphan of extra.orphans ?? []) state.identities.set(orphan.name, { kind: orphan.kind, certSha256: "", keySha256: "", passphraseEnv: null, issuerFingerprint: null, facts: {} as CertificateFacts });
  // Every CA's CRL as that run signed it: number 1, nothing revoked, thisUpdate backdated like the certificates.
  const crls = new Map<string, ObservedCrl>();
  for (const id of cfg.identities) {
    if (id.kind !== "ca" || !id.crl) continue;
    const thisUpdate = (overrides[id.name]?.issuedAt ?? issuedAt).getTime() - CLOCK_SKEW_SECONDS * 1000;
    crls.set(id.name, { ca: id.name, pem: `CRL(${id.name})\n`, problem: null, number: 1, thisUpdate: new Date(thisUpdate).toISOString(), nextUpdate: new Date(thisUpdate + id.crl.validitySeconds * 1000).toISOString(), entries: [] });
  }
  const crlBundlePem = [...crls.values()].map((c) => c.pem).join("");
  return { identities, state, stateText: "{}", problems: [], bundlePem: composeBundle(cfg, pemOf, []), retired: [], orphans: extra.orphans ?? [], externals: new Map(), crls, crlBundlePem };
}
