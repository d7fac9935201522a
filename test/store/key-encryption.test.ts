import { createPrivateKey } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { project, provision, squirrelsYaml } from "../helpers/cli.js";
import { requirePythonModule, requireTool } from "../helpers/require-tool.js";

/** The PBES2 parameters of an encrypted PKCS#8 PEM, as openssl reads them. */
async function kdfOf(file: string): Promise<{ iterations: number; saltBytes: number; prf: string; cipher: string }> {
  const { stdout } = await execa("openssl", ["asn1parse", "-in", file]);
  const lines = stdout.split("\n");
  const pbkdf2 = lines.findIndex((l) => l.includes(":PBKDF2"));
  const salt = lines[pbkdf2 + 2]!;
  const iterations = lines[pbkdf2 + 3]!;
  return {
    saltBytes: Number(/l=\s*(\d+) prim: OCTET STRING/.exec(salt)![1]),
    iterations: Number.parseInt(/INTEGER\s+:([0-9A-F]+)/.exec(iterations)![1]!, 16),
    prf: /hmacWith\w+/.exec(stdout)?.[0] ?? "hmacWithSHA1",
    cipher: /aes-\d+-cbc/.exec(stdout)?.[0] ?? "?",
  };
}

const PW = "correct horse battery staple ✓";
const yaml = () => squirrelsYaml().replace("    validity: 10y", "    validity: 10y\n    passphraseEnv: ROOT_PW");

describe("key encryption (issue 11: cheap to brute-force no more)", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requirePythonModule("cryptography", "python3-cryptography"); });
  it("writes PBKDF2-HMAC-SHA256 at 600,000 iterations with a 16-byte salt and AES-256-CBC; openssl and Python read it", async () => {
    const p = project(yaml());
    const run = await provision([], { cwd: p.dir, env: { ROOT_PW: PW } });
    expect(run.code, run.stderr).toBe(0);
    const key = path.join(p.out, "cas/root/key.pem");
    expect(await kdfOf(key)).toEqual({ iterations: 600_000, saltBytes: 16, prf: "hmacWithSHA256", cipher: "aes-256-cbc" });
    await execa("openssl", ["pkey", "-in", key, "-passin", "env:ROOT_PW", "-noout"], { env: { ROOT_PW: PW } });
    const python = await execa("python3", ["-c", "import os,sys\nfrom cryptography.hazmat.primitives.serialization import load_pem_private_key\nk=load_pem_private_key(open(sys.argv[1],'rb').read(), os.environ['ROOT_PW'].encode())\nprint(k.curve.name)", key], { env: { ROOT_PW: PW } });
    expect(python.stdout).toBe("secp256r1");
    // The wrong passphrase is refused by both.
    await expect(execa("openssl", ["pkey", "-in", key, "-passin", "pass:wrong", "-noout"])).rejects.toThrow();
  }, 60_000);

  it("a key written by 0.1 (2,048 iterations) is re-encrypted, unchanged, on the next run that has the passphrase; until then a note", async () => {
    const p = project(yaml());
    expect((await provision([], { cwd: p.dir, env: { ROOT_PW: PW } })).code).toBe(0);
    const keyFile = path.join(p.out, "cas/root/key.pem");
    const certBefore = readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8");
    // What provision 0.1 wrote: node's KeyObject.export defaults.
    const material = createPrivateKey({ key: readFileSync(keyFile, "utf8"), passphrase: PW });
    writeFileSync(keyFile, material.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PW }), { mode: 0o600 });
    expect((await kdfOf(keyFile)).iterations).toBe(2048);

    const without = await provision([], { cwd: p.dir, env: { ROOT_PW: undefined } });
    expect(without.code, without.stderr).toBe(0);
    expect(without.stdout).toMatch(/note: the key of root is encrypted with an older, weaker scheme; it is re-encrypted on the next run with ROOT_PW set/);
    expect((await kdfOf(keyFile)).iterations).toBe(2048);

    const plan = await provision(["plan"], { cwd: p.dir, env: { ROOT_PW: PW } });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/refresh cas\/root\/key\.pem/);
    const run = await provision([], { cwd: p.dir, env: { ROOT_PW: PW } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/note: the key of root is re-encrypted with PBKDF2-HMAC-SHA256 at 600,000 iterations/);
    expect(await kdfOf(keyFile)).toMatchObject({ iterations: 600_000, saltBytes: 16 });
    const after = createPrivateKey({ key: readFileSync(keyFile, "utf8"), passphrase: PW });
    expect(after.export({ type: "pkcs8", format: "der" }).equals(material.export({ type: "pkcs8", format: "der" }))).toBe(true);
    expect(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8")).toBe(certBefore);
    // Done once: the next runs have nothing to do, and need no passphrase.
    expect((await provision(["plan"], { cwd: p.dir, env: { ROOT_PW: undefined } })).code).toBe(0);
  }, 60_000);

  it("key.der of an encrypted identity is PBES2 at 600,000 iterations too", async () => {
    const p = project(yaml().replace("    passphraseEnv: ROOT_PW", "    passphraseEnv: ROOT_PW\n    formats: [der]"));
    expect((await provision([], { cwd: p.dir, env: { ROOT_PW: PW } })).code).toBe(0);
    const der = readFileSync(path.join(p.out, "cas/root/key.der"));
    const pem = path.join(p.dir, "key-der.pem");
    writeFileSync(pem, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END ENCRYPTED PRIVATE KEY-----\n`);
    expect(await kdfOf(pem)).toMatchObject({ iterations: 600_000, saltBytes: 16, prf: "hmacWithSHA256" });
  }, 60_000);
});

describe("private files are 0600 after every run", () => {
  it("key.pem, key.der, identity.p12 and combined.pem chmod'ed open are closed again, and the run says so", async () => {
    const p = project(squirrelsYaml().replace("    altNames: [alice@squirrels.test]", "    altNames: [alice@squirrels.test]\n    formats: [der, p12, combined]"));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const files = ["key.pem", "key.der", "identity.p12", "combined.pem"].map((f) => path.join(p.out, "clients/alice", f));
    for (const file of files) chmodSync(file, 0o644);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    for (const file of files) {
      expect(run.stdout).toContain(`note: ${file} was readable by others (mode 0644); it is set back to 0600`);
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
    }
    const again = await provision(["plan"], { cwd: p.dir });
    expect(again.code, again.stdout).toBe(0);
  });
});

describe("a full disk", () => {
  it.skipIf(process.getuid?.() !== 0)("ENOSPC names the file and the cause, leaves no temp file, and the next run with space completes", async () => {
    const p = project(squirrelsYaml());
    mkdirSync(p.out);
    await execa("mount", ["-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", p.out]);
    onTestFinished(async () => void (await execa("umount", [p.out], { reject: false })));
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: cannot write .*pki\/.+: no space left on device \(ENOSPC\)\nhint: free some/);
    expect(run.stderr).not.toMatch(/This is a bug|\n\s+at /);
    const { stdout } = await execa("find", [p.out, "-name", "*.tmp"]);
    expect(stdout).toBe("");
    await execa("mount", ["-o", "remount,size=4m", p.out]);
    const retry = await provision([], { cwd: p.dir });
    expect(retry.code, retry.stderr).toBe(0);
  });
});
