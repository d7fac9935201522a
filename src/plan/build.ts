import path from "node:path";
import { formatApproxDuration, formatDuration, renewalWindowSeconds } from "../config/duration.js";
import { signsElsewhere } from "../config/external.js";
import type { Config, IdentitySpec } from "../config/types.js";
import type { Locate } from "../config/locate.js";
import { formatPath, ProvisionError } from "../errors.js";
import { bundlePath, identityPaths, MODES, retiredCertPath } from "../store/layout.js";
import type { ObservedIdentity, ObservedState } from "../store/read-state.js";
import { composeBundle, composeChain, composeFullchain, issuerPath } from "./compose.js";
import { CLOCK_SKEW_SECONDS, type CertificateFacts } from "../x509/spec.js";
import { issuedValiditySeconds, specDifferences } from "./diff.js";
import { plannedHooks, type PendingHook } from "./hooks.js";
import { ISSUING, type IdentityAction, type Plan, type RetiredAction, type RevokeRequest } from "./types.js";
import { identitiesByName } from "../config/issuers.js";
import { decideRevoked, ledgerAfterRun, planCrls } from "./revocation.js";

export interface PlanOptions {
  /** CAs whose key the user explicitly asked to replace (--rotate-ca-key). */
  rotateCaKeys?: ReadonlySet<string>;
  /** CAs whose key.pem, found without a certificate or a record, the user says is theirs (--adopt-ca-key). */
  adoptCaKeys?: ReadonlySet<string>;
  /** SHA-256 of the CA keys this machine's provision wrote for this output folder (store/own-keys.ts). */
  ownCaKeys?: ReadonlySet<string>;
  /** Delete the files of identities no longer in pki.yaml (--prune). */
  prune?: boolean;
  /** Names of the environment variables that are set (never their values): passphrases must be there. */
  setEnvVars?: ReadonlySet<string>;
  /** Certificates to revoke by serial (the ACME server's revokeCert; see revokeSerials in api.ts). */
  revokeSerials?: readonly RevokeRequest[];
  /** afterChange hooks an earlier run could not complete: they run again. */
  pendingHooks?: readonly PendingHook[];
  /** Where a pki.yaml node is (config/locate.ts locateInFile), for errors found while planning; without it, errors carry the YAML path only. */
  locate?: Locate;
}

const DAY = 86_400_000;
const LATEST_NOT_AFTER = Date.UTC(9999, 11, 31, 23, 59, 59);

