import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BIN, provision } from "../helpers/cli.js";
import { execaLogged, spawnLogged } from "../helpers/spawn.js";
import { requireTool } from "../helpers/require-tool.js";
import { checkTree } from "../helpers/tree-check.js";

/**
 * Issue 12: right after a kill, before any recovery run, every file is its old content or a whole new one, and
 * every key matches its certificate or the pair is wholly absent. A small run is killed at every rename it
 * makes in the output folder, in turn (test/helpers/kill-at.mjs: deterministic, whatever the machine's speed),
 * for a first run, a re-key of the leaves and a root CA rollover; then a retry of the same command must leave
 * a sound tree.
 */

const IDENTITIES = [
  { dir: "cas/root", ca: true },
  { dir: "cas/intermediate", ca: true },
  { dir: "servers/web", ca: false },
  { dir: "servers/api", ca: false },
  { dir: "clients/alice", ca: false },
] as const;

function yaml(leaf = ""): string {
  return `version: 1
defaults: { key: ecdsa-p256 }
cas:
  root: { validity: 10y }
  intermediate: { issuer: root, validity: 5y }
servers:
  web: { issuer: intermediate, altNames: [web.test]${leaf} }
  api: { issuer: intermediate, altNames: [api.test], formats: [der]${leaf} }
clients:
  alice: { issuer: intermediate${leaf} }
`;
}

const issuerOf = (_kind: string, name: string) => (name === "root" || name === "intermediate" ? "root" : "intermediate");
const KILL_AT = path.join(import.meta.dirname, "../helpers/kill-at.mjs");
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g;

/** Every regular file below `out` that users see: dot entries (temp files, folders being swapped, the lock) aside. */
function snapshot(out: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(out, full), readFileSync(full));
    }
  };
  walk(out);
  return files;
}

