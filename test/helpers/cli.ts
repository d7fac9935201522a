import { appendFileSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { onTestFinished } from "vitest";
import { main } from "../../src/cli/main.js";
import type { Deps } from "../../src/deps.js";
import { OUTPUT_LOG } from "./output-log.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ROOT, "dist/cli/bin.js");

export { OUTPUT_LOG };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as knip's tests do: fast, and the same code path as the binary. */
export async function provision(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; deps?: Partial<Deps> }): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    deps: options.deps,
  });
  appendFileSync(OUTPUT_LOG, `${stdout}\n${stderr}\n`);
  return { code, stdout, stderr };
}

/** Runs the built binary in a child process (for exit codes, signals and concurrency). */
export async function provisionBin(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  const result = await execa("node", [BIN, ...args], { cwd: options.cwd, env: options.env, reject: false });
  appendFileSync(OUTPUT_LOG, `${result.stdout}\n${result.stderr}\n`);
  return { code: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A temp folder with a pki.yaml, removed when the test ends. */
export function project(yaml: string, files: Record<string, string> = {}): { dir: string; out: string; write: (yaml: string) => void } {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-test-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "pki.yaml"), yaml);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return { dir, out: path.join(dir, "pki"), write: (text) => writeFileSync(path.join(dir, "pki.yaml"), text) };
}

/** A small PKI in the bundled file's shape, fast to generate (ECDSA everywhere). */
export function squirrelsYaml(overrides: { serverAltNames?: string[]; intermediateValidity?: string; extra?: string } = {}): string {
  const alt = (overrides.serverAltNames ?? ["my-site.com", "localhost", "127.0.0.1", "::1", "*.squirrels.test"]).map((n) => JSON.stringify(n)).join(", ");
  return `version: 1
output: ./pki
defaults:
  key: ecdsa-p256
  validity: 90d
  subject: { country: US, state: Maryland, locality: Baltimore, organization: Secret Squirrels }
cas:
  root:
    commonName: Secret Squirrels Root CA
    validity: 10y
  intermediate:
    issuer: root
    commonName: Secret Squirrels Intermediate CA
    pathLength: 0
    validity: ${overrides.intermediateValidity ?? "2y"}
servers:
  secret-server:
    issuer: intermediate
    commonName: my-site.com
    altNames: [${alt}]
    validity: 30d
clients:
  alice:
    issuer: intermediate
    commonName: alice
    altNames: [alice@squirrels.test]
${overrides.extra ?? ""}`;
}
