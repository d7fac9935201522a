import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { BIN, project, provisionBin } from "./helpers/cli.js";
import { checkTree, sha256File } from "./helpers/tree-check.js";
import { requireTool } from "./helpers/require-tool.js";

function bigYaml(servers: number, leafValidity: string, extra = ""): string {
  let yaml = `version: 1\ndefaults: { validity: ${leafValidity} }\ncas:\n  root: { validity: 10y${extra} }\n  sub: { issuer: root, validity: 2y${extra} }\nservers:\n`;
  for (let i = 0; i < servers; i++) yaml += `  s${i}: { issuer: sub, altNames: [s${i}.test] }\n`;
  return yaml;
}

const issuerOf = (_kind: string, name: string) => (name === "root" ? "root" : name === "sub" ? "root" : "sub");

/** Starts provision and SIGKILLs it after `delayMs`; resolves with how it ended. */
function runAndKill(cwd: string, delayMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn("node", [BIN], { cwd, stdio: "ignore", env });
    const timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === "SIGKILL", code });
    });
  });
}

describe("crash safety", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("SIGKILL at 20 random moments of a 200-identity run: every next run completes and the tree is sound", async () => {
    const p = project(bigYaml(200, "90d"));
    const first = await provisionBin([], { cwd: p.dir });
    expect(first.code, first.stderr).toBe(0);
    const caKeys = { root: sha256File(path.join(p.out, "cas/root/key.pem")), sub: sha256File(path.join(p.out, "cas/sub/key.pem")) };
    let killedMidway = 0;
    for (let round = 0; round < 20; round++) {
      // Flip every leaf's validity so the killed run has 200 certificates to re-issue.
      p.write(bigYaml(200, round % 2 === 0 ? "80d" : "90d"));
      const { killed } = await runAndKill(p.dir, 150 + Math.floor(Math.random() * 1500));
      if (killed) killedMidway++;
      const recovery = await provisionBin([], { cwd: p.dir });
      expect(recovery.code, `round ${round}: ${recovery.stderr}`).toBe(0);
      expect(checkTree(p.out, issuerOf), `round ${round}`).toEqual([]);
      expect(sha256File(path.join(p.out, "cas/root/key.pem"))).toBe(caKeys.root);
      expect(sha256File(path.join(p.out, "cas/sub/key.pem"))).toBe(caKeys.sub);
      const again = await provisionBin(["plan"], { cwd: p.dir });
      expect(again.code, `round ${round}: ${again.stdout}`).toBe(0);
    }
    expect(killedMidway).toBeGreaterThan(10);
    // Finally, openssl agrees about every server certificate.
    const certs = Array.from({ length: 200 }, (_, i) => path.join(p.out, `servers/s${i}/cert.pem`));
    const verify = await execa("openssl", ["verify", "-x509_strict", "-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(p.out, "servers/s0/chain.pem"), ...certs]);
    expect(verify.stdout.split("\n").filter((l) => l.endsWith(": OK"))).toHaveLength(200);
  }, 300_000);
});

describe("concurrency", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("a second run waits for the lock, then fails naming the holder's pid; nothing it wrote", async () => {
    const slow = `version: 1\ncas:\n  root: { key: rsa-4096 }\nservers:\n${Array.from({ length: 6 }, (_, i) => `  s${i}: { issuer: root, key: rsa-4096, altNames: [s${i}.test] }\n`).join("")}`;
    const p = project(slow);
    const first = spawn("node", [BIN], { cwd: p.dir, stdio: "ignore" });
    const lockFile = path.join(p.out, ".provision.lock");
    for (let i = 0; i < 100 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 20));
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