/** Why a file is not a whole file of its kind (null: it is). */
function incomplete(name: string, bytes: Buffer): string | null {
  try {
    const text = bytes.toString("utf8");
    if (name.endsWith(".json")) return JSON.parse(text) ? null : "empty";
    if (name.endsWith("key.pem")) return /-----END PRIVATE KEY-----\n$/.test(text) && createPrivateKey(text) ? null : "truncated";
    if (name.endsWith("key.der")) return createPrivateKey({ key: bytes, format: "der", type: "pkcs8" }) ? null : "unreadable";
    if (name.endsWith(".der") && name.includes("crl")) return bytes.length > 0 ? null : "empty";
    if (name.endsWith(".der")) return new X509Certificate(bytes) ? null : "unreadable";
    if (name.endsWith("crl.pem") || name.endsWith("crl-bundle.pem")) return /^(-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n)+$/.test(text) ? null : "not whole CRLs";
    if (name.startsWith("launch/")) return text.length > 0 ? null : "empty";
    const blocks = text.match(CERT_BLOCK) ?? [];
    if (blocks.length === 0 || blocks.join("") !== text) return "not whole certificates";
    for (const block of blocks) new X509Certificate(block);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const keyOf = (bytes: Buffer, der: boolean): KeyObject => (der ? createPrivateKey({ key: bytes, format: "der", type: "pkcs8" }) : createPrivateKey(bytes));

/**
 * What is wrong with a tree right after a kill: a file neither old nor whole, a key.pem without its cert.pem
 * (or the reverse), a key that does not match the certificate beside it, another private key file (key.der)
 * holding a different key than key.pem.
 */
function problemsAfterKill(before: ReadonlyMap<string, Buffer>, now: ReadonlyMap<string, Buffer>): string[] {
  const problems: string[] = [];
  for (const [file, bytes] of now) {
    if (before.get(file)?.equals(bytes)) continue;
    const why = incomplete(file, bytes);
    if (why) problems.push(`${file}: neither its old content nor a whole new one (${why})`);
  }
  for (const { dir } of IDENTITIES) {
    const key = now.get(`${dir}/key.pem`);
    const cert = now.get(`${dir}/cert.pem`);
    if (!key && !cert) {
      const stray = [...now.keys()].filter((f) => f.startsWith(`${dir}/`) && !f.startsWith(`${dir}/retired/`));
      if (stray.length) problems.push(`${dir}: no key and no certificate, but ${stray.join(", ")}`);
      continue;
    }
    if (!key || !cert) {
      problems.push(`${dir}: ${key ? "key.pem without cert.pem" : "cert.pem without key.pem"}`);
      continue;
    }
    try {
      if (!new X509Certificate(cert).checkPrivateKey(keyOf(key, false))) problems.push(`${dir}: key.pem does not match cert.pem`);
      const keyDer = now.get(`${dir}/key.der`);
      if (keyDer && !new X509Certificate(cert).checkPrivateKey(keyOf(keyDer, true))) problems.push(`${dir}: key.der does not match cert.pem`);
    } catch (error) {
      problems.push(`${dir}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** A copy of `template` (a project folder) in a fresh temp folder, removed when the test ends. */
function copyOf(template: string | null, pkiYaml: string): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-kill-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  if (template) cpSync(template, dir, { recursive: true, preserveTimestamps: true });
  cpSync(pkiYaml, path.join(dir, "pki.yaml"));
  return dir;
}

/** The CA certificates a tree holds, as one PEM text: what verifies certificates that are old or new. */
const caPems = (files: ReadonlyMap<string, Buffer>, which: "root" | "intermediate") =>
  [...files].filter(([f]) => f === `cas/${which}/cert.pem` || (which === "root" && f.startsWith("cas/root/retired/"))).map(([, b]) => b.toString()).join("");

/**
 * Kills `args` at the 1st, 2nd, … rename into the output folder until a run ends by itself; checks the tree
 * right after each kill, then retries the same command in-process and checks the tree is sound. Returns how
 * many kill points there were.
 */
async function killAtEveryRename(template: string | null, pkiYaml: string, args: string[]): Promise<number> {
  for (let count = 1; ; count++) {
    const dir = copyOf(template, pkiYaml);
    const out = path.join(dir, "pki");
    const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, ".cache"), PROVISION_NO_CACHE: "1" };
    const before = snapshot(out);
    const run = spawnLogged("node", ["--import", KILL_AT, BIN, ...args], { cwd: dir, env: { ...env, KILL_AT_SORT: "final", KILL_AT_COUNT: String(count), KILL_AT_DIR: out } });
    const { code, signal } = await run.exited;
    const where = `killed at rename ${count} of provision ${args.join(" ")}`;
    if (signal !== "SIGKILL") {
      expect(code, run.output()).toBe(0);
      return count - 1;
    }

    const now = snapshot(out);
    expect(problemsAfterKill(before, now), where).toEqual([]);
    // openssl on what is there: every certificate, old or new, verifies under the old or the new CAs.
    const roots = path.join(dir, "roots.pem");
    const intermediates = path.join(dir, "intermediates.pem");
    writeFileSync(roots, caPems(now, "root") + caPems(before, "root"));
    writeFileSync(intermediates, caPems(now, "intermediate") + caPems(before, "intermediate"));
    const certs = IDENTITIES.filter(({ dir: d }) => now.has(`${d}/cert.pem`)).map(({ dir: d }) => path.join(out, d, "cert.pem"));
    if (certs.length) {
      const untrusted = readFileSync(intermediates).length ? ["-untrusted", intermediates] : [];
      const verify = await execaLogged("openssl", ["verify", "-x509_strict", "-CAfile", roots, ...untrusted, ...certs], { reject: false });
      expect(verify.stdout.split("\n").filter((l) => l.endsWith(": OK")), `${where}: ${verify.stdout}${verify.stderr}`).toHaveLength(certs.length);
    }

    // Killed between a swap's two renames: the folder is aside, and the retry must put it back (not start over).
    const aside = ["cas", "servers", "clients"].flatMap((kind) =>
      readdirSync(path.join(out, kind)).flatMap((n) => {
        const name = /^\.(.+)\.[0-9a-f]{12}\.old$/.exec(n)?.[1];
        return name && !existsSync(path.join(out, kind, name)) ? [`${kind}/${name}`] : [];
      }),
    );
    const retry = await provision(args, { cwd: dir, env });
    expect(retry.code, `${where}, then the retry: ${retry.stderr}`).toBe(0);
    for (const folder of aside) expect(retry.stdout, where).toContain(`note: ${folder}: put back from where an interrupted run had moved it`);
    expect(checkTree(out, issuerOf), `${where}, after the retry`).toEqual([]);
    for (const kind of ["cas", "servers", "clients"]) {
      expect(readdirSync(path.join(out, kind)).filter((n) => n.startsWith(".")), `${where}: leftovers in ${kind}/`).toEqual([]);
    }
    expect((await provision(["plan"], { cwd: dir, env })).code, where).toBe(0);
  }
}

describe("right after a kill at any rename, keys and certificates are pairs or wholly absent", () => {
  let provisioned: string;
  let base: string;
  let rekeyed: string;
  beforeAll(async () => {
    requireTool("openssl", "openssl");
    const work = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-kill-template-")));
    base = path.join(work, "base.yaml");
    rekeyed = path.join(work, "rekeyed.yaml");
    writeFileSync(base, yaml());
    writeFileSync(rekeyed, yaml(", rotateKey: always, validity: 20d"));
    provisioned = path.join(work, "project");
    cpSync(base, path.join(provisioned, "pki.yaml"));
    const first = await provision([], { cwd: provisioned, env: { XDG_CACHE_HOME: path.join(provisioned, ".cache"), PROVISION_NO_CACHE: "1" } });
    if (first.code !== 0) throw new Error(first.stderr);
    return () => rmSync(work, { recursive: true, force: true });
  });

  it("a first run: every identity folder appears whole", async () => {
    // Five folders, ca-bundle.pem, state.json and the CRLs: each one rename.
    expect(await killAtEveryRename(null, base, [])).toBeGreaterThanOrEqual(7);
  }, 120_000);

  it("a re-key of every leaf (rotateKey: always): the new key never sits beside the old certificate", async () => {
    // Three folders swapped (two renames each), then state.json.
    expect(await killAtEveryRename(provisioned, rekeyed, [])).toBeGreaterThanOrEqual(7);
  }, 120_000);

  it("a root CA rollover (--rotate-ca-key root): the root folder is swapped whole, the rest renamed file by file", async () => {
    expect(await killAtEveryRename(provisioned, base, ["--rotate-ca-key", "root"])).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it("folders left aside by a kill between the two renames: plan says so, the next run puts them back, CA key and all, with no flag", async () => {
    const dir = copyOf(provisioned, base);
    const out = path.join(dir, "pki");
    const env = { XDG_CACHE_HOME: path.join(dir, ".cache"), PROVISION_NO_CACHE: "1" };
    const key = readFileSync(path.join(out, "cas/root/key.pem"));
    renameSync(path.join(out, "cas/root"), path.join(out, "cas/.root.0123456789ab.old"));
    mkdirSync(path.join(out, "cas/.root.0123456789ab.new"));
    renameSync(path.join(out, "servers/web"), path.join(out, "servers/.web.0123456789ab.old"));
    // plan only reads: it says what happened instead of "the key of CA root is missing … restore it from your backup".
    const plan = await provision(["plan"], { cwd: dir, env });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/the folder of CA root was moved aside by an interrupted run\nhint: run provision \(without plan\)/);
    renameSync(path.join(out, "cas/.root.0123456789ab.old"), path.join(out, "cas/root"));
    expect((await provision(["plan"], { cwd: dir, env })).stdout).toContain("note: servers/web was moved aside by an interrupted run (servers/.web.0123456789ab.old): the next provision run puts it back");
    renameSync(path.join(out, "cas/root"), path.join(out, "cas/.root.0123456789ab.old"));

    const run = await provision([], { cwd: dir, env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("note: cas/root: put back from where an interrupted run had moved it");
    expect(run.stdout).toContain("note: servers/web: put back from where an interrupted run had moved it");
    expect(run.stdout).not.toMatch(/web\s+server\s+reissue/);
    expect(readFileSync(path.join(out, "cas/root/key.pem")).equals(key)).toBe(true);
    expect(readdirSync(path.join(out, "cas"))).toEqual(["intermediate", "root"]);
    expect(checkTree(out, issuerOf)).toEqual([]);
  });

  it("the check itself: a new key beside the old certificate, or a key without its certificate, is caught", () => {
    const tree = snapshot(path.join(provisioned, "pki"));
    const other = snapshot(path.join(provisioned, "pki"));
    // web's key where api's was: a key that does not match the certificate beside it.
    other.set("servers/api/key.pem", tree.get("servers/web/key.pem")!);
    expect(problemsAfterKill(tree, other)).toEqual(["servers/api: key.pem does not match cert.pem"]);
    const half = new Map(tree);
    half.delete("servers/web/cert.pem");
    expect(problemsAfterKill(tree, half)).toEqual(["servers/web: key.pem without cert.pem"]);
    const torn = new Map(tree);
    torn.set("servers/web/fullchain.pem", tree.get("servers/web/fullchain.pem")!.subarray(0, 100));
    expect(problemsAfterKill(tree, torn)[0]).toMatch(/^servers\/web\/fullchain\.pem: neither its old content nor a whole new one/);
  });
});
