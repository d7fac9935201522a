import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProvisionError, withFs } from "../../errors.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";

const SCHEMA = fileURLToPath(new URL("../../../pki.schema.json", import.meta.url));

/** The starter pki.yaml: a name-constrained development root, an intermediate, and a localhost server. */
export function starterYaml(schemaPath: string, owner: string): string {
  return `# yaml-language-server: $schema=${schemaPath}
# Your private PKI. Edit this file, then run \`provision\` to create or refresh everything under ./pki.
# Reference: the README of provision (fields, commands, exit codes).
version: 1
output: ./pki
defaults:
  key: ecdsa-p256          # ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-3072 | rsa-4096
  validity: 90d            # <n>h | <n>d | <n>w | <n>y
  subject: { organization: Development }
cas:
  root:
    commonName: Development Root CA (${owner})
    validity: 10y
    # Name constraints: this root can only vouch for local development names, so if its key ever leaked
    # it still could not impersonate a real site. Chrome, Firefox and OpenSSL enforce these on roots you
    # add yourself. To widen them, add DNS suffixes (.corp.example.test) or IP ranges (10.0.0.0/8);
    # to remove them, delete this block (then treat the root key like a real CA's).
    nameConstraints:
      permitted: [localhost, .localhost, .test, .internal, 127.0.0.0/8, "::1/128"]
  intermediate:
    issuer: root
    commonName: Development Intermediate CA (${owner})
    pathLength: 0
    validity: 2y
servers:
  localhost:
    issuer: intermediate
    altNames: [localhost, 127.0.0.1, "::1"]
    validity: 90d
    serve: { host: localhost, port: 8443 }
# clients:
#   me:
#     issuer: intermediate
#     altNames: [me@example.test]
`;
}

/** `provision init [--dir D]`: writes a starter pki.yaml; never overwrites one. */
export async function runInit(options: CliOptions, io: Io): Promise<number> {
  const dir = path.resolve(io.cwd, options.dir ?? ".");
  const target = path.join(dir, "pki.yaml");
  if (existsSync(target)) {
    throw new ProvisionError("exists", `${path.relative(io.cwd, target) || target} already exists; init never overwrites it`, {
      hint: "edit it, or run provision init --dir <another folder>",
    });
  }
  withFs("create", path.relative(io.cwd, dir) || dir, () => mkdirSync(dir, { recursive: true }));
  let owner: string;
  try {
    owner = `${userInfo().username}@${hostname()}`;
  } catch {
    owner = hostname();
  }
  withFs("write", path.relative(io.cwd, target), () => writeFileSync(target, starterYaml(path.relative(dir, SCHEMA), owner), { flag: "wx" }));
  io.stdout(`wrote ${path.relative(io.cwd, target) || target}\nnext: ${options.dir ? `cd ${options.dir} && ` : ""}provision   (creates ./pki)\n`);
  return EXIT.ok;
}
