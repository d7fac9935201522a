import { execa } from "execa";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireTool } from "./require-tool.js";

export interface VerifyResult {
  ok: boolean;
  output: string;
}

/** `openssl verify -x509_strict` with the given extra arguments; ok only when openssl says so. */
export async function opensslVerify(cert: string, args: string[]): Promise<VerifyResult> {
  requireTool("openssl", "openssl");
  const result = await execa("openssl", ["verify", "-x509_strict", ...args, cert], { reject: false });
  const output = `${result.stdout}\n${result.stderr}`;
  return { ok: result.exitCode === 0 && result.stdout.includes(": OK"), output };
}

/** Verifies a leaf the way the issue asks: bundle as trust, chain as untrusted intermediates. */
export function verifyLeaf(out: string, kind: "servers" | "clients", name: string, extra: string[] = []): Promise<VerifyResult> {
  const dir = path.join(out, kind, name);
  return opensslVerify(path.join(dir, "cert.pem"), [
    "-purpose", kind === "servers" ? "sslserver" : "sslclient",
    "-CAfile", path.join(out, "ca-bundle.pem"),
    "-untrusted", path.join(dir, "chain.pem"),
    ...extra,
  ]);
}

/** The public key of a certificate and of a private key, as openssl prints them. */
export async function publicKeysOf(certFile: string, keyFile: string, passin?: string, env?: NodeJS.ProcessEnv): Promise<{ fromCert: string; fromKey: string }> {
  requireTool("openssl", "openssl");
  const fromCert = (await execa("openssl", ["x509", "-in", certFile, "-noout", "-pubkey"])).stdout;
  const fromKey = (await execa("openssl", ["pkey", "-in", keyFile, "-pubout", ...(passin ? ["-passin", passin] : [])], { env })).stdout;
  return { fromCert, fromKey };
}

export async function certText(certFile: string): Promise<string> {
  requireTool("openssl", "openssl");
  return (await execa("openssl", ["x509", "-in", certFile, "-noout", "-text"])).stdout;
}

/**
 * An empty CRL signed by the given CA, made by `openssl ca -gencrl` (for tests that need a CRL file
 * before or without provision writing one).
 */
export async function makeEmptyCrl(caCert: string, caKey: string, out: string): Promise<void> {
  requireTool("openssl", "openssl");
  const dir = mkdtempSync(path.join(tmpdir(), "provision-crl-"));
  try {
    writeFileSync(path.join(dir, "index.txt"), "");
    writeFileSync(path.join(dir, "ca.cnf"), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${path.join(dir, "index.txt")}\ndefault_md = sha256\ndefault_crl_days = 1\n`);
    await execa("openssl", ["ca", "-gencrl", "-batch", "-config", path.join(dir, "ca.cnf"), "-keyfile", caKey, "-cert", caCert, "-out", out]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * openssl run synchronously, for in-process unit tests that judge what src/x509 encodes (a mutant is active only
 * inside the test body, so the judging happens there too): ok is the exit status, out is stdout and stderr.
 */
export function opensslSync(args: string[], input?: string | Buffer): { ok: boolean; out: string; stdout: Buffer } {
  requireTool("openssl", "openssl");
  const result = spawnSync("openssl", args, { input, maxBuffer: 16 << 20 });
  return { ok: result.status === 0, out: `${result.stdout?.toString("utf8") ?? ""}${result.stderr?.toString("utf8") ?? ""}`, stdout: result.stdout ?? Buffer.alloc(0) };
}
