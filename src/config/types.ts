import type { SourceLocation } from "../errors.js";
import type { AltName } from "./alt-names.js";
import type { RenewBefore } from "./duration.js";
import type { KeyType } from "./schema.js";
import type { ExternalSpec } from "./external.js";
import type { AcmeSpec } from "./acme.js";

export type { KeyType } from "./schema.js";
export type IdentityKind = "ca" | "server" | "client";
export type YamlPath = readonly (string | number)[];

/** Subject distinguished-name fields, commonName included. */
export interface SubjectSpec {
  country?: string;
  state?: string;
  locality?: string;
  organization?: string;
  organizationalUnit?: string;
  commonName: string;
}

/** The distinguished-name fields, in the order a certificate's Name lists them (RFC 5280 Appendix A). */
export const SUBJECT_FIELDS = ["country", "state", "locality", "organization", "organizationalUnit", "commonName"] as const satisfies readonly (keyof SubjectSpec)[];

/** RFC 5280 §5.3.1 reason names pki.yaml accepts (certificateHold is left out: a revocation here is final). */
export const REVOCATION_REASONS = ["unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation", "privilegeWithdrawn"] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];
/** RFC 5280 §5.3.1 reason codes by name (certificateHold and removeFromCRL are not offered: a revocation is final). */
export const REASON_CODES: Readonly<Record<RevocationReason, number>> = { unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5, privilegeWithdrawn: 9 };

export interface NameConstraintsSpec {
  permitted: AltNameConstraint[];
  excluded: AltNameConstraint[];
}

/**
 * One subtree of a NameConstraints extension: a DNS suffix, an IP range or an email domain; or a URI host
 * (`host` or `.domain`, RFC 5280 §4.2.1.10), which pki.yaml cannot write but an external CA's certificate can hold.
 */
export type AltNameConstraint =
  | { type: "dns"; value: string }
  | { type: "ip"; value: string; prefix: number }
  | { type: "email"; value: string }
  | { type: "uri"; value: string };

export interface ServeSpec {
  host: string;
  port: number;
  app: string | null;
  clientAuth: "none" | "optional" | "required";
  /** CA whose client certificates the server accepts (only when clientAuth is not none). */
  clientCa: string | null;
  /** Client identity that rendered client configs present under mTLS. */
  client: string | null;
  /** Where `serve` (and `serve.app`) is written in pki.yaml, for warnings raised after loading. */
  at: SourceLocation;
  appAt: SourceLocation | null;
}

/** pki.yaml `afterChange`: run once per identity whose files a run changed, after they are committed. */
export interface HookSpec {
  /** A string runs through `sh -c`; a list runs as an argv without a shell. */
  command: string | string[];
  timeoutSeconds: number;
}

export interface CrlSpec {
  validitySeconds: number;
  refreshBefore: RenewBefore;
  /** Published here: a CRL Distribution Points extension in what this CA issues. */
  url: string | null;
}

/** Everything provision needs to know about one identity, with defaults applied. */
export interface IdentitySpec {
  name: string;
  kind: IdentityKind;
  issuer: string | null;
  subject: SubjectSpec;
  altNames: AltName[];
  key: KeyType;
  validitySeconds: number;
  renewBefore: RenewBefore;
  pathLength: number | null;
  nameConstraints: NameConstraintsSpec | null;
  rotateKey: "always" | "never";
  passphraseEnv: string | null;
  /** Outputs beyond the PEM files. */
  formats: ("der" | "p12" | "combined")[];
  p12PassphraseEnv: string | null;
  serve: ServeSpec | null;
  afterChange: HookSpec | null;
  /**
   * A CA kept outside provision (pki.yaml `external`): its files, as written, relative to pki.yaml. Its subject,
   * key type, lifetime, pathLength and nameConstraints are filled from its certificate by store/external.ts.
   */
  external: ExternalSpec | null;
  /** pki.yaml `revoked: true`: every unexpired certificate issued under this name is revoked, its files removed. */
  revoked: { reason: RevocationReason } | null;
  /** Revoke the certificate a renewal or re-issue with a new key replaces (leaves; pki.yaml `revokeSuperseded`). */
  revokeSuperseded: boolean;
  /** CAs: their CRL (pki.yaml `crlValidity`, `crlRefreshBefore`, `crlUrl`); null for servers and clients. */
  crl: CrlSpec | null;
  /** Where the identity is declared, e.g. ["servers", "secret-server"]. */
  yamlPath: YamlPath;
}

export interface Config {
  /** Path of pki.yaml as the user named it (used in messages). */
  file: string;
  /** Absolute folder holding pki.yaml (apps named in `serve.app` are imported from here). */
  baseDir: string;
  /** Absolute output folder. */
  outputDir: string;
  /** Identities ordered so that every issuer comes before what it signs. */
  identities: IdentitySpec[];
  /** pki.yaml `acme:` (provision acme); absent when the file has none. */
  acme?: AcmeSpec;
}

/** Lifetime limits the user opted into (pki.yaml `lint`). */
export interface LintSpec {
  maxLeafValiditySeconds: number | null;
}