function days(ms: number): string {
  const n = Math.floor(Math.abs(ms) / DAY);
  if (n === 0) {
    const hours = Math.floor(Math.abs(ms) / 3_600_000);
    const minutes = Math.floor(Math.abs(ms) / 60_000);
    return hours > 0 ? `${hours} hour${hours === 1 ? "" : "s"}` : `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  return `${n} day${n === 1 ? "" : "s"}`;
}

/**
 * buildPlan compares what pki.yaml asks for with what is on disk, at time `now`, and decides per
 * identity: create, reissue (spec or files changed), renew (inside the renewal window), or unchanged.
 * Pure: no I/O, no clock, no randomness.
 */
export function buildPlan(config: Config, observed: ObservedState, now: Date, options: PlanOptions = {}): Plan {
  const rotate = options.rotateCaKeys ?? new Set<string>();
  const adopt = options.adoptCaKeys ?? new Set<string>();
  const byName = identitiesByName(config);
  for (const [flag, names] of [["--rotate-ca-key", rotate], ["--adopt-ca-key", adopt]] as const) {
    for (const name of names) {
      if (byName.get(name)?.kind !== "ca") throw new ProvisionError("bad-flag", `${flag} ${name}: no CA of that name in ${config.file}`);
    }
  }
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  const actions = new Map<string, IdentityAction>();

  for (const id of config.identities) {
    const seen = observed.identities.get(id.name)!;
    const issuer = id.issuer === null ? null : byName.get(id.issuer)!;
    const decided = id.revoked ? decideRevoked(id, seen, observed, nowMs) : id.external ? decideExternal(id, seen) : decide(id, seen, issuer, issuer && actions.get(issuer.name), observed, nowMs, rotate.has(id.name), adopt.has(id.name) || ownKey(seen, options.ownCaKeys));
    // Below a keyless external CA, someone else signs: what would be issued is asked for instead (provision csr).
    const awaited = signsElsewhere(issuer) && ISSUING.has(decided.action) ? awaitSignature(decided, issuer!, seen) : decided;
    // A renewal request made by provision csr: its key waits in next-key.pem until provision import takes in the certificate.
    const action = seen.pendingKey ? { ...awaited, reasons: [...awaited.reasons, `request pending (its key: ${path.relative(config.outputDir, seen.pendingKey)})`] } : awaited;
    const facts = seen.cert?.facts;
    const external = observed.externals.get(id.name);
    const files = external ? { files: { cert: external.certFile, key: external.keyFile ?? "" } } : describeFiles(config, id);
    actions.set(id.name, { ...action, notBefore: facts?.notBefore ?? null, notAfter: facts?.notAfter ?? null, ...files });
  }

  ensureIssuersOutliveChildren(config, actions, nowMs, options.locate ?? ((path) => ({ file: config.file, path: formatPath(path) })));
  for (const id of config.identities) setValidity(actions.get(id.name)!, id, nowMs);
  const retired = planRetired(config, actions, observed, nowMs);
  const retiredPems = retired.filter((r) => r.action === "keep").map((r) => observed.retired.find((o) => o.fingerprint === r.fingerprint && o.ca === r.ca)!.pem!);
  const { ledger, revocations } = ledgerAfterRun(config, observed, actions, nowMs, options.prune ?? false, options.revokeSerials ?? []);
  const { crls, bundleStale: crlBundleStale } = planCrls(config, observed, actions, ledger, nowMs);
  checkSignersAreUsable(config, actions, observed, options.setEnvVars, crls.filter((c) => c.action !== "unchanged").map((c) => c.ca));
  const notes = [...observed.problems];
  const reencrypt = keysToReencrypt(config, actions, observed, options.setEnvVars, notes);
  checkPassphrasesSet(config, actions, reencrypt, observed, options.setEnvVars);

  const orphanActions: IdentityAction[] = observed.orphans.map((orphan) => {
    const moved = byName.get(orphan.name);
    const why = moved ? `moved to ${moved.kind}s in pki.yaml: old ${orphan.kind} files` : "not in pki.yaml: files";
    return {
      name: orphan.name,
      kind: orphan.kind,
      action: "orphaned",
      reasons: [options.prune ? `${why} deleted (--prune)` : `${why} kept (run with --prune to delete them)`],
      key: "none",
      issuer: null,
      notBefore: null,
      notAfter: orphan.notAfter,
      ...describeFiles(config, { kind: orphan.kind, name: orphan.name }),
    };
  });

  const permissions = config.identities.filter((id) => !id.revoked).flatMap((id) => observed.identities.get(id.name)!.loosePrivateFiles.map(({ file, mode }) => ({ file, mode: MODES.key, was: mode })));
  for (const p of permissions) notes.push(`${p.file} was readable by others (mode ${p.was.toString(8).padStart(4, "0")}); it is set back to 0600`);
  for (const r of retired) if (r.action === "drop") notes.push(`retired certificate ${r.fingerprint.slice(0, 16)} of ${r.ca} leaves ca-bundle.pem: ${r.reason}`);
  const allActions = [...config.identities.map((id) => actions.get(id.name)!), ...orphanActions];
  const refresh = [...reencrypt.map((id) => identityPaths(config.outputDir, id.kind, id.name).key), ...staleDerivedFiles(config, actions, observed, retiredPems)];
  return {
    version: 1,
    now: new Date(nowMs).toISOString(),
    actions: allActions,
    refresh,
    prune: options.prune ?? false,
    retired,
    permissions,
    hooks: plannedHooks(config, { actions: allActions, refresh, crls }, options.pendingHooks ?? []),
    revocations,
    revokeRequests: [...(options.revokeSerials ?? [])],
    crls,
    crlBundleStale,
    notes,
  };
}

/**
 * Which replaced root certificates ca-bundle.pem publishes after this run. After a renewal (same key) the
 * old certificate stays until it expires; after a key rotation until the last certificate issued under the
 * old key expires, so clients and servers that switch at different times keep working.
 */
function planRetired(config: Config, actions: Map<string, IdentityAction>, observed: ObservedState, nowMs: number): RetiredAction[] {
  const out: RetiredAction[] = [];
  const isRoot = (name: string) => {
    const id = identitiesByName(config).get(name);
    return id?.kind === "ca" && id.issuer === null;
  };
  for (const entry of observed.retired) {
    const base = { ca: entry.ca, fingerprint: entry.fingerprint, notAfter: entry.notAfter, until: entry.until, file: retiredCertPath(config.outputDir, entry.ca, entry.fingerprint) };
    const why = !isRoot(entry.ca) ? `${entry.ca} is no longer a root in pki.yaml` : Date.parse(entry.until) <= nowMs ? `its overlap ended ${entry.until}` : entry.pem === null ? "its file is missing or is not that certificate" : null;
    if (out.some((r) => r.ca === entry.ca && r.fingerprint === entry.fingerprint)) continue;
    out.push(why === null ? { ...base, action: "keep", reason: `published until ${entry.until}` } : { ...base, action: "drop", reason: why });
  }
  for (const id of config.identities) {
    if (id.kind !== "ca" || id.issuer !== null) continue;
    const action = actions.get(id.name)!;
    const old = observed.identities.get(id.name)!.cert;
    // Only a root re-issued by this run has an old certificate to keep publishing.
    if (!old || !ISSUING.has(action.action) || Date.parse(old.facts.notAfter) <= nowMs) continue;
    if (out.some((r) => r.ca === id.name && r.fingerprint === old.facts.fingerprint)) continue;
    const keyRotated = action.key === "generate";
    const until = keyRotated ? lastExpiryUnder(config, observed, id.name, old.facts.notAfter) : old.facts.notAfter;
    out.push({
      ca: id.name,
      fingerprint: old.facts.fingerprint,
      notAfter: old.facts.notAfter,
      until,
      action: "add",
      reason: keyRotated ? "key rotated: published until the last certificate under the old key expires" : "renewed: published until the old certificate expires",
      file: retiredCertPath(config.outputDir, id.name, old.facts.fingerprint),
    });
  }
  return out;
}

/**
 * The last notAfter among the certificates on disk that chain to `root` under its old key (read before
 * this run replaces them): until then a client may still be shown one of them. Never past the root's own (not counted itself: it is on no issuer path of its own).
 */
function lastExpiryUnder(config: Config, observed: ObservedState, root: string, rootNotAfter: string): string {
  let last = 0;
  for (const id of config.identities) {
    if (!issuerPath(config, id).some((issuer) => issuer.name === root)) continue;
    const notAfter = observed.identities.get(id.name)?.cert?.facts.notAfter;
    if (notAfter) last = Math.max(last, Date.parse(notAfter));
  }
  return new Date(Math.min(last, Date.parse(rootNotAfter))).toISOString();
}

/** A key found without its certificate that this machine wrote itself: a first run was interrupted between the two. */
function ownKey(seen: ObservedIdentity, own: ReadonlySet<string> | undefined): boolean {
  return seen.keySha256 !== null && (own?.has(seen.keySha256) ?? false);
}

type Decision = Omit<IdentityAction, "files" | "notBefore" | "notAfter">;

/**
 * An external CA is never created, renewed or replaced: its files are the user's. A key that is there but
 * does not fit its certificate stops the run, as for a CA provision made.
 */
function decideExternal(id: IdentitySpec, seen: ObservedIdentity): Decision {
  const external = id.external!;
  if (seen.keyStatus === "mismatch" || seen.keyStatus === "unreadable") {
    throw new ProvisionError("external-ca", `the key of external CA ${id.name} (${external.key}) ${seen.keyStatus === "mismatch" ? "does not match its certificate" : "cannot be read"}: ${seen.keyDetail ?? ""}`.trim(), {
      hint: `point external.key at the private key of ${external.cert}, or remove external.key to have its certificates signed elsewhere`,
    });
  }
  const what = external.key === null ? "no key: what it issues is requested with provision csr" : "signs with its own key";
  return { name: id.name, kind: id.kind, issuer: null, action: "unchanged", reasons: [`external (${external.cert}; ${what})`], key: "none" };
}

/**
 * A certificate whose issuer is external without a key cannot be issued here: the identity waits for one signed
 * by the CA's holder (provision csr, then provision sign on their side). A certificate already there stays.
 */
function awaitSignature(decided: Decision, issuer: IdentitySpec, seen: ObservedIdentity): Decision {
  const fresh = !seen.cert && decided.reasons.every((r) => r === "new" || r === "certificate missing" || r === "key missing");
  const waitFor = fresh ? `waiting for a certificate signed by ${issuer.name}` : `waiting for a new certificate signed by ${issuer.name}`;
  return { ...decided, action: "waiting", reasons: [...decided.reasons.filter((r) => r !== "new" && r !== "certificate missing"), waitFor], key: "none" };
}

/** Whether an identity's certificate on disk can be used (and kept, and chained): it is there, fits its key and its issuer. */
export function usableCertificate(seen: ObservedIdentity): boolean {
  return seen.cert !== null && seen.keyStatus === "ok" && seen.signedByIssuer !== false;
}

function decide(
  id: IdentitySpec,
  seen: ObservedIdentity,
  issuer: IdentitySpec | null,
  issuerAction: IdentityAction | null | undefined,
  observed: ObservedState,
  nowMs: number,
  rotateKey: boolean,
  adoptKey: boolean,
): Decision {
  const base = { name: id.name, kind: id.kind, issuer: id.issuer };
  const isCa = id.kind === "ca";
  const everIssued = observed.state.identities.get(id.name)?.kind === id.kind;

  if (isCa && !rotateKey) assertCaKeyUsable(id, seen, everIssued, observed.aside?.has(id.name) ?? false);
  if (isCa && !rotateKey && !adoptKey && !seen.cert && seen.keyStatus !== "missing" && !everIssued) {
    // A key.pem provision has no record of, with no certificate: someone may have planted it to become the CA.
    throw new ProvisionError("ca-key-unknown", `CA ${id.name} has a key.pem but no certificate, and provision has no record of creating that key`, {
      hint: `provision never adopts a CA key it did not create. Delete cas/${id.name}/key.pem in the output folder to create a new CA, or, if the key is yours (say, an interrupted first run), run with --adopt-ca-key ${id.name}`,
    });
  }
  if (!seen.cert && seen.keyStatus === "missing" && !everIssued) return { ...base, action: "create", reasons: ["new"], key: "generate" };

  const reasons: string[] = [];
  if (rotateKey) reasons.push("key rotation requested (--rotate-ca-key)");
  if (!seen.cert) reasons.push(`certificate ${seen.certProblem}`);
  if (!isCa && seen.keyStatus !== "ok" && seen.keyStatus !== "locked") {
    reasons.push(seen.keyStatus === "missing" ? "key missing" : seen.keyStatus === "mismatch" ? "key does not match the certificate" : "key unreadable");
  }
  if (issuerAction && (issuerAction.action === "create" || issuerAction.action === "reissue")) reasons.push(`issuer ${issuerAction.name} reissued`);
  if (seen.cert) {
    // Whoever signs for a keyless external CA picks the lifetime (provision sign --validity).
    reasons.push(...specDifferences(id, { subject: (issuer ?? id).subject, crlUrl: issuer?.crl?.url ?? null }, seen.cert.facts, { validity: !signsElsewhere(issuer) }));
    if (seen.signedByIssuer === false && !reasons.some((r) => r.startsWith("issuer "))) {
      reasons.push(issuer ? `not signed by the current ${issuer.name} certificate` : "not a valid self-signed certificate");
    }
  }

  const keyTypeChanged = seen.cert !== null && seen.cert.facts.keyType !== id.key;
  if (reasons.length) {
    if (isCa && keyTypeChanged && !rotateKey) {
      throw new ProvisionError("ca-key-change", `changing the key type of CA ${id.name} needs a new CA key`, {
        hint: `run with --rotate-ca-key ${id.name} to replace the key (everything it signed is re-issued), or restore key: ${seen.cert!.facts.keyType}`,
      });
    }
    const fresh = rotateKey || (!isCa && (id.rotateKey === "always" || keyTypeChanged || seen.keyStatus !== "ok"));
    return { ...base, action: "reissue", reasons, key: fresh ? "generate" : "reuse" };
  }

  const facts = seen.cert!.facts;
  const notAfter = Date.parse(facts.notAfter);
  const { lifetimeSeconds, window } = renewalWindow(id, facts);
  const freshKey = !isCa && id.rotateKey === "always" ? "generate" : "reuse";
  if (nowMs >= notAfter) return { ...base, action: "renew", reasons: [`expired ${days(nowMs - notAfter)} ago`], key: freshKey };
  if (nowMs >= notAfter - window) {
    const windowText = id.renewBefore.kind === "duration" ? id.renewBefore.text : `${id.renewBefore.text} of ${formatApproxDuration(lifetimeSeconds)} = ${formatApproxDuration(window / 1000)}`;
    return { ...base, action: "renew", reasons: [`expires in ${days(notAfter - nowMs)} (window ${windowText})`], key: freshKey };
  }
  return { ...base, action: "unchanged", reasons: [], key: "none" };
}

/**
 * The renewal window of an issued certificate: `renewBefore` as a duration, or as a fraction of the lifetime the
 * certificate really has (notAfter − notBefore). The certificate is renewed from `notAfter - window` on.
 */
export function renewalWindow(id: Pick<IdentitySpec, "renewBefore">, facts: Pick<CertificateFacts, "notBefore" | "notAfter">): { lifetimeSeconds: number; window: number; startsAt: number } {
  const lifetimeSeconds = issuedValiditySeconds(facts) + CLOCK_SKEW_SECONDS;
  const window = renewalWindowSeconds(id.renewBefore, lifetimeSeconds) * 1000;
  return { lifetimeSeconds, window, startsAt: Date.parse(facts.notAfter) - window };
}

/** A CA's key is never replaced silently: a missing, unreadable or foreign key stops the run. */
function assertCaKeyUsable(id: IdentitySpec, seen: ObservedIdentity, everIssued: boolean, aside: boolean): void {
  const flag = `--rotate-ca-key ${id.name}`;
  if (seen.keyStatus === "missing" && aside) {
    throw new ProvisionError("ca-key-missing", `the folder of CA ${id.name} was moved aside by an interrupted run`, {
      hint: `run provision (without plan): it puts the folder back before anything else; do not use ${flag}`,
    });
  }
  if (seen.keyStatus === "missing" && (seen.cert || everIssued)) {
    throw new ProvisionError("ca-key-missing", `the key of CA ${id.name} is missing`, {
      hint: `restore key.pem from your backup; to start over with a new key (everything it signed is re-issued) run with ${flag}`,
    });
  }
  if (seen.keyStatus === "unreadable") {
    throw new ProvisionError("ca-key-unreadable", `the key of CA ${id.name} cannot be read: ${seen.keyDetail ?? "not a PKCS#8 PEM key"}`, {
      hint: `restore key.pem from your backup, or run with ${flag} to replace it`,
    });
  }
  if (seen.keyStatus === "mismatch") {
    throw new ProvisionError("ca-key-mismatch", `the key of CA ${id.name} does not match its certificate`, {
      hint: `restore the matching key.pem or cert.pem from your backup, or run with ${flag} to replace the key`,
    });
  }
}

/** A new certificate may not outlive its issuer: renew the issuer (same key) first, up the chain. */
function ensureIssuersOutliveChildren(config: Config, actions: Map<string, IdentityAction>, nowMs: number, locate: Locate): void {
  const byName = identitiesByName(config);
  for (const id of [...config.identities].reverse()) {
    const action = actions.get(id.name)!;
    if (!ISSUING.has(action.action) || id.issuer === null) continue;
    const issuerAction = actions.get(id.issuer)!;
    if (ISSUING.has(issuerAction.action)) continue;
    const issuerNotAfter = issuerAction.notAfter === null ? 0 : Date.parse(issuerAction.notAfter);
    const childNotAfter = nowMs + id.validitySeconds * 1000;
    const external = byName.get(id.issuer)?.external;
    if (childNotAfter > issuerNotAfter && external) {
      // The validity line is what to edit; without one on the identity, the locator points at the identity (the value comes from defaults).
      const message = `validity ${formatDuration(id.validitySeconds)}: ${id.name}'s new certificate would outlive external CA ${id.issuer} (${external.cert}), which expires ${issuerAction.notAfter?.slice(0, 10)}`;
      throw new ProvisionError("outlives-issuer", `${id.name}'s new certificate (${formatDuration(id.validitySeconds)}) would outlive external CA ${id.issuer}, which expires ${issuerAction.notAfter?.slice(0, 10)}`, {
        hint: `shorten ${id.name}'s validity, or renew ${id.issuer}'s certificate where it is kept (${external.cert}); provision never renews an external CA`,
        diagnostics: [{ severity: "error", ...locate([...id.yamlPath, "validity"]), message }],
      });
    }
    if (childNotAfter > issuerNotAfter) {
      issuerAction.action = "renew";
      issuerAction.key = "reuse";
      issuerAction.reasons = [`renewed so it outlives ${id.name}'s new certificate (expires ${issuerAction.notAfter?.slice(0, 10)})`];
    }
  }
}

