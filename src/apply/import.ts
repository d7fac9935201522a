import { X509Certificate } from "node:crypto";
import { signsElsewhere } from "../config/external.js";
import type { Config } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { specDifferences } from "../plan/diff.js";
import { writeFilesAtomically } from "../store/atomic-write.js";
import { readOutputFile } from "../store/guard.js";
import type { ExternalCas } from "../store/external.js";
import { identityPaths, MODES } from "../store/layout.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { inspectCertificate } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, spkiOf } from "../x509/keys.js";
import { pemBlocks } from "../x509/pem.js";

/**
 * Takes in a certificate signed elsewhere for an identity whose issuer is an external CA without a key: it must
 * belong to the identity's key (the one `provision csr` made) and be signed by that CA, and must not have expired.
 * Only then is it written to the identity's cert.pem; a refused certificate is not written anywhere. Returns
 * where it went, and how it differs from pki.yaml (it is kept anyway: the plan then asks for a new one).
 */
export async function importCertificate(args: {
  config: Config;
  externals: ExternalCas;
  name: string;
  /** The file as the user named it, and its text. */
  source: string;
  text: string;
  env: NodeJS.ProcessEnv;
  now: Date;
}): Promise<{ certFile: string; differences: string[] }> {
  const { config, name, source } = args;
  const id = config.identities.find((i) => i.name === name);
  if (!id) throw new ProvisionError("unknown-identity", `no identity named "${name}" in ${config.file}`);
  const issuer = id.issuer === null ? undefined : config.identities.find((i) => i.name === id.issuer);
  const external = issuer ? args.externals.get(issuer.name) : undefined;
  if (!signsElsewhere(issuer) || !external) {
    throw new ProvisionError("usage", `${name} is issued by provision itself (issuer ${id.issuer ?? "none"}), so there is nothing to import`, {
      hint: "import is for identities whose issuer is an external CA without a key (pki.yaml `external:` with no key)",
    });
  }
  const block = pemBlocks(args.text).find((b) => b.label === "CERTIFICATE");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(block!.der);
  } catch {
    throw new ProvisionError("not-a-certificate", `${source} holds no PEM certificate that parses`);
  }
  const refuse = (why: string, hint?: string) => new ProvisionError("certificate-refused", `${source} is not accepted for ${name}: ${why}`, { hint: hint ?? "nothing was written" });

  const paths = identityPaths(config.outputDir, id.kind, id.name);
  const keyPem = readOutputFile(paths.key);
  if (keyPem === null) throw refuse(`there is no key at ${paths.key}`, `run provision csr ${name} first: the certificate must be made for the key it creates`);
  const key = decodePrivateKeyWithAny(keyPem, passphraseCandidates(id, undefined, args.env), { file: paths.key, passphraseEnv: id.passphraseEnv });
  if (!spkiOf(key).equals(cert.publicKey.export({ type: "spki", format: "der" }))) {
    throw refuse(`it is for another key than ${paths.key}`, `ask for a certificate for the request provision csr ${name} makes from that key; nothing was written`);
  }
  const ca = new X509Certificate(external.certPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    const oneLine = (name: string) => name.split("\n").join(", ");
    const why = cert.issuer === ca.subject ? `another CA of the same name (${oneLine(ca.subject)}) signed it, not the key of ${external.certFile}` : `it names ${oneLine(cert.issuer)} as its issuer, not ${oneLine(ca.subject)}`;
    throw refuse(`it is not signed by ${issuer!.name}: ${why}`, `ask the holder of ${issuer!.name}'s key to sign it (provision sign --issuer ${issuer!.name}); nothing was written`);
  }
  if (Date.parse(cert.validTo) <= args.now.getTime()) throw refuse(`it expired on ${new Date(cert.validTo).toISOString()}`);

  const differences = specDifferences(id, { subject: issuer!.subject, crlUrl: null }, inspectCertificate(block!.pem).facts, { validity: false });
  await writeFilesAtomically([{ path: paths.cert, content: block!.pem, mode: MODES.cert }]);
  return { certFile: paths.cert, differences };
}
