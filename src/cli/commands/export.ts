import path from "node:path";
import { loadConfig } from "../../config/load.js";
import { fsError, ProvisionError } from "../../errors.js";
import { chooseExportCa, exportCertManager } from "../../export/cert-manager.js";
import { checkNamespace, renderDocuments } from "../../export/kubernetes.js";
import { readCaMaterial } from "../../export/read-ca.js";
import { writeFilesAtomically } from "../../store/atomic-write.js";
import type { CliOptions } from "../args.js";
import { resolveNow } from "../now.js";
import { depsOf, EXIT, type Io } from "../io.js";

/** `provision export cert-manager`: pki.yaml in cert-manager's and trust-manager's terms, for kubectl apply. */
export async function runExport(options: CliOptions, io: Io): Promise<number> {
  const target = options.positionals[0];
  if (target !== "cert-manager" || options.positionals.length > 1) {
    throw new ProvisionError("usage", target === undefined ? "export what?" : `cannot export to "${options.positionals.join(" ")}"`, {
      hint: "usage: provision export cert-manager [-f pki.yaml] [--namespace NS] [--ca NAME] [--cluster-issuer] [--out FILE]",
    });
  }
  const namespace = checkNamespace(options.namespace ?? "default");
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const ca = chooseExportCa(config, options.ca, options.includeRootKey);
  const deps = depsOf(io);
  const { material, bundlePem } = readCaMaterial(config, ca, deps.env, resolveNow(options.now, deps.now));
  const result = exportCertManager(config, ca, material, bundlePem, { namespace, clusterIssuer: options.clusterIssuer });
  const yaml = renderDocuments(result.documents, ` provision export cert-manager: from ${options.file}, CA ${ca.name}.\n Holds the private key of CA ${ca.name}: apply it, do not commit it.`);

  for (const note of result.notes) io.stderr(`note: ${note.identity}: ${note.message}\n`);
  const where = `Secret ${result.secret.namespace}/${result.secret.name}`;
  if (options.out) {
    const file = path.resolve(io.cwd, options.out);
    await writeFilesAtomically([{ path: file, content: yaml, mode: 0o600 }]).catch((error: unknown) => {
      throw fsError("write", options.out!, error);
    });
    io.stderr(`wrote ${result.documents.length} documents to ${options.out} (mode 0600): it holds the private key of CA ${ca.name} (${where}); keep it out of git\n`);
  } else {
    io.stdout(yaml);
    io.stderr(`warning: the output holds the private key of CA ${ca.name} (${where}); keep it out of git\n`);
  }
  return EXIT.ok;
}
