import { renewalWindowSeconds } from "../config/duration.js";
import { sanFor } from "../config/san.js";
import type { Config, IdentitySpec, KeyType } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { issuerPath } from "../plan/compose.js";
import { pemBlocks } from "../x509/pem.js";
import { profileFor } from "../x509/spec.js";
import { kubernetesName, type KubernetesObject } from "./kubernetes.js";

/**
 * cert-manager (cert-manager.io/v1) and trust-manager (trust.cert-manager.io/v1alpha1) documents for one CA
 * of pki.yaml: the CA's key pair as a Secret, an Issuer of type CA over it, a Certificate per server and
 * client it issues, and a Bundle with the roots of ca-bundle.pem. Pure: the caller reads the files.
 */

export interface CertManagerOptions {
  /** Namespace of the Issuer, the Certificates and (for an Issuer) the CA Secret. */
  namespace: string;
  clusterIssuer: boolean;
}

/** The exported CA's files, already read (and the key decrypted). */
export interface CaMaterial {
  certPem: string;
  /** Certificates of the CAs above it, nearest first, root last; empty for a root. */
  issuerCertPems: string[];
  /** Unencrypted PKCS#8 PEM. */
  keyPem: string;
}

/** Something pki.yaml says that the documents cannot: printed per identity, never dropped. */
export interface ExportNote {
  identity: string;
  message: string;
}

export interface CertManagerExport {
  documents: KubernetesObject[];
  notes: ExportNote[];
  /** Where the CA's private key ends up, for the warning the command prints. */
  secret: { namespace: string; name: string };
}

/**
 * Where each pki.yaml field of an identity goes. Typed by IdentitySpec's keys, so a field added to pki.yaml
 * does not compile until it is mapped here or reported as a note: nothing is dropped silently.
 */
export const FIELD_MAPPING: Readonly<Record<keyof IdentitySpec, string>> = {
  name: "metadata.name and secretName (RFC 1123)",
  kind: "usages: server auth or client auth",
  issuer: "issuerRef; identities under another CA are noted",
  subject: "commonName and subject",
  altNames: "dnsNames, ipAddresses, emailAddresses, uris (as sanFor issues them)",
  key: "privateKey.algorithm and size",
  validitySeconds: "duration",
  renewBefore: "renewBefore or renewBeforePercentage",
  rotateKey: "privateKey.rotationPolicy",
  formats: "additionalOutputFormats (DER, CombinedPEM); p12 noted",
  p12PassphraseEnv: "noted with p12",
  passphraseEnv: "noted (Secrets hold keys unencrypted)",
  serve: "noted (launch config is not exported)",
  afterChange: "noted (cert-manager updates the Secret in place; reloading the workload is up to the cluster)",
  nameConstraints: "noted (kept in the CA certificate; cert-manager does not check them)",
  pathLength: "kept in the CA certificate",
  external: "not exported: export reads a CA's files from the output folder, where an external CA has none",
  yamlPath: "not exported (where the identity is declared)",
  revoked: "not exported: a revoked identity gets no Certificate (cert-manager has no revocation; its CRL stays with provision)",
  revokeSuperseded: "noted (cert-manager does not revoke what it replaces)",
  crl: "noted (cert-manager publishes no CRL; crlUrl stays in the certificates provision issues)",
};

/** A ClusterIssuer reads its Secret from cert-manager's cluster resource namespace (by default its own). */
export const CLUSTER_RESOURCE_NAMESPACE = "cert-manager";
/** The Bundle's name, which is also the name of the ConfigMap it writes into every namespace. */
export const BUNDLE_NAME = "provision-ca-bundle";
export const BUNDLE_KEY = "ca-bundle.pem";
// cert-manager's webhook limits (pkg/apis/certmanager/v1/const.go, internal/.../validation/certificate.go).
const MIN_RENEW_BEFORE_SECONDS = 5 * 60;
const MIN_DURATION_SECONDS = 3600;
const MAX_COMMON_NAME = 64;

/**
 * The CA to export: the one named, else the one that issues the servers (else the clients). A root's key
 * leaves provision only when the root is named and includeRootKey confirms it.
 */
