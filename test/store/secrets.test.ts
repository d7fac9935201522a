import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { project, provision, provisionBin, squirrelsYaml } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";
import { ALL_TEST_SECRETS, TEST_SECRETS } from "../helpers/secrets.js";
import { publicKeysOf, verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

const TEST_PASSPHRASES = [TEST_SECRETS.primary, TEST_SECRETS.rotated];

const encryptedYaml = (variable = "CA_PASSPHRASE") =>
  squirrelsYaml().replace("    validity: 10y\n", `    validity: 10y\n    passphraseEnv: ${variable}\n`).replace("    validity: 2y\n", `    validity: 2y\n    passphraseEnv: ${variable}\n`);

describe("encrypted keys", () => {
  it("writes CA keys as encrypted PKCS#8 (AES-256-CBC, PBKDF2) that openssl reads with -passin env:", async () => {
    requireTool("openssl", "openssl");
    const p = project(encryptedYaml());
    const env = { CA_PASSPHRASE: TEST_PASSPHRASES[0] };
    const run = await provision([], { cwd: p.dir, env });
    expect(run.code, run.stderr).toBe(0);
    const keyFile = path.join(p.out, "cas/root/key.pem");
    expect(readFileSync(keyFile, "utf8")).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    const info = await execa("openssl", ["asn1parse", "-in", keyFile]);
    expect(info.stdout).toMatch(/PBES2/);
    expect(info.stdout).toMatch(/PBKDF2/);
    expect(info.stdout).toMatch(/aes-256-cbc/);
    const keys = await publicKeysOf(path.join(p.out, "cas/root/cert.pem"), keyFile, "env:CA_PASSPHRASE", env);
    expect(keys.fromKey).toBe(keys.fromCert);
    await expect(execa("openssl", ["pkey", "-in", keyFile, "-passin", "pass:wrong", "-noout"])).rejects.toThrow();
    expect(readFileSync(path.join(p.out, "servers/secret-server/key.pem"), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    // A no-op run needs no passphrase at all: nothing is signed.
    expect((await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: undefined } })).code).toBe(0);
  });

  it("a missing or wrong passphrase: clear error naming the variable, exit 1, nothing written", async () => {
    const p = project(encryptedYaml());
    const first = await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: undefined } });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/CA_PASSPHRASE is not set: it holds the passphrase for the key of root/);
    expect(snapshotTree(p.out)).toEqual({});

    expect((await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: TEST_PASSPHRASES[0] } })).code).toBe(0);
    p.write(encryptedYaml().replace("*.squirrels.test", "new.squirrels.test"));
    const before = snapshotTree(p.out);
    const missing = await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: undefined } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the key of intermediate is encrypted and CA_PASSPHRASE is not set or wrong/);
    expect(missing.stderr).toMatch(/hint: export CA_PASSPHRASE=<passphrase>/);
    const wrong = await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: TEST_SECRETS.wrong } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/CA_PASSPHRASE/);
    expect(snapshotTree(p.out)).toEqual(before);
    const plan = await provision(["plan"], { cwd: p.dir, env: { CA_PASSPHRASE: undefined } });
    expect(plan.code).toBe(1);
  });

  it("renaming passphraseEnv re-encrypts the same key under the new passphrase; certificates untouched", async () => {
    requireTool("openssl", "openssl");
    const p = project(encryptedYaml("CA_PASSPHRASE"));
    expect((await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: TEST_PASSPHRASES[0] } })).code).toBe(0);
    const keyFile = path.join(p.out, "cas/root/key.pem");
    const before = await publicKeysOf(path.join(p.out, "cas/root/cert.pem"), keyFile, `pass:${TEST_PASSPHRASES[0]}`);
    const certBefore = readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8");
    p.write(encryptedYaml("CA_PASSPHRASE_2027"));
    const plan = await provision(["plan"], { cwd: p.dir, env: { CA_PASSPHRASE: TEST_PASSPHRASES[0], CA_PASSPHRASE_2027: TEST_PASSPHRASES[1] } });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/refresh cas\/root\/key\.pem/);
    const run = await provision([], { cwd: p.dir, env: { CA_PASSPHRASE: TEST_PASSPHRASES[0], CA_PASSPHRASE_2027: TEST_PASSPHRASES[1] } });
    expect(run.code, run.stderr).toBe(0);
    const after = await publicKeysOf(path.join(p.out, "cas/root/cert.pem"), keyFile, `pass:${TEST_PASSPHRASES[1]}`);
    expect(after.fromKey).toBe(before.fromKey);
    await expect(execa("openssl", ["pkey", "-in", keyFile, "-passin", `pass:${TEST_PASSPHRASES[0]}`, "-noout"])).rejects.toThrow();
    expect(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8")).toBe(certBefore);
    // The old variable is no longer needed.
    p.write(encryptedYaml("CA_PASSPHRASE_2027").replace("*.squirrels.test", "x.squirrels.test"));
    const later = await provision([], { cwd: p.dir, env: { CA_PASSPHRASE_2027: TEST_PASSPHRASES[1], CA_PASSPHRASE: undefined } });
    expect(later.code, later.stderr).toBe(0);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "x.squirrels.test"])).ok).toBe(true);
  });
});

