import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Config, IdentitySpec } from "../config/types.js";
import { fsError, ProvisionError } from "../errors.js";
import { issuerPath } from "../plan/compose.js";
import { bundlePath, identityPaths } from "../store/layout.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { decodePrivateKeyWithAny, encodePrivateKey, spkiOf } from "../x509/keys.js";
import type { CaMaterial } from "./cert-manager.js";

function read(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw fsError("read", `${what} (${file})`, error, missing ? { code: "not-provisioned", hint: "run provision first, then export" } : {});
  }
}

function certificate(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ProvisionError("unreadable", `${file} is not a readable certificate`, { hint: "run provision to repair it" });
  }
}

/**
 * Reads what the export of one CA needs: its certificate, the certificates above it and its key, decrypted
 * with its passphraseEnv when encrypted. Refuses files that do not fit together or have expired, since
 * cert-manager would only fail later, in the cluster.
 */
export function readCaMaterial(config: Config, ca: IdentitySpec, env: NodeJS.ProcessEnv, now: Date): { material: CaMaterial; bundlePem: string } {
  const paths = identityPaths(config.outputDir, "ca", ca.name);
  const chain = [ca, ...issuerPath(config, ca)].map((id) => {
    const file = identityPaths(config.outputDir, "ca", id.name).cert;
    const pem = read(file, `the certificate of CA ${id.name}`);
    return { id, file, pem, x509: certificate(pem, file) };
  });
  for (const [index, link] of chain.entries()) {
    if (Date.parse(link.x509.validTo) <= now.getTime()) {
      throw new ProvisionError("export-stale", `the certificate of CA ${link.id.name} expired on ${new Date(link.x509.validTo).toISOString()}`, { hint: "run provision to renew it, then export again" });
    }
    const issuer = chain[index + 1] ?? link;
    if (!link.x509.verify(issuer.x509.publicKey)) {
      throw new ProvisionError("export-stale", `the certificate of CA ${link.id.name} is not signed by ${issuer.id.name}'s current certificate`, { hint: "run provision, then export again" });
    }
  }
  const keyPem = read(paths.key, `the key of CA ${ca.name}`);
  const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(ca, undefined, env), { file: paths.key, passphraseEnv: ca.passphraseEnv });
  if (!spkiOf(key).equals(chain[0]!.x509.publicKey.export({ type: "spki", format: "der" }))) {
    throw new ProvisionError("export-stale", `${paths.key} does not belong to the certificate of CA ${ca.name}`, { hint: "run provision to see what is wrong" });
  }
  return {
    material: { certPem: chain[0]!.pem, issuerCertPems: chain.slice(1).map((c) => c.pem), keyPem: encodePrivateKey(key, null) },
    bundlePem: read(bundlePath(config.outputDir), "ca-bundle.pem"),
  };
}
