import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../config/load.js";
import { durationProblem, parseDuration } from "../../config/duration.js";
import { ProvisionError, withFs } from "../../errors.js";
import { signsElsewhere } from "../../config/external.js";
import { locateInFile } from "../../config/locate.js";
import { loadExternalCas } from "../../store/external.js";
import { requestCertificate } from "../../sign/request.js";
import { signRequestFile } from "../../sign/sign-request-file.js";
import { serialFrom } from "../../x509/issue.js";
import type { CliOptions } from "../args.js";
import { depsOf, EXIT, type Io } from "../io.js";
import { resolveNow } from "../now.js";

function writeOut(options: CliOptions, io: Io, pem: string, what: string): void {
  if (options.out) {
    const out = options.out;
    withFs("write", out, () => writeFileSync(path.resolve(io.cwd, out), pem, { mode: 0o644 }));
    io.stderr(`wrote ${what} to ${options.out}\n`);
  } else io.stdout(pem);
}

/**
 * `provision csr <identity>`: a CSR for an identity of pki.yaml (sign/request.ts), printed or written to --out.
 */
export async function runCsr(options: CliOptions, io: Io): Promise<number> {
  const name = options.positionals[0];
  if (!name) throw new ProvisionError("usage", "missing identity name", { hint: "usage: provision csr <identity> [--out req.pem]" });
  const { config: declared } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  // What an external CA's certificate forbids (its name constraints, say) is an error before any key is made.
  const { config } = loadExternalCas(declared);
  const { pem, key } = await requestCertificate(config, name, depsOf(io), { newKey: options.newKey, locate: locateInFile(config) });
  const where = path.relative(io.cwd, key.file);
  if (key.pending) {
    io.stderr(key.made
      ? `generated a new ${key.keyType} key for this renewal in ${where} (0600; it never leaves this machine): the key and certificate in use stay until provision import ${name} takes in the certificate signed for it\n`
      : `reused the pending ${key.keyType} key in ${where} (made by an earlier provision csr; --new-key replaces it)\n`);
  } else if (key.made) io.stderr(`generated a new ${key.keyType} key in ${where} (keep it; it never leaves this machine)\n`);
  writeOut(options, io, pem, "the certificate request");
  const id = config.identities.find((i) => i.name === name)!;
  const issuer = config.identities.find((i) => i.name === id.issuer);
  if (signsElsewhere(issuer)) {
    io.stderr(`next: have the holder of ${issuer!.name}'s key sign it (provision sign --csr … --issuer ${issuer!.name} --profile ${id.kind}), then run provision import ${id.name} <cert.pem>\n`);
  }
  return EXIT.ok;
}

/**
 * `provision sign --csr req.pem --issuer <ca> --profile server|client`: issues a certificate for a CSR
 * from someone else (sign/sign-request-file.ts loads the CA and the request, sign/sign-csr.ts checks and signs).
 */
export async function runSign(options: CliOptions, io: Io): Promise<number> {
  const usage = "provision sign --csr req.pem --issuer <ca> --profile server|client [--validity 90d] [--out cert.pem]";
  if (!options.csr || !options.issuer || !options.profile) throw new ProvisionError("usage", "sign needs --csr, --issuer and --profile", { hint: `usage: ${usage}` });
  if (options.profile !== "server" && options.profile !== "client") throw new ProvisionError("usage", `--profile ${options.profile}: expected server or client`);
  const validityProblem = durationProblem(options.validity ?? "90d");
  if (validityProblem) throw new ProvisionError("usage", `--validity ${options.validity}: ${validityProblem}`);
  const validitySeconds = parseDuration(options.validity ?? "90d")!;

  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const deps = depsOf(io);
  const { pem, spec, issuerCertFile } = signRequestFile(
    config,
    {
      issuer: options.issuer,
      csrFile: path.resolve(io.cwd, options.csr),
      source: options.csr,
      profile: options.profile,
      validitySeconds,
      now: resolveNow(options.now, deps.now),
      serial: serialFrom(deps.randomBytes(16)),
    },
    deps.env,
  );
  writeOut(options, io, pem, `a ${options.profile} certificate for ${spec.subject.commonName}`);
  io.stderr(`its chain: ${path.relative(io.cwd, issuerCertFile)} and the issuers above it (see ca-bundle.pem)\n`);
  return EXIT.ok;
}
