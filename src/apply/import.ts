import { X509Certificate, type KeyObject } from "node:crypto";
import path from "node:path";
import { signsElsewhere } from "../config/external.js";
import type { Locate } from "../config/locate.js";
import type { Config } from "../config/types.js";
import { ProvisionError } from "../errors.js";
import { composeChain, composeFullchain, issuerPath } from "../plan/compose.js";
import { specDifferences } from "../plan/diff.js";
import { writeFilesAtomically, type FileWrite } from "../store/atomic-write.js";
import { recoverFolderSwaps } from "../store/folder-swap.js";
import { prepareFolder, prepareWholeFolder, readOutputFile } from "../store/guard.js";
import type { ExternalCas } from "../store/external.js";
import { formatFiles, identityPaths, kindDir, KINDS, lockPath, MODES } from "../store/layout.js";
import { acquireLock } from "../store/lock.js";
import { passphraseCandidates } from "../store/passphrase.js";
import { hasPendingKey, readPendingKey } from "../store/pending-key.js";
import { inspectCertificate } from "../x509/inspect.js";
import { decodePrivateKeyWithAny, spkiOf } from "../x509/keys.js";
import { pemBlocks } from "../x509/pem.js";

/**
 * Takes in a certificate signed elsewhere for an identity whose issuer is an external CA without a key. It must
 * belong to the identity's key.pem (a first request, or rotateKey: never) or to the pending key of a renewal
 * request (next-key.pem, store/pending-key.ts), be signed by that CA, and not have expired; a refused
 * certificate is not written anywhere. For the pending key, key.pem and cert.pem (with chain.pem and
 * fullchain.pem) are swapped in together as one folder (store/folder-swap.ts): a kill leaves the old pair or
 * the new pair, never the new certificate beside the old key. Files of `formats` are left out of that folder
 * (they hold the old pair); the run that follows import writes them again. Returns where the certificate went,
 * whether the key changed, and how it differs from pki.yaml (it is kept anyway: the plan then asks for a new one).
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
  locate?: Locate;
}): Promise<{ certFile: string; keyFile: string | null; differences: string[] }> {
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
  const shown = (file: string) => path.relative(config.baseDir, file) || file;
  const fits = (key: KeyObject) => spkiOf(key).equals(cert.publicKey.export({ type: "spki", format: "der" }));

  const lock = await acquireLock(lockPath(config.outputDir));
  try {
    // A run killed in the middle of a folder swap may have left this identity's folder aside.
    recoverFolderSwaps(config.outputDir, KINDS.map((kind) => kindDir(config.outputDir, kind)));
    const keyPem = readOutputFile(paths.key);
    if (keyPem === null) throw refuse(`there is no key at ${shown(paths.key)}`, `run provision csr ${name} first: the certificate must be made for the key it creates`);
    const current = decodePrivateKeyWithAny(keyPem, passphraseCandidates(id, undefined, args.env), { file: paths.key, passphraseEnv: id.passphraseEnv });
    const pendingThere = hasPendingKey(paths.nextKey);
    // The pending key is read (and checked) only when the certificate is not for the key in use.
    const pending = fits(current) || !pendingThere ? null : readPendingKey(paths.nextKey, shown(paths.nextKey), id, args.env, args.locate);
    if (!fits(current) && !(pending && fits(pending.key))) {
      const keys = pendingThere ? `${shown(paths.key)} (in use) and ${shown(paths.nextKey)} (the pending request's)` : shown(paths.key);
      throw refuse(`it is for another key than ${keys}`, `ask for a certificate for the request provision csr ${name} makes; nothing was written`);
    }
    const ca = new X509Certificate(external.certPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      const oneLine = (name: string) => name.split("\n").join(", ");
      const why = cert.issuer === ca.subject ? `another CA of the same name (${oneLine(ca.subject)}) signed it, not the key of ${external.certFile}` : `it names ${oneLine(cert.issuer)} as its issuer, not ${oneLine(ca.subject)}`;
      throw refuse(`it is not signed by ${issuer!.name}: ${why}`, `ask the holder of ${issuer!.name}'s key to sign it (provision sign --issuer ${issuer!.name}); nothing was written`);
    }
    if (Date.parse(cert.validTo) <= args.now.getTime()) throw refuse(`it expired on ${new Date(cert.validTo).toISOString()}`);

    const differences = specDifferences(id, { subject: issuer!.subject, crlUrl: null }, inspectCertificate(block!.pem).facts, { validity: false });
    const issuers = issuerPath(config, id);
    const certOf = (n: string) => (n === id.name ? block!.pem : args.externals.get(n)!.certPem);
    const upstreamOf = (n: string) => args.externals.get(n);
    const writes: FileWrite[] = [
      ...(pending ? [{ path: paths.key, content: pending.pem, mode: MODES.key }] : []),
      { path: paths.cert, content: block!.pem, mode: MODES.cert },
      { path: paths.chain, content: composeChain(issuers, certOf, upstreamOf), mode: MODES.cert },
      { path: paths.fullchain, content: composeFullchain(id, issuers, certOf, upstreamOf), mode: MODES.cert },
    ];
    if (pending) {
      // One folder swap: the pending key becomes key.pem with its certificate; format files of the old pair are
      // left out. (A certificate for the key in use leaves a pending request alone: its certificate may still come.)
      const dropped = [paths.nextKey, ...id.formats.flatMap((f) => formatFiles(paths, f))];
      prepareWholeFolder(config.outputDir, paths.dir, MODES.keyDir);
      await writeFilesAtomically(writes, [{ dir: paths.dir, mode: MODES.keyDir }], dropped);
    } else {
      prepareFolder(config.outputDir, paths.dir, MODES.keyDir);
      await writeFilesAtomically(writes);
    }
    return { certFile: paths.cert, keyFile: pending ? paths.key : null, differences };
  } finally {
    await lock.release();
  }
}
