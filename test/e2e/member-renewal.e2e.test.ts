import { X509Certificate, createPrivateKey, generateKeyPairSync } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BIN, project, provisionBin, ROOT } from "../helpers/cli.js";
import { opensslVerify, publicKeysOf, verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { spawnLogged } from "../helpers/spawn.js";
import { httpsGet, startHttpsServer } from "../helpers/tls.js";

/**
 * A team member renews a certificate under the admin's intermediate (an external CA without its key), with the
 * built CLI: `provision csr` makes a fresh key for the renewal in next-key.pem while key.pem and cert.pem stay
 * in use, and `provision import` swaps the new key and certificate in together, as one folder.
 */

const ADMIN_ENV = { TEAM_CA_PASSPHRASE: TEST_SECRETS.teamAdmin };
const read = (file: string) => readFileSync(file, "utf8");
const withSchema = (yaml: string) => yaml.replace(/\$schema=[^\n]+/, `$schema=${ROOT}/pki.schema.json`);
const memberYaml = withSchema(read(path.join(ROOT, "examples/team/member/pki.yaml")));
const KILL_AT = path.join(import.meta.dirname, "../helpers/kill-at.mjs");

/** The member's environment: never the admin's passphrase, its own config cache. */
const memberEnv = (dir: string) => ({ ...process.env, TEAM_CA_PASSPHRASE: undefined, XDG_CACHE_HOME: path.join(dir, ".cache") });

async function teamAdmin() {
  const admin = project(withSchema(read(path.join(ROOT, "examples/team/pki.yaml"))));
  const run = await provisionBin([], { cwd: admin.dir, env: { ...process.env, ...ADMIN_ENV, XDG_CACHE_HOME: path.join(admin.dir, ".cache") } });
  expect(run.code, run.stderr).toBe(0);
  return admin;
}

function memberOf(admin: { out: string }, yaml = memberYaml) {
  const member = project(yaml);
  mkdirSync(path.join(member.dir, "team-ca"));
  copyFileSync(path.join(admin.out, "cas/intermediate/cert.pem"), path.join(member.dir, "team-ca/intermediate.pem"));
  copyFileSync(path.join(admin.out, "ca-bundle.pem"), path.join(member.dir, "team-ca/ca-bundle.pem"));
  return member;
}

/** The member runs a command with the built CLI. */
const member$ = (member: { dir: string }, args: string[]) => provisionBin(args, { cwd: member.dir, env: memberEnv(member.dir) });

/** The admin signs a request file with the built CLI; returns the certificate file. */
async function signFor(admin: { dir: string }, csrFile: string, out: string): Promise<string> {
  copyFileSync(csrFile, path.join(admin.dir, `${out}.csr`));
  const signed = await provisionBin(["sign", "--csr", `${out}.csr`, "--issuer", "intermediate", "--profile", "server", "--out", `${out}.pem`], {
    cwd: admin.dir,
    env: { ...process.env, ...ADMIN_ENV, XDG_CACHE_HOME: path.join(admin.dir, ".cache") },
  });
  expect(signed.code, signed.stderr).toBe(0);
  return path.join(admin.dir, `${out}.pem`);
}

/** Every file of a folder with its bytes and mode: "nothing changed" is this being equal before and after. */
function folderState(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const info = lstatSync(path.join(dir, name));
    out.set(name, `${(info.mode & 0o777).toString(8)} ${info.isSymbolicLink() ? "link" : readFileSync(path.join(dir, name)).toString("base64")}`);
  }
  return out;
}

/** Whether a key file is the key of a certificate file. */
const pairs = (certFile: string, keyFile: string) => new X509Certificate(readFileSync(certFile)).checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
const requestPublicKey = async (csrFile: string) => (await execa("openssl", ["req", "-in", csrFile, "-noout", "-pubkey"])).stdout;

/** Admin, member, and the member's api certificate issued once (first request, imported). */
async function memberWithApi() {
  const admin = await teamAdmin();
  const member = memberOf(admin);
  expect((await member$(member, ["csr", "api", "--out", "api.csr"])).code).toBe(0);
  const first = await signFor(admin, path.join(member.dir, "api.csr"), "api-1");
  const imported = await member$(member, ["import", "api", first]);
  expect(imported.code, imported.stderr).toBe(0);
  return { admin, member, api: path.join(member.out, "servers/api") };
}

