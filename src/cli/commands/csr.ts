import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../config/load.js";
import { classifyAltName, type AltName } from "../../config/alt-names.js";
import { parseDuration } from "../../config/duration.js";
import { constraintViolation } from "../../config/name-constraints.js";
import { sanFor } from "../../config/san.js";
import type { IdentitySpec } from "../../config/types.js";
import { realDeps } from "../../deps.js";
import { ProvisionError } from "../../errors.js";
import { issuerPath } from "../../plan/compose.js";
import { CLOCK_SKEW_SECONDS } from "../../x509/spec.js";
import { ensureDir, writeFilesAtomically } from "../../store/atomic-write.js";
import { identityPaths, MODES } from "../../store/layout.js";
import { passphraseCandidates, passphraseOf } from "../../store/passphrase.js";
import { readObservedState } from "../../store/read-state.js";
import { createCertificationRequest, readCertificationRequest } from "../../x509/csr.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../x509/issue.js";
import { decodePrivateKeyWithAny, encodePrivateKey, spkiOf } from "../../x509/keys.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";

function writeOut(options: CliOptions, io: Io, pem: string, what: string): void {
  if (options.out) {
    writeFileSync(path.resolve(io.cwd, options.out), pem, { mode: 0o644 });
    io.stderr(`wrote ${what} to ${options.out}\n`);
  } else io.stdout(pem);
}

/**
 * `provision csr <identity>`: a CSR for an identity of pki.yaml, signed with its local key. When the key
 * does not exist yet it is generated (and kept, 0600) first: the private key never leaves this machine.
 */
export async function runCsr(options: CliOptions, io: Io): Promise<number> {
  const name = options.positionals[0];
  if (!name) throw new ProvisionError("usage", "missing identity name", { hint: "usage: provision csr <identity> [--out req.pem]" });
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const id = config.identities.find((i) => i.name === name);
  if (!id) throw new ProvisionError("unknown-identity", `no identity named "${name}" in ${options.file}`);
  const deps = realDeps({ env: io.env, ...io.deps });
  const paths = identityPaths(config.outputDir, id.kind, id.name);
  let key;
  if (existsSync(paths.key)) {
    key = decodePrivateKeyWithAny(readFileSync(paths.key, "utf8"), passphraseCandidates(id, undefined, deps.env), { file: paths.key, passphraseEnv: id.passphraseEnv });
  } else {
    const passphrase = passphraseOf(id, deps.env);
    if (id.passphraseEnv !== null && passphrase === null) {
      throw new ProvisionError("passphrase-missing", `${id.passphraseEnv} is not set: it holds the passphrase for the key of ${id.name}`);
    }
    key = (await deps.generateKey(id.key)).privateKey;
    await ensureDir(config.outputDir, MODES.publicDir, { followSymlink: true });
    await ensureDir(paths.dir, MODES.keyDir);
    await writeFilesAtomically([{ path: paths.key, content: encodePrivateKey(key, passphrase), mode: MODES.key }]);
    io.stderr(`generated a new ${id.key} key in ${path.relative(io.cwd, paths.key)} (keep it; it never leaves this machine)\n`);
  }
  writeOut(options, io, createCertificationRequest(id.subject, sanFor(id), key, id.key), "the certificate request");
  return EXIT.ok;
}

/**
 * `provision sign --csr req.pem --issuer <ca> --profile server|client`: issues a certificate for a CSR
 * from someone else, with the SANs it asks for, after checking them against every CA on the issuer's path.
 */