/** Issuing actions get the validity of the certificate they will write. */
function setValidity(action: IdentityAction, id: IdentitySpec, nowMs: number): void {
  if (!ISSUING.has(action.action)) return;
  action.notBefore = new Date(nowMs - CLOCK_SKEW_SECONDS * 1000).toISOString();
  const notAfter = nowMs + id.validitySeconds * 1000;
  // Unreachable from the CLI (durations and --now are bounded); a library caller gets an error, not a bad certificate.
  if (!(notAfter <= LATEST_NOT_AFTER)) throw new ProvisionError("invalid-config", `${id.name}: a ${formatDuration(id.validitySeconds)} certificate issued at ${new Date(nowMs).toISOString()} would end after 9999-12-31T23:59:59Z, the last time X.509 can express`);
  action.notAfter = new Date(notAfter).toISOString();
}

/**
 * Signing needs the issuer's key, and keeping a key needs it readable: an encrypted one whose passphrase
 * variable is not set (or did not decrypt it) stops the plan here, before anything is generated.
 */
function checkSignersAreUsable(config: Config, actions: Map<string, IdentityAction>, observed: ObservedState, setEnvVars: ReadonlySet<string> | undefined, crlSigners: readonly string[]): void {
  const byName = identitiesByName(config);
  const unusable = (spec: IdentitySpec) => {
    const seen = observed.identities.get(spec.name)!;
    if (seen.keyStatus === "locked") return true;
    if (!setEnvVars || seen.keyStatus === "missing" || !seen.keyEncrypted) return false;
    const recorded = recordOf(observed, spec)?.passphraseEnv ?? null;
    return ![spec.passphraseEnv, recorded].some((name) => name !== null && setEnvVars.has(name));
  };
  for (const id of config.identities) {
    const action = actions.get(id.name)!;
    if (!ISSUING.has(action.action)) continue;
    const signer = byName.get(id.issuer ?? id.name)!;
    const needed = [actions.get(signer.name)!.key !== "generate" ? signer : null, action.key === "reuse" ? id : null];
    for (const spec of needed) if (spec && unusable(spec)) throw locked(spec, "");
  }
  // A CRL is signed with its CA's key: an encrypted one needs its passphrase only in a run that re-signs the CRL.
  for (const ca of crlSigners) {
    const spec = byName.get(ca)!;
    if (actions.get(ca)!.key !== "generate" && unusable(spec)) throw locked(spec, ` (its CRL must be re-signed: ${ca}'s crl.pem)`);
  }
  function locked(spec: IdentitySpec, why: string): ProvisionError {
    const variable = spec.passphraseEnv;
    return new ProvisionError("passphrase-missing", `the key of ${spec.name} is encrypted and ${variable ? `${variable} is not set or wrong` : "no passphraseEnv is configured"}${why}`, {
      hint: variable ? `export ${variable}=<passphrase> and run again` : `add passphraseEnv: <VARIABLE> to ${spec.yamlPath.join(".")} in ${config.file}`,
    });
  }
}

