import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseConfig } from "../../src/config/parse.js";
import type { Config, IdentitySpec, KeyType } from "../../src/config/types.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { spkiOf } from "../../src/x509/keys.js";

/**
 * Small in-memory PKIs for the unit tests of src/x509: identities from pki.yaml text, keys made synchronously,
 * certificates issued by issue.ts. Anything a test asserts on about the module it targets must be computed in the
 * test body (Stryker activates a mutant only there), so these build only the scenery around it.
 */

export const NOW = new Date("2027-02-03T04:05:06Z");
export const LATER = new Date("2029-02-03T04:05:06Z");

export function configOf(yaml: string): Config {
  const { config, diagnostics } = parseConfig(yaml, "pki.yaml", { cwd: "/nonexistent/x509-test" });
  if (!config) throw new Error(diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join("\n"));
  return config;
}

export function keyOf(type: KeyType): KeyObject {
  if (type === "ecdsa-p256" || type === "ecdsa-p384") return generateKeyPairSync("ec", { namedCurve: type === "ecdsa-p256" ? "P-256" : "P-384" }).privateKey;
  return generateKeyPairSync("rsa", { modulusLength: Number(type.slice(4)) }).privateKey;
}

export interface Issued {
  identity: IdentitySpec;
  key: KeyObject;
  pem: string;
  der: Buffer;
  subjectKeyId: Buffer;
}

/** Issues `name` of `cfg` under `issuer` (or self-signed) with a fresh key of its type. */
export function issueOf(cfg: Config, name: string, issuer: Issued | null, options: { serial?: Buffer; crlUrl?: string } = {}): Issued {
  const identity = cfg.identities.find((i) => i.name === name)!;
  const key = keyOf(identity.key);
  const template = templateFor({
    identity,
    spki: spkiOf(key),
    serial: options.serial ?? serialFrom(Buffer.alloc(16, name.length)),
    notBefore: NOW,
    notAfter: LATER,
    issuer: issuer && { subject: issuer.identity.subject, keyType: issuer.identity.key, subjectKeyId: issuer.subjectKeyId, crlUrl: options.crlUrl ?? null },
  });
  const { pem, der } = signCertificate(template, issuer?.key ?? key);
  return { identity, key, pem, der, subjectKeyId: subjectKeyIdOf(spkiOf(key)) };
}

/** A fresh temporary folder with these files written into it; returns the folder. */
const made: string[] = [];
export function filesIn(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "provision-x509-"));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** Removes every folder filesIn made (call it in afterAll). */
export function removeFiles(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
