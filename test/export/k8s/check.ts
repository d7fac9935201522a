import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";

/**
 * A structural checker for Kubernetes documents, standing in for the API server (there is no cluster here):
 * cert-manager and trust-manager kinds against the JSON Schemas derived from their published CRDs
 * (crd-schemas.json, see README.md here), the core Secret against its v1 API fields, and ObjectMeta as the
 * API server checks it (RFC 1123 names; no namespace on cluster-scoped kinds).
 */

interface Derived {
  sources: { repo: string; ref: string; commit: string; path: string; kind: string }[];
  $defs: Record<string, unknown>;
  schemas: Record<string, Record<string, unknown>>;
}

export const DERIVED = JSON.parse(readFileSync(path.join(import.meta.dirname, "crd-schemas.json"), "utf8")) as Derived;

const LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const stringMap = { type: "object", additionalProperties: { type: "string" } };
// The ObjectMeta fields a client may set that these documents use; anything else is refused.
const metadata = (namespaced: boolean) => ({
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string", maxLength: 253, pattern: `^${LABEL}(\\.${LABEL})*$` },
    ...(namespaced ? { namespace: { type: "string", maxLength: 63, pattern: `^${LABEL}$` } } : {}),
    labels: stringMap,
    annotations: stringMap,
  },
});

// core/v1 Secret as the Kubernetes API reference gives it; a kubernetes.io/tls Secret must carry tls.crt and tls.key.
const SECRET = {
  type: "object",
  required: ["apiVersion", "kind", "metadata"],
  additionalProperties: false,
  properties: {
    apiVersion: { const: "v1" },
    kind: { const: "Secret" },
    metadata: { $ref: "#/$defs/namespacedMetadata" },
    type: { type: "string" },
    immutable: { type: "boolean" },
    data: { type: "object", additionalProperties: { type: "string", pattern: "^[A-Za-z0-9+/]*={0,2}$" }, propertyNames: { pattern: "^[-._a-zA-Z0-9]+$" } },
    stringData: { type: "object", additionalProperties: { type: "string" } },
  },
  if: { required: ["type"], properties: { type: { const: "kubernetes.io/tls" } } },
  then: { required: ["data"], properties: { data: { required: ["tls.crt", "tls.key"] } } },
};

// Unknown keywords are errors (strictSchema), so a schema keyword the derivation mistranslated cannot be ignored
// silently. strictTypes and strictRequired are off: OpenAPI puts `pattern` beside an int-or-string anyOf
// (Quantity), and the one-of rules list `required` fields in branches that do not redeclare them.
const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTuples: true, strictTypes: false, strictRequired: false });
const defs = { ...DERIVED.$defs, namespacedMetadata: metadata(true), clusterMetadata: metadata(false) };
const validators = new Map<string, ValidateFunction>(
  [...Object.entries(DERIVED.schemas), ["v1/Secret", SECRET] as const].map(([key, schema]) => [key, ajv.compile({ ...schema, $defs: defs })]),
);

export interface Finding {
  document: string;
  path: string;
  message: string;
}

function describeError(e: ErrorObject): string {
  if (e.keyword === "additionalProperties") return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === "enum") return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
  return e.message ?? e.keyword;
}

/** Every structural problem of the documents; an empty list means the API server would accept them. */
export function checkDocuments(documents: readonly unknown[]): Finding[] {
  const findings: Finding[] = [];
  for (const [index, doc] of documents.entries()) {
    const object = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
    const label = `#${index} ${String(object?.kind)} ${String(object?.metadata?.name)}`;
    const validate = validators.get(`${String(object?.apiVersion)}/${String(object?.kind)}`);
    if (!validate) {
      findings.push({ document: label, path: "", message: `no schema for ${String(object?.apiVersion)} ${String(object?.kind)}` });
      continue;
    }
    if (!validate(doc)) for (const e of validate.errors ?? []) findings.push({ document: label, path: e.instancePath, message: describeError(e) });
  }
  return findings;
}

/** Parses multi-document YAML as kubectl does for these documents: YAML 1.1 scalars ("NO" unquoted is false). */
export function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text, { version: "1.1" }).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join("; "));
    return d.toJS();
  });
}

const GO_UNITS = new Map([["ns", 1e-9], ["us", 1e-6], ["µs", 1e-6], ["ms", 1e-3], ["s", 1], ["m", 60], ["h", 3600]]);