export async function runSign(options: CliOptions, io: Io): Promise<number> {
  const usage = "provision sign --csr req.pem --issuer <ca> --profile server|client [--validity 90d] [--out cert.pem]";
  if (!options.csr || !options.issuer || !options.profile) throw new ProvisionError("usage", "sign needs --csr, --issuer and --profile", { hint: `usage: ${usage}` });
  if (options.profile !== "server" && options.profile !== "client") throw new ProvisionError("usage", `--profile ${options.profile}: expected server or client`);
  const validitySeconds = parseDuration(options.validity ?? "90d");
  if (validitySeconds === undefined) throw new ProvisionError("usage", `--validity ${options.validity}: expected a duration such as 90d`);

  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const issuer = config.identities.find((i) => i.name === options.issuer);
  if (issuer?.kind !== "ca") throw new ProvisionError("unknown-issuer", `no CA named "${options.issuer}" in ${options.file}`);
  const csrPem = readFileSync(path.resolve(io.cwd, options.csr), "utf8");
  const request = readCertificationRequest(csrPem, options.csr);

  const altNames: AltName[] = [];
  for (const requested of request.altNames) {
    const checked = classifyAltName(requested.value);
    if (!checked.ok || checked.name.type !== requested.type) throw new ProvisionError("bad-csr", `${options.csr}: requested name "${requested.value}" is not valid (${checked.ok ? "wrong type" : checked.message})`);
    altNames.push(checked.name);
  }
  const commonName = request.subject.commonName ?? altNames[0]?.value;
  if (!commonName) throw new ProvisionError("bad-csr", `${options.csr} names no subject and no alt names`);
  const spec: IdentitySpec = {
    ...issuer,
    name: commonName,
    kind: options.profile,
    issuer: issuer.name,
    subject: { ...request.subject, commonName },
    altNames,
    key: request.keyType,
    validitySeconds,
    pathLength: null,
    nameConstraints: null,
    serve: null,
    yamlPath: [],
  };
  if (options.profile === "server" && sanFor(spec).length === 0) throw new ProvisionError("bad-csr", `${options.csr}: a server certificate needs at least one alt name`);
  for (const ca of [issuer, ...issuerPath(config, issuer)]) {
    for (const name of sanFor(spec)) {
      const why = ca.nameConstraints && constraintViolation(name, ca.nameConstraints);
      if (why) throw new ProvisionError("outside-constraints", `"${name.value}" is outside the name constraints of CA ${ca.name}: ${why}`, { hint: "nothing was issued" });
    }
  }

  const deps = realDeps({ env: io.env, ...io.deps });
  const observed = await readObservedState(config, deps.env);
  const seen = observed.identities.get(issuer.name)!;
  if (!seen.cert || seen.keyPem === null) throw new ProvisionError("not-provisioned", `CA ${issuer.name} has no certificate or key yet`, { hint: "run provision first" });
  const now = options.now ?? deps.now();
  const notAfter = new Date(now.getTime() + validitySeconds * 1000);
  if (notAfter.getTime() > Date.parse(seen.cert.facts.notAfter)) {
    throw new ProvisionError("outlives-issuer", `a ${options.validity ?? "90d"} certificate would outlive CA ${issuer.name} (expires ${seen.cert.facts.notAfter})`, { hint: "use a shorter --validity, or renew the CA first" });
  }
  const signingKey = decodePrivateKeyWithAny(seen.keyPem, passphraseCandidates(issuer, observed.state.identities[issuer.name], deps.env), { file: identityPaths(config.outputDir, "ca", issuer.name).key, passphraseEnv: issuer.passphraseEnv });
  const template = templateFor({
    identity: spec,
    spki: request.spki,
    serial: serialFrom(deps.randomBytes(16)),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter,
    issuer: { subject: issuer.subject, keyType: issuer.key, subjectKeyId: subjectKeyIdOf(spkiOf(signingKey)) },
  });
  const { pem } = signCertificate(template, signingKey);
  writeOut(options, io, pem, `a ${options.profile} certificate for ${commonName}`);
  io.stderr(`its chain: ${path.relative(io.cwd, identityPaths(config.outputDir, "ca", issuer.name).cert)} and the issuers above it (see ca-bundle.pem)\n`);
  return EXIT.ok;
}
