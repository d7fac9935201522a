import { Document } from "yaml";
import { ProvisionError } from "../errors.js";

/** One Kubernetes object as plain data, ready to serialise. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

// RFC 1123 as Kubernetes checks it: a DNS subdomain for object names (253), a DNS label for namespaces (63).
const LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const DNS_LABEL = new RegExp(`^${LABEL}$`);

/**
 * The Kubernetes object name for a pki.yaml name: lowercased, `_` as `-` (pki.yaml allows both, Kubernetes
 * neither). Throws when the result is still not an RFC 1123 subdomain, e.g. a name ending in `-` or `.`.
 */
export function kubernetesName(name: string, suffix = ""): string {
  const mapped = `${name.toLowerCase().replaceAll("_", "-")}${suffix}`;
  if (mapped.length <= 253 && SUBDOMAIN.test(mapped)) return mapped;
  throw new ProvisionError("export-name", `"${name}" cannot be a Kubernetes object name (${mapped}: RFC 1123 wants lowercase letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit)`, {
    hint: `rename it in pki.yaml, e.g. "${mapped.replace(/[^a-z0-9]+$/, "").replace(/^[^a-z0-9]+/, "") || "my-name"}"`,
  });
}

/** Checks a namespace name (an RFC 1123 label). */
export function checkNamespace(namespace: string): string {
  if (namespace.length <= 63 && DNS_LABEL.test(namespace)) return namespace;
  throw new ProvisionError("usage", `--namespace ${namespace}: not a Kubernetes namespace name`, {
    hint: "lowercase letters, digits and inner '-', at most 63 characters",
  });
}

/**
 * Multi-document YAML. Written as YAML 1.1, which quotes the strings 1.1 readers take for booleans or
 * numbers (country NO, "yes", "0700"): kubectl's YAML reader follows 1.1 there.
 */
export function renderDocuments(documents: readonly KubernetesObject[], header: string): string {
  return documents
    .map((object, index) => {
      const doc = new Document(object, { version: "1.1" });
      if (index === 0) doc.commentBefore = header;
      return doc.toString({ lineWidth: 0 });
    })
    .join("---\n");
}
