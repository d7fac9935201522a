import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Checks a whole output tree the way a careful user would after a crash: every PEM parses, every key
 * matches its certificate, every certificate verifies against its issuer's current certificate, and no
 * temp file is left. Returns the problems found (empty when the tree is sound).
 */
export function checkTree(out: string, issuerOf: (kind: string, name: string) => string | null, env: NodeJS.ProcessEnv = {}): string[] {
  const problems: string[] = [];
  const certs = new Map<string, X509Certificate>();
  for (const kind of ["cas", "servers", "clients"]) {
    let names: string[] = [];
    try { names = readdirSync(path.join(out, kind)); } catch { continue; }
    for (const name of names) {
      const dir = path.join(out, kind, name);
      for (const file of readdirSync(dir)) if (file.endsWith(".tmp")) problems.push(`${kind}/${name}/${file}: temp file left behind`);
      try {
        const cert = new X509Certificate(readFileSync(path.join(dir, "cert.pem")));
        const key = createPrivateKey({ key: readFileSync(path.join(dir, "key.pem")), passphrase: env.CA_PASSPHRASE });
        if (!cert.checkPrivateKey(key)) problems.push(`${kind}/${name}: key does not match cert`);
        certs.set(name, cert);
        if (kind !== "cas") {
          for (const file of ["chain.pem", "fullchain.pem"]) {
            const text = readFileSync(path.join(dir, file), "utf8");
            const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
            if (blocks.length === 0) problems.push(`${kind}/${name}/${file}: no certificate`);
            for (const block of blocks) new X509Certificate(block);
          }
        }
      } catch (error) {
        problems.push(`${kind}/${name}: ${(error as Error).message}`);
      }
    }
  }
  for (const [name, cert] of certs) {
    const kind = cert.ca ? "cas" : "servers";
    const issuer = certs.get(issuerOf(kind, name) ?? name);
    if (!issuer || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) problems.push(`${name}: not signed by its issuer's current certificate`);
  }
  for (const file of readdirSync(out)) if (file.endsWith(".tmp")) problems.push(`${file}: temp file left behind`);
  return problems;
}

export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}
