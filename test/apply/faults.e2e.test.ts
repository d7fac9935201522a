import { spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { BIN, project, provisionBin } from "../helpers/cli.js";
import { spawnLogged } from "../helpers/spawn.js";
import { checkTree, sha256File } from "../helpers/tree-check.js";
import { requireTool } from "../helpers/require-tool.js";

function bigYaml(servers: number, leafValidity: string, extra = ""): string {
  let yaml = `version: 1\ndefaults: { validity: ${leafValidity} }\ncas:\n  root: { validity: 10y${extra} }\n  sub: { issuer: root, validity: 2y${extra} }\nservers:\n`;
  for (let i = 0; i < servers; i++) yaml += `  s${i}: { issuer: sub, altNames: [s${i}.test] }\n`;
  return yaml;
}

const issuerOf = (_kind: string, name: string) => (name === "root" ? "root" : name === "sub" ? "root" : "sub");

type Snapshot = Map<string, string>;

/** Every file under the output folder (temp files and folders being swapped aside) and its content. */
function contents(out: string): Snapshot {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".")) walk(full);
      } else if (!entry.name.endsWith(".tmp") && entry.name !== ".provision.lock") files.set(path.relative(out, full), readFileSync(full, "utf8"));
    }
  };
  walk(out);
  return files;
}

