// Derives JSON Schemas from the CRDs cert-manager and trust-manager publish (deploy/crds/*.yaml), for the
// structural checker in test/export/k8s/. Run against local git clones of both projects:
//   node scripts/derive-crd-schemas.mjs <cert-manager.git> <ref> <trust-manager.git> <ref> > test/export/k8s/crd-schemas.json
// What Kubernetes enforces when it applies a document is kept: types, required fields, enums, patterns,
// bounds, and no unknown fields (structural schemas prune them; kubectl's strict field validation rejects
// them). The kubebuilder "exactly/at least one of" rules (CEL) become oneOf/anyOf; any other CEL rule stops
// the script, so nothing is dropped unnoticed. Descriptions and status (never written by clients) are left out.
import { execFileSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";

const [cmGit, cmRef, tmGit, tmRef] = process.argv.slice(2);
if (!tmRef) {
  console.error("usage: node scripts/derive-crd-schemas.mjs <cert-manager.git> <ref> <trust-manager.git> <ref>");
  process.exit(1);
}

const git = (dir, ...args) => execFileSync("git", ["--git-dir", dir, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });

const SOURCES = [
  { repo: "github.com/cert-manager/cert-manager", dir: cmGit, ref: cmRef, path: "deploy/crds/cert-manager.io_certificates.yaml" },
  { repo: "github.com/cert-manager/cert-manager", dir: cmGit, ref: cmRef, path: "deploy/crds/cert-manager.io_issuers.yaml" },
  { repo: "github.com/cert-manager/cert-manager", dir: cmGit, ref: cmRef, path: "deploy/crds/cert-manager.io_clusterissuers.yaml" },
  { repo: "github.com/cert-manager/trust-manager", dir: tmGit, ref: tmRef, path: "deploy/crds/trust.cert-manager.io_bundles.yaml" },
];

// Keywords that mean the same in OpenAPI v3 (as Kubernetes reads it) and JSON Schema.
const KEPT = new Set(["type", "required", "enum", "pattern", "maxLength", "minLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxItems", "minItems", "maxProperties", "minProperties"]);
// Documentation, defaults and server-side list merge hints: no bearing on whether a document is accepted.
const DROPPED = new Set(["description", "default", "x-kubernetes-map-type", "x-kubernetes-list-map-keys", "example"]);
const INT32 = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };

// kubebuilder's +kubebuilder:validation:ExactlyOneOf / AtLeastOneOf, and the one hand-written variant.
function translateRule(rule, where) {
  const text = rule.rule.replace(/\s+/g, " ").trim();
  let m = /^\[((?:has\(self\.\w+\),?)+)\]\.filter\(x,x==true\)\.size\(\) (==|>=) 1$/.exec(text);
  if (m) {
    const fields = [...m[1].matchAll(/has\(self\.(\w+)\)/g)].map((x) => x[1]);
    return { [m[2] === "==" ? "oneOf" : "anyOf"]: fields.map((f) => ({ required: [f] })) };
  }
  m = /^((?:\(has\(self\.\w+\) \? 1 : 0\)(?: \+ )?)+) == 1$/.exec(text);
  if (m) return { oneOf: [...m[1].matchAll(/has\(self\.(\w+)\)/g)].map((x) => ({ required: [x[1]] })) };
  throw new Error(`${where}: CEL rule not translated: ${text}`);
}

function convert(node, where) {
  const out = {};
  const rules = [];
  for (const [key, value] of Object.entries(node)) {
    if (KEPT.has(key)) out[key] = value;
    else if (DROPPED.has(key)) continue;
    else if (key === "properties") out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, `${where}.${k}`)]));
    else if (key === "anyOf" || key === "oneOf" || key === "allOf") out[key] = value.map((v, i) => convert(v, `${where}|${i}`));
    else if (key === "items") out.items = convert(value, `${where}[]`);
    else if (key === "additionalProperties") out.additionalProperties = typeof value === "boolean" ? value : convert(value, `${where}{}`);
    else if (key === "format") { if (value === "int32") Object.assign(out, INT32); }
    else if (key === "x-kubernetes-list-type") { if (value === "set") out.uniqueItems = true; }
    else if (key === "x-kubernetes-validations") rules.push(...value.map((r) => translateRule(r, where)));
    else if (key === "x-kubernetes-int-or-string" || key === "x-kubernetes-preserve-unknown-fields" || key === "nullable") continue;
    else throw new Error(`${where}: keyword ${key} not handled`);
  }
  if (node["x-kubernetes-int-or-string"] && !out.anyOf) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (out.type === "object" && !node["x-kubernetes-preserve-unknown-fields"] && out.additionalProperties === undefined) out.additionalProperties = false;
  if (node.nullable && out.type) out.type = [out.type, "null"];
  if (rules.length === 1 && !out.oneOf && !out.anyOf) Object.assign(out, rules[0]);
  else if (rules.length) out.allOf = [...(out.allOf ?? []), ...rules];
  return out;
}

const schemas = {};
const sources = [];
for (const source of SOURCES) {
  const commit = git(source.dir, "rev-parse", `${source.ref}^{commit}`).trim();
  const crd = parse(git(source.dir, "show", `${commit}:${source.path}`));
  const version = crd.spec.versions.find((v) => v.served && v.storage);
  const { group, names, scope } = crd.spec;
  const root = structuredClone(version.schema.openAPIV3Schema);
  delete root.properties.status;
  // The CRD says only `metadata: {type: object}`: the API server checks ObjectMeta itself (test/export/k8s/check.ts).
  delete root.properties.metadata;
  const schema = convert(root, names.kind);
  schema.properties.apiVersion = { const: `${group}/${version.name}` };
  schema.properties.kind = { const: names.kind };
  schema.required = [...new Set(["apiVersion", "kind", "metadata", ...(schema.required ?? [])])];
  schema.properties.metadata = { $ref: scope === "Namespaced" ? "#/$defs/namespacedMetadata" : "#/$defs/clusterMetadata" };
  schemas[`${group}/${version.name}/${names.kind}`] = schema;
  sources.push({ repo: source.repo, ref: source.ref, commit, path: source.path, kind: names.kind, version: version.name, scope });
}
// Issuer and ClusterIssuer share one spec (the same Go type); store it once.
const issuerSpec = schemas["cert-manager.io/v1/Issuer"].properties.spec;
if (!isDeepStrictEqual(issuerSpec, schemas["cert-manager.io/v1/ClusterIssuer"].properties.spec)) throw new Error("Issuer and ClusterIssuer specs differ");
schemas["cert-manager.io/v1/Issuer"].properties.spec = schemas["cert-manager.io/v1/ClusterIssuer"].properties.spec = { $ref: "#/$defs/issuerSpec" };

const out = {
  $comment:
    "Derived by scripts/derive-crd-schemas.mjs from the CRDs listed in `sources` (Apache-2.0, the cert-manager authors): descriptions and status left out, kubebuilder one-of rules as oneOf/anyOf, unknown fields refused. Do not edit; regenerate.",
  sources,
  $defs: { issuerSpec },
  schemas,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