describe("a member renews under an external CA without its key: a fresh key, swapped in with its certificate", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });

  it("csr makes next-key.pem and leaves the pair in use; a second csr reuses it; import swaps both; openssl and TLS agree", async () => {
    const { admin, member, api } = await memberWithApi();
    const oldKey = read(path.join(api, "key.pem"));
    const oldCert = read(path.join(api, "cert.pem"));

    const renew = await member$(member, ["csr", "api", "--out", "renew.csr"]);
    expect(renew.code, renew.stderr).toBe(0);
    expect(renew.stderr).toContain("generated a new ecdsa-p256 key for this renewal in pki/servers/api/next-key.pem");
    const next = path.join(api, "next-key.pem");
    expect(lstatSync(next).mode & 0o777).toBe(0o600);
    // A fresh key, not the one in use: the request carries its public key.
    const oldPub = (await publicKeysOf(path.join(api, "cert.pem"), path.join(api, "key.pem"))).fromKey;
    const nextPub = (await publicKeysOf(path.join(api, "cert.pem"), next)).fromKey;
    expect(nextPub).not.toBe(oldPub);
    expect(await requestPublicKey(path.join(member.dir, "renew.csr"))).toBe(nextPub);
    // The pair in use is untouched and still a pair; the server keeps running on it.
    expect(read(path.join(api, "key.pem"))).toBe(oldKey);
    expect(read(path.join(api, "cert.pem"))).toBe(oldCert);
    expect(pairs(path.join(api, "cert.pem"), path.join(api, "key.pem"))).toBe(true);
    expect((await verifyLeaf(member.out, "servers", "api", ["-verify_hostname", "api.team.test"])).ok).toBe(true);

    // Sending the request again: the same pending key, so either request's certificate fits.
    const again = await member$(member, ["csr", "api", "--out", "again.csr"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("reused the pending ecdsa-p256 key in pki/servers/api/next-key.pem");
    expect(await requestPublicKey(path.join(member.dir, "again.csr"))).toBe(nextPub);

    // plan and status say a request is pending.
    const plan = await member$(member, ["plan"]);
    expect(plan.stdout).toMatch(/api\s+server\s+unchanged\s+request pending \(its key: servers\/api\/next-key\.pem\)/);
    const status = await member$(member, ["status"]);
    expect(status.stdout).toContain("api: request pending (its key: servers/api/next-key.pem): have the holder of intermediate's key sign the request");

    const renewed = await signFor(admin, path.join(member.dir, "again.csr"), "api-2");
    const imported = await member$(member, ["import", "api", renewed]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain("with the pending key of its request as pki/servers/api/key.pem (swapped in together)");
    expect(existsSync(next)).toBe(false);
    expect(read(path.join(api, "cert.pem"))).toBe(read(renewed));
    expect(read(path.join(api, "key.pem"))).not.toBe(oldKey);
    expect(lstatSync(path.join(api, "key.pem")).mode & 0o777).toBe(0o600);
    const { fromCert, fromKey } = await publicKeysOf(path.join(api, "cert.pem"), path.join(api, "key.pem"));
    expect(fromCert).toBe(fromKey);
    expect(fromKey).toBe(nextPub);
    const strict = await opensslVerify(path.join(api, "cert.pem"), ["-purpose", "sslserver", "-CAfile", path.join(member.out, "ca-bundle.pem"), "-untrusted", path.join(api, "chain.pem"), "-verify_hostname", "api.team.test"]);
    expect(strict.ok, strict.output).toBe(true);
    expect(read(path.join(api, "fullchain.pem")).startsWith(read(path.join(api, "cert.pem")))).toBe(true);
    const port = await startHttpsServer(api);
    expect(await httpsGet({ port, servername: "api.team.test", caFile: path.join(member.out, "ca-bundle.pem") })).toBe("fluffy tail");
    const after = await member$(member, ["plan"]);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).not.toContain("request pending");
  });

  it("the twin: a certificate signed for some other key is refused, and nothing changes", async () => {
    const { admin, member, api } = await memberWithApi();
    expect((await member$(member, ["csr", "api", "--out", "renew.csr"])).code).toBe(0);
    // A request from another machine's key, signed by the right CA for the right names.
    const other = project(memberYaml);
    mkdirSync(path.join(other.dir, "team-ca"));
    cpSync(path.join(member.dir, "team-ca"), path.join(other.dir, "team-ca"), { recursive: true });
    expect((await member$(other, ["csr", "api", "--out", "other.csr"])).code).toBe(0);
    const foreign = await signFor(admin, path.join(other.dir, "other.csr"), "foreign");
    const before = folderState(api);

    const refused = await member$(member, ["import", "api", foreign]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not accepted for api: it is for another key than pki/servers/api/key.pem (in use) and pki/servers/api/next-key.pem (the pending request's)");
    expect(folderState(api)).toEqual(before);
    expect(pairs(path.join(api, "cert.pem"), path.join(api, "key.pem"))).toBe(true);
  });

  it("rotateKey: never keeps key.pem: no pending key, and the renewed certificate fits the key in use", async () => {
    const admin = await teamAdmin();
    const member = memberOf(admin, memberYaml.replace("altNames: [api.team.test, localhost, 127.0.0.1]", "altNames: [api.team.test, localhost, 127.0.0.1]\n    rotateKey: never"));
    const api = path.join(member.out, "servers/api");
    expect((await member$(member, ["csr", "api", "--out", "api.csr"])).code).toBe(0);
    expect((await member$(member, ["import", "api", await signFor(admin, path.join(member.dir, "api.csr"), "first")])).code).toBe(0);
    const key = read(path.join(api, "key.pem"));
    const renew = await member$(member, ["csr", "api", "--out", "renew.csr"]);
    expect(renew.code, renew.stderr).toBe(0);
    expect(existsSync(path.join(api, "next-key.pem"))).toBe(false);
    expect(await requestPublicKey(path.join(member.dir, "renew.csr"))).toBe((await publicKeysOf(path.join(api, "cert.pem"), path.join(api, "key.pem"))).fromKey);
    const renewed = await signFor(admin, path.join(member.dir, "renew.csr"), "second");
    expect((await member$(member, ["import", "api", renewed])).code).toBe(0);
    expect(read(path.join(api, "key.pem"))).toBe(key);
    expect(read(path.join(api, "cert.pem"))).toBe(read(renewed));
    expect((await verifyLeaf(member.out, "servers", "api")).ok).toBe(true);
  });
});

describe("the pending key is read back as hostile input: located error, nothing written", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });

  it("a symlink, a key others can read, a file that is not a key, a key of another type: csr and import refuse, with the file named", async () => {
    const { admin, member, api } = await memberWithApi();
    expect((await member$(member, ["csr", "api", "--out", "renew.csr"])).code).toBe(0);
    const renewed = await signFor(admin, path.join(member.dir, "renew.csr"), "renewed");
    const next = path.join(api, "next-key.pem");
    const good = readFileSync(next);
    const elsewhere = path.join(member.dir, "elsewhere-key.pem");
    writeFileSync(elsewhere, good, { mode: 0o600 });

    const cases: { what: string; make: () => void; message: RegExp }[] = [
      { what: "symlink", make: () => symlinkSync(elsewhere, next), message: /the pending key pki\/servers\/api\/next-key\.pem is a symlink/ },
      { what: "mode 0644", make: () => { writeFileSync(next, good); chmodSync(next, 0o644); }, message: /the pending key pki\/servers\/api\/next-key\.pem is readable or writable by others \(mode 0644\)/ },
      { what: "not a key", make: () => writeFileSync(next, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", { mode: 0o600 }), message: /the pending key pki\/servers\/api\/next-key\.pem is not a private key provision can read/ },
      {
        what: "another key type",
        make: () => writeFileSync(next, createPrivateKeyPem("ec", "secp384r1"), { mode: 0o600 }),
        message: /the pending key pki\/servers\/api\/next-key\.pem is an ecdsa-p384 key, and pki\.yaml asks for ecdsa-p256 for api/,
      },
    ];
    for (const c of cases) {
      rmSync(next, { force: true });
      c.make();
      const before = folderState(api);
      rmSync(path.join(member.dir, "out.csr"), { force: true });
      const csr = await member$(member, ["csr", "api", "--out", "out.csr"]);
      expect(csr.code, c.what).toBe(1);
      expect(csr.stderr, c.what).toMatch(c.message);
      expect(csr.stderr, c.what).toMatch(/^error: /m);
      expect(existsSync(path.join(member.dir, "out.csr")), c.what).toBe(false);
      expect(folderState(api), c.what).toEqual(before);
      // import reads it only for a certificate that is not for the key in use: this one is the pending request's.
      const imported = await member$(member, ["import", "api", renewed]);
      expect(imported.code, c.what).toBe(1);
      expect(imported.stderr, c.what).toMatch(c.message);
      expect(folderState(api), c.what).toEqual(before);
      expect(pairs(path.join(api, "cert.pem"), path.join(api, "key.pem")), c.what).toBe(true);
    }

    // The twin: the genuine pending key back in place, import takes the certificate in.
    rmSync(next, { force: true });
    writeFileSync(next, good, { mode: 0o600 });
    const ok = await member$(member, ["import", "api", renewed]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(pairs(path.join(api, "cert.pem"), path.join(api, "key.pem"))).toBe(true);
  });

  it("pki.yaml's key type changed since csr: located at key:, and --new-key makes a request with a fresh key of the new type", async () => {
    const { member, api } = await memberWithApi();
    expect((await member$(member, ["csr", "api", "--out", "renew.csr"])).code).toBe(0);
    const yaml = read(path.join(member.dir, "pki.yaml")).replace("altNames: [api.team.test, localhost, 127.0.0.1]", "altNames: [api.team.test, localhost, 127.0.0.1]\n    key: ecdsa-p384");
    member.write(yaml);
    const keyLine = yaml.split("\n").findIndex((l) => l.includes("key: ecdsa-p384")) + 1;
    const refused = await member$(member, ["csr", "api", "--out", "p384.csr"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`pki.yaml:${keyLine}:10 servers.api.key: key: ecdsa-p384, but the pending key pki/servers/api/next-key.pem is ecdsa-p256`);
    expect(refused.stderr).toContain("hint: pki.yaml's key type changed since provision csr made it: run provision csr api --new-key");

    const fresh = await member$(member, ["csr", "api", "--new-key", "--out", "p384.csr"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toContain("generated a new ecdsa-p384 key for this renewal");
    expect((await execa("openssl", ["req", "-in", path.join(member.dir, "p384.csr"), "-noout", "-text"])).stdout).toContain("NIST CURVE: P-384");
    expect(pairs(path.join(api, "cert.pem"), path.join(api, "key.pem"))).toBe(true);
  });
});

/** A key of another type, in PKCS#8 PEM as provision writes keys. */
function createPrivateKeyPem(type: "ec", curve: string): string {
  return generateKeyPairSync(type, { namedCurve: curve }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
}

describe("import killed at every rename: the identity folder holds the old pair or the new pair", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });

  it("never the new certificate with the old key; a retry ends with the new pair", async () => {
    const { admin, member, api } = await memberWithApi();
    expect((await member$(member, ["csr", "api", "--out", "renew.csr"])).code).toBe(0);
    const renewed = await signFor(admin, path.join(member.dir, "renew.csr"), "renewed");
    const oldCert = read(path.join(api, "cert.pem"));
    const newCert = read(renewed);
    let kills = 0;
    for (let count = 1; count < 40; count++) {
      const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-import-kill-")));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      cpSync(member.dir, dir, { recursive: true });
      const out = path.join(dir, "pki");
      const env = { ...memberEnv(dir), PROVISION_NO_CACHE: "1" };
      const run = spawnLogged("node", ["--import", KILL_AT, BIN, "import", "api", renewed], { cwd: dir, env: { ...env, KILL_AT_SORT: "final", KILL_AT_COUNT: String(count), KILL_AT_DIR: out } });
      const { code, signal } = await run.exited;
      const where = `import killed at rename ${count}`;
      if (signal !== "SIGKILL") {
        expect(code, run.output()).toBe(0);
        break;
      }
      kills++;
      const folder = path.join(out, "servers/api");
      // Between the swap's two renames the folder is aside: what is aside is the old pair, whole.
      const aside = readdirSync(path.join(out, "servers")).find((n) => /^\.api\.[0-9a-f]{12}\.old$/.test(n));
      const seen = existsSync(folder) ? folder : path.join(out, "servers", aside!);
      const cert = read(path.join(seen, "cert.pem"));
      expect([oldCert, newCert], where).toContain(cert);
      expect(pairs(path.join(seen, "cert.pem"), path.join(seen, "key.pem")), where).toBe(true);
      expect(read(path.join(seen, "fullchain.pem")).startsWith(cert), where).toBe(true);
      if (cert === oldCert) expect(existsSync(path.join(seen, "next-key.pem")), where).toBe(true);
      const verified = await opensslVerify(path.join(seen, "cert.pem"), ["-CAfile", path.join(dir, "team-ca/ca-bundle.pem"), "-untrusted", path.join(seen, "chain.pem")]);
      expect(verified.ok, `${where}: ${verified.output}`).toBe(true);

      // The same command again finishes the job: the new pair, in place, nothing left aside.
      const retry = await provisionBin(["import", "api", renewed], { cwd: dir, env });
      expect(retry.code, `${where}, then the retry: ${retry.stderr}`).toBe(0);
      expect(read(path.join(folder, "cert.pem")), where).toBe(newCert);
      expect(pairs(path.join(folder, "cert.pem"), path.join(folder, "key.pem")), where).toBe(true);
      expect(existsSync(path.join(folder, "next-key.pem")), where).toBe(false);
      expect(readdirSync(path.join(out, "servers")).filter((n) => n.startsWith(".")), where).toEqual([]);
    }
    // The swap's two renames, then state.json: at least three points were tried.
    expect(kills).toBeGreaterThanOrEqual(3);
  }, 240_000);
});