/** The state.json record of an identity, when it is of the same kind (a name may move between sections). */
function recordOf(observed: ObservedState, id: Pick<IdentitySpec, "name" | "kind">) {
  const record = observed.state.identities.get(id.name);
  return record?.kind === id.kind ? record : undefined;
}

/**
 * Keys whose encryption no longer matches pki.yaml: passphraseEnv added, removed or renamed, or encrypted
 * more weakly than provision now does (older versions). They are rewritten with the same key material;
 * renaming the variable is how a passphrase is changed. A weak key whose passphrase is not set this run
 * is left for a run that has it (with a note).
 */
function keysToReencrypt(config: Config, actions: Map<string, IdentityAction>, observed: ObservedState, setEnvVars: ReadonlySet<string> | undefined, notes: string[]): IdentitySpec[] {
  return config.identities.filter((id) => {
    const seen = observed.identities.get(id.name)!;
    if (id.external || id.revoked || actions.get(id.name)!.key === "generate" || seen.keyStatus === "missing") return false;
    const encrypted = seen.keyEncrypted;
    const recorded = recordOf(observed, id)?.passphraseEnv ?? null;
    const mismatch = encrypted !== (id.passphraseEnv !== null) || (encrypted && recorded !== null && recorded !== id.passphraseEnv);
    if (!mismatch && seen.keyEncryptionWeak && id.passphraseEnv !== null) {
      const available = seen.keyStatus !== "locked" && (!setEnvVars || [id.passphraseEnv, recorded].some((name) => name !== null && setEnvVars.has(name)));
      if (!available) notes.push(`the key of ${id.name} is encrypted with an older, weaker scheme; it is re-encrypted on the next run with ${id.passphraseEnv} set`);
      else notes.push(`the key of ${id.name} is re-encrypted with PBKDF2-HMAC-SHA256 at 600,000 iterations (it was written with a weaker scheme)`);
      return available;
    }
    const stale = mismatch;
    if (stale && seen.keyStatus === "locked") {
      throw new ProvisionError("passphrase-missing", `the key of ${id.name} must be re-encrypted, but cannot be decrypted`, {
        hint: `set ${[recorded, id.passphraseEnv].filter(Boolean).join(" or ")} to the passphrase the key was written with`,
      });
    }
    return stale;
  });
}

