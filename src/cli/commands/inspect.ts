import path from "node:path";
import { subtreeText } from "../../config/name-constraints.js";
import { SUBJECT_FIELDS } from "../../config/types.js";
import { ProvisionError } from "../../errors.js";
import { inspectCertificate } from "../../x509/inspect.js";
import { pemBlocks } from "../../x509/pem.js";
import { readCrl } from "../../x509/crl.js";
import { MAX_READ_BYTES, readUserFile } from "../../store/guard.js";
import type { CliOptions } from "../args.js";
import { resolveNow } from "../now.js";
import { EXIT, type Io } from "../io.js";

/** `provision inspect <file.pem>`: a short summary of each certificate in a PEM file (or --json). */
export async function runInspect(options: CliOptions, io: Io): Promise<number> {
  const file = options.positionals[0];
  if (!file) throw new ProvisionError("usage", "missing file", { hint: "usage: provision inspect <cert.pem>" });
  const text = readUserFile(path.resolve(io.cwd, file), MAX_READ_BYTES, file);
  const blocks = pemBlocks(text).filter((b) => b.label === "CERTIFICATE");
  const crls = pemBlocks(text).filter((b) => b.label === "X509 CRL");
  if (blocks.length === 0 && crls.length > 0) return inspectCrls(crls.map((b) => b.pem), file, options, io);
  if (blocks.length === 0) {
    throw new ProvisionError("not-a-certificate", `${file} holds no PEM certificate`, { hint: /PRIVATE KEY/.test(text) ? "that is a private key; inspect its cert.pem" : undefined });
  }
  const now = resolveNow(options.now, () => new Date());
  const summaries = blocks.map((block) => {
    let parsed;
    try {
      parsed = inspectCertificate(block.pem);
    } catch {
      throw new ProvisionError("not-a-certificate", `${file}: a CERTIFICATE block that does not parse (truncated or corrupted?)`);
    }
    const { facts, x509, keyUsage } = parsed;
    return { ...facts, keyUsage, selfSigned: x509.checkIssued(x509), daysLeft: Math.floor((Date.parse(facts.notAfter) - now.getTime()) / 86_400_000) };
  });
  if (options.json) {
    io.stdout(`${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2)}\n`);
    return EXIT.ok;
  }
  const dn = (d: Record<string, string | undefined>) =>
    [...SUBJECT_FIELDS].reverse()
      .filter((k) => d[k])
      .map((k) => `${{ commonName: "CN", organizationalUnit: "OU", organization: "O", locality: "L", state: "ST", country: "C" }[k]}=${d[k]}`)
      .join(", ");
  const out = summaries.map((s, index) => {
    const lines = [
      `${blocks.length > 1 ? `[${index + 1}/${blocks.length}] ` : ""}${s.isCa ? "CA certificate" : "certificate"}${s.selfSigned ? " (self-signed)" : ""}`,
      `  subject      ${dn(s.subject)}`,
      `  issuer       ${dn(s.issuer)}`,
      `  names        ${s.altNames.map((n) => `${n.type.toUpperCase()}:${n.value}`).join(", ") || "-"}`,
      `  valid        ${s.notBefore} → ${s.notAfter} (${s.daysLeft < 0 ? `expired ${-s.daysLeft} days ago` : `${s.daysLeft} days left`})`,
      `  key          ${s.keyType ?? "other"}`,
      `  usage        ${[...s.keyUsage, ...s.extKeyUsage].join(", ") || "-"}`,
    ];
    if (s.isCa) lines.push(`  path length  ${s.pathLength ?? "unlimited"}`);
    if (s.nameConstraints) lines.push(`  constraints  permitted: ${s.nameConstraints.permitted.map(subtreeText).join(", ") || "-"}; excluded: ${s.nameConstraints.excluded.map(subtreeText).join(", ") || "-"}`);
    lines.push(`  serial       ${s.serial}`, `  sha256       ${s.fingerprint}`);
    return lines.join("\n");
  });
  io.stdout(`${out.join("\n\n")}\n`);
  return EXIT.ok;
}

/** `provision inspect crl.pem` (or crl-bundle.pem): issuer, number, thisUpdate/nextUpdate and the revoked entries of each CRL. */
function inspectCrls(pems: string[], file: string, options: CliOptions, io: Io): number {
  const now = resolveNow(options.now, () => new Date());
  const summaries = pems.map((pem) => {
    const crl = readCrl(pem);
    if (!crl) throw new ProvisionError("not-a-certificate", `${file}: an X509 CRL block that does not parse (truncated or corrupted?)`);
    const { tbsDer: _tbs, signature: _signature, issuerNameDer: _name, ...facts } = crl;
    return { ...facts, expired: crl.nextUpdate !== null && Date.parse(crl.nextUpdate) <= now.getTime() };
  });
  if (options.json) {
    io.stdout(`${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2)}\n`);
    return EXIT.ok;
  }
  const out = summaries.map((s, index) =>
    [
      `${pems.length > 1 ? `[${index + 1}/${pems.length}] ` : ""}CRL`,
      `  issuer       ${Object.entries(s.issuer).map(([k, v]) => `${k}=${v}`).join(", ")}`,
      `  number       ${s.number ?? "-"}`,
      `  valid        ${s.thisUpdate} → ${s.nextUpdate ?? "(no nextUpdate)"}${s.expired ? " (expired: verifiers refuse it)" : ""}`,
      `  revoked      ${s.entries.length ? "" : "none"}`,
      ...s.entries.map((e) => `    ${e.serial}  ${e.revokedAt}  ${e.reason}`),
    ].join("\n"),
  );
  io.stdout(`${out.join("\n\n")}\n`);
  return EXIT.ok;
}
