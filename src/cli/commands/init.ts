import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProvisionError, withFs } from "../../errors.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";

/** The installed package's folder (the clone when run from source), which ships pki.schema.json. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGE_NAME = "pki-provision";

/**
 * How a new pki.yaml in `dir` should reach the schema and the CLI. When `dir` is inside the project that holds
 * this package (installed with npm i -D, or this clone), `npx provision` finds the local bin and a relative path
 * into the package keeps working across upgrades. Anywhere else (npx's throwaway cache, a global install), a
 * path into the package would break when the cache is cleaned: point at the published, versioned schema, and
 * name the package for npx (a bare `npx provision` would fetch the unrelated npm package "provision").
 */
export function starterLinks(dir: string, packageRoot = PACKAGE_ROOT, version = packageVersion(packageRoot)): { schema: string; run: string } {
  const root = path.resolve(packageRoot);
  const project = path.basename(path.dirname(root)) === "node_modules" ? path.dirname(path.dirname(root)) : root;
  const inside = !path.relative(project, path.resolve(dir)).startsWith("..");
  if (inside) return { schema: path.relative(dir, path.join(root, "pki.schema.json")).split(path.sep).join("/"), run: "npx provision" };
  return { schema: `https://unpkg.com/${PACKAGE_NAME}@${version}/pki.schema.json`, run: `npx ${PACKAGE_NAME}` };
}

function packageVersion(packageRoot: string): string {
  return (JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}

/** The starter pki.yaml: a name-constrained development root, an intermediate, and a localhost server. */
export function starterYaml(schemaPath: string, owner: string, run = "npx provision"): string {
  return `# yaml-language-server: $schema=${schemaPath}
# Your private PKI. Edit this file, then run \`${run}\` to create or refresh everything under ./pki.
# Reference: https://www.npmjs.com/package/pki-provision (fields, commands, exit codes).
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
  const links = starterLinks(dir);
  withFs("write", path.relative(io.cwd, target), () => writeFileSync(target, starterYaml(links.schema, owner, links.run), { flag: "wx" }));
  const cd = path.resolve(io.cwd) === dir ? "" : `cd ${shellWord(path.relative(io.cwd, dir) || dir)} && `;
  io.stdout(`wrote ${path.relative(io.cwd, target) || target}\nnext: ${cd}${links.run}   (creates ./pki)\n`);
  return EXIT.ok;
}

/** Quotes a folder name for the printed `cd` when it holds anything a shell would split or expand. */
function shellWord(word: string): string {
  return /^[\w./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