/** Writing an encrypted key needs its variable: a missing one stops the run before anything is written. */
function checkPassphrasesSet(config: Config, actions: Map<string, IdentityAction>, reencrypt: IdentitySpec[], observed: ObservedState, setEnvVars: ReadonlySet<string> | undefined): void {
  if (!setEnvVars) return;
  for (const id of config.identities) {
    const writesKey = actions.get(id.name)!.key === "generate" || reencrypt.includes(id);
    const writesP12 = id.formats.includes("p12") && (ISSUING.has(actions.get(id.name)!.action) || writesKey || observed.identities.get(id.name)!.missingFormatFiles.length > 0);
    if (writesP12 && id.p12PassphraseEnv !== null && !setEnvVars.has(id.p12PassphraseEnv)) {
      throw new ProvisionError("passphrase-missing", `${id.p12PassphraseEnv} is not set: it holds the password of ${id.name}'s identity.p12`, {
        hint: `export ${id.p12PassphraseEnv}=<password>`,
      });
    }
    if (writesKey && id.passphraseEnv !== null && !setEnvVars.has(id.passphraseEnv)) {
      throw new ProvisionError("passphrase-missing", `${id.passphraseEnv} is not set: it holds the passphrase for the key of ${id.name}`, {
        hint: `export ${id.passphraseEnv}=<passphrase> (the passphrase is read only from the environment, never from ${config.file})`,
      });
    }
  }
}

