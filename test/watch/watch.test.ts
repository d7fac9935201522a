import { X509Certificate } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseCliArgs } from "../../src/cli/args.js";
import { runWatch } from "../../src/cli/commands/watch.js";
import { BIN, OUTPUT_LOG, project } from "../helpers/cli.js";

const SHORT_LIVED = `version: 1
cas:
  root: { validity: 1y }
servers:
  web:
    issuer: root
    altNames: [web.test]
    validity: 10m
    renewBefore: 1/3
    afterChange: "echo $PROVISION_ACTION >> hooks.log"
`;

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

describe("provision watch", () => {
  it("with an injected clock, renews a 10-minute certificate by itself each time its window opens, and sleeps in between", async () => {
    const p = project(SHORT_LIVED);
    let now = Date.parse("2027-05-01T12:00:00Z");
    const sleeps: number[] = [];
    const stop = new AbortController();
    const serials: string[] = [];
    let stderr = "";
    const code = await runWatch(
      parseCliArgs(["watch"]),
      { cwd: p.dir, env: process.env, stdout: () => undefined, stderr: (t) => void (stderr += t), deps: { now: () => new Date(now) } },
      {
        now: () => now,
        // The fake sleep advances the clock: each wait is the loop's own choice of when the next renewal is due.
        sleep: async (ms) => {
          serials.push(serialOf(path.join(p.out, "servers/web/cert.pem")));
          sleeps.push(ms);
          now += ms;
          if (sleeps.length === 3) stop.abort();
        },
        nextChange: (wake) => new Promise((resolve) => wake.addEventListener("abort", () => resolve(), { once: true })),
        stop: stop.signal,
      },
    );
    expect(code).toBe(0);
    // 10m + 5m backdate = 15m lifetime; 1/3 of it = 5m window: due 5 minutes after each issuance.
    expect(sleeps).toEqual([5 * 60_000, 5 * 60_000, 5 * 60_000]);
    expect(new Set(serials).size).toBe(3);
    expect(readFileSync(path.join(p.dir, "hooks.log"), "utf8").trim().split("\n")).toEqual(["create", "renew", "renew"]);
    expect(stderr).toMatch(/next: web renews at 2027-05-01T12:05:00\.000Z/);
    const cert = new X509Certificate(readFileSync(path.join(p.out, "servers/web/cert.pem")));
    expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBe(15 * 60_000);
  });

  it("as a process: applies edits of pki.yaml, reports a bad edit with its line and keeps the files, allows one watch per output folder, exits 0 on SIGTERM", async () => {
    const yaml = (names: string) => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [${names}] }\n`;
    const p = project(yaml("web.test"));
    const env = { ...process.env, PROVISION_NO_CACHE: "1" };
    const child = execa("node", [BIN, "watch"], { cwd: p.dir, env, reject: false, all: true });
    let output = "";
    child.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    onTestFinished(async () => {
      child.kill("SIGKILL");
      await child;
      appendFileSync(OUTPUT_LOG, `${output}\n`);
    });
    const until = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 20_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; output:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const cert = path.join(p.out, "servers/web/cert.pem");
    const sans = () => (existsSync(cert) ? (new X509Certificate(readFileSync(cert)).subjectAltName ?? "") : "");
    await until(() => /watching pki\.yaml/.test(output), "the first run");
    expect(sans()).toBe("DNS:web.test");
    // Idle means asleep: no polling loop. utime + stime (clock ticks, fields 14 and 15) barely move in 2 s.
    const cpuTicks = () => readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ").slice(11, 13).reduce((a, b) => a + Number(b), 0);
    const ticks = cpuTicks();
    await new Promise((r) => setTimeout(r, 2000));
    expect(cpuTicks() - ticks).toBeLessThan(10);

    p.write(yaml("web.test, api.test"));
    await until(() => sans().includes("api.test"), "the edit to be applied");
    const serial = serialOf(cert);

    const second = await execa("node", [BIN, "watch"], { cwd: p.dir, env, reject: false, timeout: 20_000 });
    appendFileSync(OUTPUT_LOG, `${second.stdout}\n${second.stderr}\n`);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(/another provision watch is already running/);

    p.write(yaml("web.test, api.test, -bad-.test"));
    await until(() => /last good files stay in place/.test(output), "the bad edit to be reported");
    expect(output).toMatch(/pki\.yaml:5:\d+ .*altNames/);
    expect(serialOf(cert)).toBe(serial);
    expect(child.exitCode).toBeNull();

    child.kill("SIGTERM");
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(output).toMatch(/SIGTERM received/);
    expect(existsSync(path.join(p.out, ".provision-watch.lock"))).toBe(false);
  });
});