export function chooseExportCa(config: Config, requested: string | null, includeRootKey: boolean): IdentitySpec {
  const cas = config.identities.filter((id) => id.kind === "ca");
  let ca: IdentitySpec | undefined;
  if (requested !== null) {
    ca = cas.find((id) => id.name === requested);
    if (!ca) throw new ProvisionError("unknown-ca", `no CA named "${requested}" in ${config.file}`, { hint: `CAs: ${cas.map((c) => c.name).join(", ") || "none"}` });
  } else {
    for (const kind of ["server", "client"] as const) {
      const issuers = [...new Set(config.identities.filter((id) => id.kind === kind).map((id) => id.issuer!))];
      if (issuers.length > 1) throw new ProvisionError("export-ca-ambiguous", `the ${kind}s are issued by several CAs (${issuers.join(", ")})`, { hint: "choose the one cert-manager should issue with: --ca NAME" });
      ca = cas.find((id) => id.name === issuers[0]);
      if (ca) break;
    }
    if (!ca) throw new ProvisionError("export-ca-ambiguous", `${config.file} has no server or client, so no CA issues anything`, { hint: "name the CA to export with --ca NAME" });
  }
  // Checked before the root test: an external intermediate has no issuer in pki.yaml, and was called a root.
  if (ca.external) {
    throw new ProvisionError("external-ca", `${ca.name} is an external CA: export reads a CA's certificate and key from the output folder, where an external CA has none`, {
      hint: `add a CA under it for the cluster (cas: { k8s: { issuer: ${ca.name} } }), run provision, and export that one with --ca k8s`,
    });
  }
  if (ca.issuer === null && !(requested !== null && includeRootKey)) {
    throw new ProvisionError("export-root-key", `${ca.name} is a root CA: exporting it would put the root's private key into the cluster`, {
      hint:
        requested === null
          ? `issue the servers from an intermediate (keep the root offline), or confirm with --ca ${ca.name} --include-root-key`
          : `if that is really what you want, add --include-root-key`,
    });
  }
  if (includeRootKey && ca.issuer !== null) {
    throw new ProvisionError("usage", `--include-root-key: ${ca.name} is not a root`, { hint: "leave --include-root-key out; it only confirms exporting a root's key" });
  }
  return ca;
}

/** A Go time.Duration as Duration.String() writes it (what metav1.Duration holds): 2160h0m0s, 20m0s, 45s. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

const PRIVATE_KEY: Record<KeyType, { algorithm: "RSA" | "ECDSA"; size: number }> = {
  "ecdsa-p256": { algorithm: "ECDSA", size: 256 },
  "ecdsa-p384": { algorithm: "ECDSA", size: 384 },
  "rsa-2048": { algorithm: "RSA", size: 2048 },
  "rsa-3072": { algorithm: "RSA", size: 3072 },
  "rsa-4096": { algorithm: "RSA", size: 4096 },
};

// x509/spec.ts names → cert-manager's KeyUsage strings.
const USAGE = { digitalSignature: "digital signature", keyEncipherment: "key encipherment", keyCertSign: "cert sign", cRLSign: "crl sign", serverAuth: "server auth", clientAuth: "client auth" } as const;

/**
 * renewBefore as cert-manager reads it. A fraction that is a whole percentage stays relative
 * (renewBeforePercentage), else the window is fixed for the certificate's duration. cert-manager's webhook
 * refuses windows under 5 minutes, so those are raised to 5 minutes, with a note.
 */
function renewal(id: IdentitySpec, durationSeconds: number, note: (message: string) => void): { renewBefore: string } | { renewBeforePercentage: number } {
  const rb = id.renewBefore;
  if (rb.kind === "fraction") {
    const percent = Math.round(rb.value * 100);
    const whole = Math.abs(rb.value * 100 - percent) < 1e-9;
    // The webhook checks duration·(100−pct)/100 ≥ 5m (internal/apis/certmanager/validation/certificate.go),
    // while renewal uses duration·pct/100 (pkg/util/pki/renewaltime.go): both must clear the minimum.
    const accepted = Math.min(100 - percent, percent) * durationSeconds >= MIN_RENEW_BEFORE_SECONDS * 100;
    if (whole && accepted) return { renewBeforePercentage: percent };
  }
  const window = renewalWindowSeconds(rb, durationSeconds);
  if (window < MIN_RENEW_BEFORE_SECONDS) {
    note(`renewBefore ${rb.text} is ${goDuration(window)}, below cert-manager's minimum: exported as renewBefore 5m0s`);
    return { renewBefore: goDuration(MIN_RENEW_BEFORE_SECONDS) };
  }
  return { renewBefore: goDuration(window) };
}