function describeFiles(config: Config, id: Pick<IdentitySpec, "kind" | "name">): Pick<IdentityAction, "files"> {
  const p = identityPaths(config.outputDir, id.kind, id.name);
  return { files: id.kind === "ca" ? { cert: p.cert, key: p.key } : { cert: p.cert, key: p.key, chain: p.chain, fullchain: p.fullchain } };
}

/** Chains and the bundle that differ from what the current certificates compose to. */
function staleDerivedFiles(config: Config, actions: Map<string, IdentityAction>, observed: ObservedState, retiredPems: string[]): string[] {
  const stale: string[] = [];
  const certOf = (name: string) => observed.identities.get(name)?.cert?.pem ?? "";
  const upstreamOf = (name: string) => observed.externals.get(name);
  const issuing = (name: string) => ISSUING.has(actions.get(name)!.action);
  for (const id of config.identities) {
    const seen = observed.identities.get(id.name)!;
    // A waiting identity's files are derived only from a certificate it can use (never from a refused one); a revoked one's are deleted.
    if (id.revoked || (actions.get(id.name)!.action === "waiting" && !usableCertificate(seen))) continue;
    if (!issuing(id.name)) stale.push(...seen.missingFormatFiles);
    if (id.kind === "ca" || issuing(id.name)) continue;
    const issuers = issuerPath(config, id);
    const paths = identityPaths(config.outputDir, id.kind, id.name);
    const chainChanges = issuers.some((i) => issuing(i.name));
    // Files exactly as last written, next to issuers exactly as then, compose exactly as then.
    if (!chainChanges && seen.trusted && issuers.every((i) => observed.identities.get(i.name)!.trusted)) continue;
    if (chainChanges || seen.chainPem !== composeChain(issuers, certOf, upstreamOf)) stale.push(paths.chain);
    if (chainChanges || seen.fullchainPem !== composeFullchain(id, issuers, certOf, upstreamOf)) stale.push(paths.fullchain);
  }
  const roots = config.identities.filter((id) => id.kind === "ca" && id.issuer === null);
  const rootsChange = roots.some((r) => issuing(r.name));
  if (!rootsChange && observed.bundlePem !== composeBundle(config, certOf, retiredPems, upstreamOf)) stale.push(bundlePath(config.outputDir));
  return stale;
}
