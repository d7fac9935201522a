import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { opensslVerify, type VerifyResult } from "./openssl.js";
import { requireTool } from "./require-tool.js";

/** GnuTLS's certtool: trust `cafile`, verify the leaf followed by its intermediates (`chainFile`). */
export async function certtoolVerify(cafile: string, chainFile: string): Promise<VerifyResult> {
  requireTool("certtool", "gnutls-bin");
  const result = await execa("certtool", ["--verify", "--load-ca-certificate", cafile, "--infile", chainFile], { reject: false });
  const output = `${result.stdout}\n${result.stderr}`;
  return { ok: result.exitCode === 0 && /Chain verification output: Verified/.test(output), output };
}

let goBinary: Promise<string> | undefined;

/** Builds test/helpers/go-verify once per test file (stdlib only: no network), in a private GOCACHE. */
function buildGoVerify(): Promise<string> {
  return (goBinary ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "provision-go-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const binary = path.join(dir, "go-verify");
    requireTool("go", "golang-go");
    await execa("go", ["build", "-o", binary, "."], {
      cwd: path.join(import.meta.dirname, "go-verify"),
      env: { GOCACHE: path.join(dir, "cache"), GOFLAGS: "-mod=mod", GOPATH: path.join(dir, "gopath"), GOTOOLCHAIN: "local" },
    });
    return binary;
  })());
}

/** Go's crypto/x509: `roots` trusted, `intermediates` offered, optionally at a unix time. */
export async function goVerify(roots: string, intermediates: string, leaf: string, atSeconds?: number): Promise<VerifyResult> {
  const binary = await buildGoVerify();
  const result = await execa(binary, [roots, intermediates, leaf, ...(atSeconds === undefined ? [] : [String(atSeconds)])], { reject: false });
  return { ok: result.exitCode === 0 && result.stdout.trim() === "OK", output: `${result.stdout}\n${result.stderr}` };
}

/** openssl verify -x509_strict with the bundle as trust and the intermediates untrusted. */
export function opensslChain(cafile: string, intermediates: string, leaf: string, extra: string[] = []): Promise<VerifyResult> {
  return opensslVerify(leaf, ["-CAfile", cafile, "-untrusted", intermediates, ...extra]);
}