/** Seconds of a Go duration string as time.ParseDuration reads it (what metav1.Duration accepts), or undefined. */
export function parseGoDuration(text: string): number | undefined {
  const body = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(text) ? text.replace(/^[-+]/, "") : text === "0" ? "0s" : undefined;
  if (body === undefined) return undefined;
  let seconds = 0;
  for (const m of body.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(m[1]) * GO_UNITS.get(m[2]!)!;
  return text.startsWith("-") ? -seconds : seconds;
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> };

/**
 * What cert-manager's webhook checks beyond the CRD schema (internal/apis/certmanager/validation/certificate.go
 * at the ref in crd-schemas.json), plus the references between the documents: each Certificate's issuerRef
 * names an issuer in the output, and each issuer's Secret is there in the namespace cert-manager reads it from.
 */
export function checkCertManagerRules(documents: readonly unknown[], clusterResourceNamespace = "cert-manager"): Finding[] {
  const docs = documents as Doc[];
  const findings: Finding[] = [];
  const find = (kind: string, name: string, namespace?: string) => docs.find((d) => d.kind === kind && d.metadata.name === name && d.metadata.namespace === namespace);
  for (const doc of docs) {
    const label = `${doc.kind} ${doc.metadata.name}`;
    const bad = (field: string, message: string) => findings.push({ document: label, path: field, message });
    if (doc.kind === "Issuer" || doc.kind === "ClusterIssuer") {
      const ns = doc.kind === "Issuer" ? doc.metadata.namespace : clusterResourceNamespace;
      const secret = find("Secret", doc.spec.ca.secretName, ns);
      if (!secret) bad("/spec/ca/secretName", `no Secret ${ns}/${doc.spec.ca.secretName} in the output`);
      else if (!secret.data?.["tls.crt"] || !secret.data["tls.key"]) bad("/spec/ca/secretName", "the Secret lacks tls.crt or tls.key");
    }
    if (doc.kind !== "Certificate") continue;
    const s = doc.spec;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s.secretName ?? "")) bad("/spec/secretName", "not a DNS subdomain");
    if (!["Issuer", "ClusterIssuer"].includes(s.issuerRef.kind) || s.issuerRef.group !== "cert-manager.io") bad("/spec/issuerRef", "not a cert-manager Issuer or ClusterIssuer");
    else if (!find(s.issuerRef.kind, s.issuerRef.name, s.issuerRef.kind === "Issuer" ? doc.metadata.namespace : undefined)) bad("/spec/issuerRef", `no ${s.issuerRef.kind} ${s.issuerRef.name} in the output`);
    if (!s.commonName && !s.dnsNames?.length && !s.uris?.length && !s.emailAddresses?.length && !s.ipAddresses?.length) bad("/spec", "needs commonName or an alt name");
    if ((s.commonName ?? "").length > 64) bad("/spec/commonName", "longer than 64");
    for (const ip of s.ipAddresses ?? []) if (isIP(ip) === 0) bad("/spec/ipAddresses", `invalid IP address ${ip}`);
    for (const email of s.emailAddresses ?? []) if (!/^[^@\s<>]+@[^@\s<>]+$/.test(email)) bad("/spec/emailAddresses", `invalid email address ${email}`);
    const duration = s.duration === undefined ? 90 * 86_400 : parseGoDuration(s.duration);
    if (duration === undefined) bad("/spec/duration", `not a Go duration: ${s.duration}`);
    else if (duration < 3600) bad("/spec/duration", "below the minimum 1h");
    if (s.renewBefore !== undefined && s.renewBeforePercentage !== undefined) bad("/spec", "renewBefore and renewBeforePercentage are mutually exclusive");
    if (s.renewBefore !== undefined) {
      const rb = parseGoDuration(s.renewBefore);
      if (rb === undefined) bad("/spec/renewBefore", `not a Go duration: ${s.renewBefore}`);
      else if (rb < 300 || (duration !== undefined && rb >= duration)) bad("/spec/renewBefore", "must be at least 5m and below the duration");
    }
    if (s.renewBeforePercentage !== undefined && duration !== undefined) {
      // As the webhook computes it (with 100 − pct).
      const rb = (duration * (100 - s.renewBeforePercentage)) / 100;
      if (rb < 300 || rb >= duration) bad("/spec/renewBeforePercentage", "out of range");
    }
    const { algorithm, size } = s.privateKey ?? {};
    if (algorithm === "RSA" && size !== undefined && (size < 2048 || size > 8192)) bad("/spec/privateKey/size", "RSA size out of range");
    if (algorithm === "ECDSA" && size !== undefined && ![256, 384, 521].includes(size)) bad("/spec/privateKey/size", "ECDSA size must be 256, 384 or 521");
    const formats = (s.additionalOutputFormats ?? []).map((f: { type: string }) => f.type);
    if (new Set(formats).size !== formats.length) bad("/spec/additionalOutputFormats", "duplicate type");
  }
  return findings;
}