function subjectOf(id: IdentitySpec): Record<string, string[]> | undefined {
  const s = id.subject;
  const fields: [string, string | undefined][] = [
    ["countries", s.country],
    ["provinces", s.state],
    ["localities", s.locality],
    ["organizations", s.organization],
    ["organizationalUnits", s.organizationalUnit],
  ];
  const out = Object.fromEntries(fields.filter(([, v]) => v !== undefined).map(([k, v]) => [k, [v!]]));
  return Object.keys(out).length ? out : undefined;
}

function certificateFor(id: IdentitySpec, issuerRef: Record<string, string>, namespace: string, note: (message: string) => void): KubernetesObject {
  const sans = sanFor(id);
  const of = (type: string) => sans.filter((n) => n.type === type).map((n) => n.value);
  const profile = profileFor(id.kind as "server" | "client", id.key);
  const formats: { type: "DER" | "CombinedPEM" }[] = [];
  if (id.formats.includes("der")) {
    formats.push({ type: "DER" });
    note("formats der: cert-manager's DER output is key.der in the Secret (the key only; there is no cert.der)");
  }
  if (id.formats.includes("combined")) {
    formats.push({ type: "CombinedPEM" });
    note("formats combined: cert-manager's tls-combined.pem holds the key first, then the certificate chain");
  }
  if (id.formats.includes("p12")) note("formats p12: not exported; add spec.keystores.pkcs12 with a passwordSecretRef to a Secret you create");
  if (id.passphraseEnv !== null) note(`passphraseEnv ${id.passphraseEnv}: cert-manager keeps keys unencrypted in the Secret; protect it with RBAC and encryption at rest`);
  if (id.afterChange !== null) note("afterChange: not exported; cert-manager updates the Secret in place, so reload the workload with something that watches Secrets");
  if (id.serve !== null) note(`serve (launch config): not exported; mount Secret ${kubernetesName(id.name, "-tls")} (tls.crt, tls.key, ca.crt) into the pod instead`);
  const commonName = id.subject.commonName.length <= MAX_COMMON_NAME ? id.subject.commonName : undefined;
  if (commonName === undefined) note(`commonName is longer than cert-manager's ${MAX_COMMON_NAME} characters: left out (the alt names identify it)`);
  let duration = id.validitySeconds;
  if (duration < MIN_DURATION_SECONDS) {
    note(`validity ${goDuration(duration)} is below cert-manager's minimum duration: exported as duration 1h0m0s`);
    duration = MIN_DURATION_SECONDS;
  }
  const spec: Record<string, unknown> = {
    secretName: kubernetesName(id.name, "-tls"),
    issuerRef,
    commonName,
    subject: subjectOf(id),
    dnsNames: of("dns"),
    ipAddresses: of("ip"),
    emailAddresses: of("email"),
    uris: of("uri"),
    duration: goDuration(duration),
    ...renewal(id, duration, note),
    privateKey: { ...PRIVATE_KEY[id.key], encoding: "PKCS8", rotationPolicy: id.rotateKey === "always" ? "Always" : "Never" },
    usages: [...profile.keyUsage, ...profile.extKeyUsage].map((u) => USAGE[u]),
    additionalOutputFormats: formats,
  };
  for (const [key, value] of Object.entries(spec)) if (value === undefined || (Array.isArray(value) && value.length === 0)) delete spec[key];
  return { apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: kubernetesName(id.name), namespace }, spec };
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** The documents for one CA; see the module comment. */
export function exportCertManager(config: Config, ca: IdentitySpec, material: CaMaterial, bundlePem: string, options: CertManagerOptions): CertManagerExport {
  const notes: ExportNote[] = [];
  const noteFor = (id: IdentitySpec) => (message: string) => notes.push({ identity: id.name, message });
  const path = issuerPath(config, ca);
  const root = path.at(-1) ?? ca;
  const rootPem = material.issuerCertPems.at(-1) ?? material.certPem;

  const secret = {
    namespace: options.clusterIssuer ? CLUSTER_RESOURCE_NAMESPACE : options.namespace,
    name: kubernetesName(ca.name, "-ca-key-pair"),
  };
  // tls.crt: the CA and the intermediates above it (cert-manager appends them to what it issues); ca.crt: the root.
  const documents: KubernetesObject[] = [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: secret,
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": b64(material.certPem + material.issuerCertPems.slice(0, -1).join("")),
        "tls.key": b64(material.keyPem),
        "ca.crt": b64(rootPem),
      },
    },
  ];
  const issuerKind = options.clusterIssuer ? "ClusterIssuer" : "Issuer";
  const issuerName = kubernetesName(ca.name);
  documents.push({
    apiVersion: "cert-manager.io/v1",
    kind: issuerKind,
    metadata: options.clusterIssuer ? { name: issuerName } : { name: issuerName, namespace: options.namespace },
    spec: { ca: { secretName: secret.name } },
  });

  const noteCa = noteFor(ca);
  noteCa(`renewing this CA stays with provision (cert-manager does not renew an Issuer's CA): after provision renews it, export and apply again`);
  for (const constrained of [ca, ...path].filter((c) => c.nameConstraints)) {
    noteFor(constrained)("nameConstraints: kept in the CA certificate, so clients still enforce them, but cert-manager does not check a Certificate's names against them before issuing");
  }
  if (ca.passphraseEnv !== null) noteCa(`passphraseEnv ${ca.passphraseEnv}: the key is encrypted on disk but decrypted in the Secret; protect it with RBAC and encryption at rest`);
  if (ca.afterChange !== null) noteCa("afterChange: not exported; after provision renews this CA, export and apply again");
  if (ca.issuer === null) noteCa("this is a root: its private key is in the output (--include-root-key)");

  const issuerRef = { name: issuerName, kind: issuerKind, group: "cert-manager.io" };
  const names = new Map<string, string>([[issuerName, ca.name]]);
  for (const id of config.identities) {
    if (id === ca) continue;
    if (id.kind === "ca") {
      noteFor(id)(id.issuer === null ? "root CA: stays with provision, offline; only its certificate goes into the Bundle" : `CA not exported (export it with --ca ${id.name})`);
      continue;
    }
    if (id.revoked) {
      noteFor(id)("revoked in pki.yaml: no Certificate is exported");
      continue;
    }
    if (id.issuer !== ca.name) {
      noteFor(id)(`issued by ${id.issuer}, not by ${ca.name}: not exported (export with --ca ${id.issuer})`);
      continue;
    }
    const name = kubernetesName(id.name);
    const clash = names.get(name);
    if (clash !== undefined) throw new ProvisionError("export-name", `"${id.name}" and "${clash}" both become the Kubernetes name ${name}`, { hint: "rename one of them in pki.yaml" });
    names.set(name, id.name);
    documents.push(certificateFor(id, issuerRef, options.namespace, noteFor(id)));
  }

  const roots = pemBlocks(bundlePem).filter((b) => b.label === "CERTIFICATE");
  if (!roots.length) throw new ProvisionError("not-provisioned", "ca-bundle.pem holds no certificate", { hint: "run provision first" });
  if (!roots.some((b) => b.pem.replace(/\s+/g, "") === rootPem.replace(/\s+/g, ""))) {
    throw new ProvisionError("export-stale", `ca-bundle.pem does not hold the current certificate of root ${root.name}`, { hint: "run provision, then export again" });
  }
  documents.push({
    apiVersion: "trust.cert-manager.io/v1alpha1",
    kind: "Bundle",
    metadata: { name: BUNDLE_NAME },
    spec: { sources: roots.map((b) => ({ inLine: b.pem })), target: { configMap: { key: BUNDLE_KEY } } },
  });
  // Grouped per identity, in pki.yaml's order (issuers first); a stable sort keeps each one's notes in order.
  const order = new Map(config.identities.map((id, index) => [id.name, index] as const));
  notes.sort((a, b) => order.get(a.identity)! - order.get(b.identity)!);
  return { documents, notes, secret };
}