/** Why a file's content is not a whole file of its kind, or null when it is. */
function incomplete(name: string, text: string): string | null {
  try {
    if (name.endsWith("state.json")) return JSON.parse(text) ? null : "empty";
    if (name.endsWith("key.pem")) return createPrivateKey(text) && /-----END [A-Z ]*PRIVATE KEY-----\n$/.test(text) ? null : "truncated";
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    if (blocks.length === 0 || blocks.join("") !== text) return "not whole certificates";
    for (const block of blocks) new X509Certificate(block);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const KILL_AT = path.join(import.meta.dirname, "../helpers/kill-at.mjs");

/**
 * Runs provision until it has created `count` temp files in the output folder (the write phase, before any
 * rename) or renamed `count` files onto their names, and SIGKILLs it right there: the run kills itself
 * (test/helpers/kill-at.mjs), so the point is exact on a fast or a slow machine.
 */
async function killAfter(cwd: string, out: string, sort: "temp" | "final", count: number): Promise<{ killed: boolean; output: string }> {
  const env = { ...process.env, KILL_AT_SORT: sort, KILL_AT_COUNT: String(count), KILL_AT_DIR: out };
  const run = spawnLogged("node", ["--import", KILL_AT, BIN], { cwd, env });
  const { signal } = await run.exited;
  return { killed: signal === "SIGKILL", output: run.output() };
}

describe("crash safety", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("SIGKILL after the N-th temp file and the N-th renamed file: right after each kill every file is its old content or a whole new one; the next run repairs", async () => {
    const servers = 60;
    const p = project(bigYaml(servers, "90d"));
    const first = await provisionBin([], { cwd: p.dir });
    expect(first.code, first.stderr).toBe(0);
    const caKeys = { root: sha256File(path.join(p.out, "cas/root/key.pem")), sub: sha256File(path.join(p.out, "cas/sub/key.pem")) };
    // Leaves rotate their key by default (rotateKey: always): each server's folder is swapped whole, two renames
    // (old aside, new in), and its three new files (key, cert, fullchain) are written in the new folder first.
    const points = [["temp", 1], ["temp", 100], ["final", 1], ["final", 2], ["final", 45], ["final", 61], ["final", 90], ["final", 120]] as const;
    for (const [round, [sort, count]] of points.entries()) {
      const where = `round ${round} (after ${sort} file ${count})`;
      const old = contents(p.out);
      // Flip every leaf's validity so the killed run has every server to re-issue.
      p.write(bigYaml(servers, round % 2 === 0 ? "80d" : "90d"));
      const { killed, output } = await killAfter(p.dir, p.out, sort, count);
      expect(killed, `${where}: the run ended before the kill point: ${output}`).toBe(true);

      // Right after the kill, before any recovery: no file is half written, and nothing changed before a rename.
      const now = contents(p.out);
      // Only a folder between its swap's two renames may be missing, whole, with its old version aside.
      const aside = new Set(readdirSync(path.join(p.out, "servers")).flatMap((n) => /^\.(s\d+)\.[0-9a-f]{12}\.old$/.exec(n)?.[1] ?? []).filter((n) => !existsSync(path.join(p.out, "servers", n))));
      expect(aside.size, `${where}: more than one folder aside`).toBeLessThanOrEqual(1);
      expect([...old.keys()].filter((f) => !now.has(f) && !aside.has(f.split("/")[1]!)), `${where}: files vanished`).toEqual([]);
      const changed = [...now].filter(([f, text]) => old.get(f) !== text);
      if (sort === "temp") expect(changed.map(([f]) => f), `${where}: a file changed before any rename`).toEqual([]);
      if (sort === "final") expect(aside.size, `${where}: a folder is aside right after its first rename`).toBe(count % 2);
      expect(changed.map(([f, text]) => [f, incomplete(f, text)]).filter(([, why]) => why !== null), where).toEqual([]);
      // A new key comes with its whole folder: every certificate, old or new, matches the key beside it.
      for (let i = 0; i < servers; i++) {
        const dir = `servers/s${i}`;
        if (aside.has(`s${i}`)) continue;
        const cert = new X509Certificate(now.get(`${dir}/cert.pem`)!);
        expect(cert.checkPrivateKey(createPrivateKey(now.get(`${dir}/key.pem`)!)), `${where}: ${dir}'s key does not match its certificate`).toBe(true);
      }

      const recovery = await provisionBin([], { cwd: p.dir });
      expect(recovery.code, `${where}: ${recovery.stderr}`).toBe(0);
      expect(checkTree(p.out, issuerOf), where).toEqual([]);
      expect(sha256File(path.join(p.out, "cas/root/key.pem"))).toBe(caKeys.root);
      expect(sha256File(path.join(p.out, "cas/sub/key.pem"))).toBe(caKeys.sub);
      const again = await provisionBin(["plan"], { cwd: p.dir });
      expect(again.code, `${where}: ${again.stdout}`).toBe(0);
    }
    // Finally, openssl agrees about every server certificate.
    const certs = Array.from({ length: servers }, (_, i) => path.join(p.out, `servers/s${i}/cert.pem`));
    const verify = await execa("openssl", ["verify", "-x509_strict", "-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(p.out, "servers/s0/chain.pem"), ...certs]);
    expect(verify.stdout.split("\n").filter((l) => l.endsWith(": OK"))).toHaveLength(servers);
  }, 300_000);
});

describe("concurrency", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("a second run waits for the lock, then fails naming the holder's pid; nothing it wrote", async () => {
    const slow = `version: 1\ncas:\n  root: { key: rsa-4096 }\nservers:\n${Array.from({ length: 6 }, (_, i) => `  s${i}: { issuer: root, key: rsa-4096, altNames: [s${i}.test] }\n`).join("")}`;
    const p = project(slow);
    const first = spawn("node", [BIN], { cwd: p.dir, stdio: "ignore" });
    const lockFile = path.join(p.out, ".provision.lock");
    // Node's start and loading take seconds on a busy machine; seven RSA-4096 keys keep the lock held far longer.
    for (let i = 0; i < 1500 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(lockFile)).toBe(true);
    const second = await provisionBin([], { cwd: p.dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`error: another provision run holds the lock (pid ${first.pid})`);
    const firstCode = await new Promise<number | null>((resolve) => first.on("exit", resolve));
    expect(firstCode).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
    expect((await provisionBin(["plan"], { cwd: p.dir })).code).toBe(0);
  }, 60_000);

  it("a lock left by a dead process is taken over", async () => {
    const p = project(bigYaml(2, "30d"));
    const { mkdirSync } = await import("node:fs");
    mkdirSync(p.out);
    const dead = spawn("true");
    await new Promise((resolve) => dead.on("exit", resolve));
    const { hostname } = await import("node:os");
    writeFileSync(path.join(p.out, ".provision.lock"), `${dead.pid} ${hostname()}\n`);
    const run = await provisionBin([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(p.out, ".provision.lock"))).toBe(false);
  });

  it("temp files left by a killed run are removed by the next run", async () => {
    const p = project(bigYaml(2, "30d"));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    const stray = path.join(p.out, "servers/s0/.cert.pem.0123456789ab.tmp");
    writeFileSync(stray, "half a certif");
    p.write(bigYaml(2, "20d"));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    expect(existsSync(stray)).toBe(false);
    expect(readFileSync(path.join(p.out, "servers/s0/cert.pem"), "utf8")).toMatch(/END CERTIFICATE/);
  });
});