describe("unsafe paths", () => {
  it("refuses to write a key through a symlink", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const victim = path.join(p.dir, "victim.txt");
    writeFileSync(victim, "do not overwrite");
    const keyFile = path.join(p.out, "servers/secret-server/key.pem");
    const { rmSync } = await import("node:fs");
    rmSync(keyFile);
    symlinkSync(victim, keyFile);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to read .*key\.pem: it is a symlink/);
    expect(readFileSync(victim, "utf8")).toBe("do not overwrite");
  });

  it("follows a symlinked output folder, but refuses a symlinked folder inside it", async () => {
    const p = project(squirrelsYaml());
    const target = path.join(p.dir, "elsewhere");
    mkdirSync(target, { mode: 0o755 });
    symlinkSync(target, p.out);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect((await verifyLeaf(target, "servers", "secret-server", ["-verify_hostname", "localhost"])).ok).toBe(true);
    const { rmSync, renameSync } = await import("node:fs");
    renameSync(path.join(target, "clients/alice"), path.join(p.dir, "alice-real"));
    symlinkSync(path.join(p.dir, "alice-real"), path.join(target, "clients/alice"));
    rmSync(path.join(p.dir, "alice-real/key.pem"));
    const planted = await provision([], { cwd: p.dir });
    expect(planted.code).toBe(1);
    expect(planted.stderr).toMatch(/refusing to read .*clients\/alice: it is a symlink/);
  });

  it("refuses a key folder others can write to", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    chmodSync(path.join(p.out, "clients/alice"), 0o777);
    p.write(squirrelsYaml().replace("altNames: [alice@squirrels.test]", "altNames: [alice@squirrels.test, alice2@squirrels.test]"));
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/others can write to that folder/);
    expect(run.stderr).toMatch(/hint: run chmod go-w /);
  });

  it("a garbage state.json is reported and rebuilt from the files; nothing is re-issued", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const cert = readFileSync(path.join(p.out, "servers/secret-server/cert.pem"), "utf8");
    writeFileSync(path.join(p.out, "state.json"), "{ this is not json");
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/note: state\.json is not valid JSON .*; ignored, rebuilt from the files/);
    expect(run.stdout).not.toMatch(/reissue|create|renew/);
    expect(readFileSync(path.join(p.out, "servers/secret-server/cert.pem"), "utf8")).toBe(cert);
    expect(JSON.parse(readFileSync(path.join(p.out, "state.json"), "utf8")).version).toBe(1);
  });

  it("an unreadable CA key is an error that says what to do", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    writeFileSync(path.join(p.out, "cas/root/key.pem"), "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
    const run = await provisionBin([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: the key of CA root cannot be read/);
    expect(run.stderr).toMatch(/restore key\.pem from your backup, or run with --rotate-ca-key root/);
    mkdirSync(path.join(p.dir, "unused"), { recursive: true });
  });
});

describe("the secrets check knows every test passphrase", () => {
  it("every literal a test puts in a *PASS* environment variable is in test/helpers/secrets.ts", () => {
    const testRoot = path.join(import.meta.dirname, "..");
    const files = readdirSync(testRoot, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const literals = files.flatMap((file) =>
      [...readFileSync(path.join(testRoot, file), "utf8").matchAll(/\b[A-Z0-9_]*PASS[A-Z0-9_]*\s*:\s*["'`]([^"'`]+)["'`]/g)].map((m) => `${file}: ${m[1]}`),
    );
    expect(literals.filter((l) => !ALL_TEST_SECRETS.includes(l.slice(l.indexOf(": ") + 2)))).toEqual([]);
    expect(ALL_TEST_SECRETS.length).toBeGreaterThanOrEqual(7);
  });
});
