import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";

const YAML = "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test], afterChange: 'echo ran >> hook.log' }\n";

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("hosts without CI: provision schedule", () => {
  it("renders a systemd service and timer that systemd-analyze verify accepts (and a broken twin it refuses), from a hostile folder name", async () => {
    expect(hasSystemdAnalyze(), "systemd-analyze is missing: apt-get install systemd").toBe(true);
    const p = project(YAML);
    // Spaces, % (a systemd specifier; a newline in cron) and $ (a systemd variable) in the path.
    const dir = path.join(p.dir, "team 100% $HOME");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "pki.yaml"), YAML);
    const run = await provision(["schedule"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const folder = path.join(dir, "pki/schedule");
    const service = readFileSync(path.join(folder, "provision.service"), "utf8");
    expect(service).toContain(`WorkingDirectory=${dir.replace(/%/g, "%%")}`);
    expect(service).toContain(`"${path.join(dir, "pki.yaml").replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`);
    const ok = await execa("systemd-analyze", ["verify", path.join(folder, "provision.service"), path.join(folder, "provision.timer")], { reject: false });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(readFileSync(path.join(folder, "provision.timer"), "utf8")).toMatch(/OnCalendar=daily\nRandomizedDelaySec=1h\nPersistent=true/);

    const broken = path.join(p.dir, "broken.service");
    writeFileSync(broken, service.replace(/^ExecStart=\S+/m, "ExecStart=/nonexistent/node"));
    const refused = await execa("systemd-analyze", ["verify", broken], { reject: false });
    expect(refused.exitCode).not.toBe(0);
  });

  it("renders a crontab line that, run by a shell as cron runs it, provisions and runs the hooks", async () => {
    const p = project(YAML);
    const dir = path.join(p.dir, "a 50% 'quoted' $dir");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "pki.yaml"), YAML);
    expect((await provision(["schedule", "--out", path.join(p.dir, "units")], { cwd: dir })).code).toBe(0);
    const line = readFileSync(path.join(p.dir, "units/provision.cron"), "utf8").split("\n").find((l) => /^\d+ \d+ \* \* \* /.test(l))!;
    expect(line).toBeDefined();
    // cron turns unescaped % into line breaks and hands the rest to sh; do the same.
    const command = line.replace(/^(\S+\s+){5}/, "").replace(/\\%/g, "%");
    expect(line.replace(/\\%/g, "")).not.toContain("%");
    const ran = await execa("sh", ["-c", command], { cwd: "/", reject: false, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: p.dir } });
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(existsSync(path.join(dir, "pki/servers/web/cert.pem"))).toBe(true);
    expect(readFileSync(path.join(dir, "hook.log"), "utf8")).toBe("ran\n");
    expect(readFileSync(path.join(p.dir, "units/provision-cron.log"), "utf8")).toMatch(/done: 2 create/);
  });
});

describe("short-lived certificates (minutes)", () => {
  it("accepts minutes for leaves, warns below 5 minutes, refuses them for CAs and refuses a window that opens at issuance", async () => {
    const base = (server: string, ca = "{ validity: 1y }") => `version: 1\ncas:\n  root: ${ca}\nservers:\n  web: { issuer: root, altNames: [web.test], ${server} }\n`;
    const ok = project(base("validity: 30m, renewBefore: 10m"));
    const created = await provision(["--json"], { cwd: ok.dir });
    expect(created.code, created.stderr).toBe(0);
    const web = JSON.parse(created.stdout).actions.find((a: { name: string }) => a.name === "web");
    expect(Date.parse(web.notAfter) - Date.parse(web.notBefore)).toBe(35 * 60_000);
    expect((await provision(["plan"], { cwd: ok.dir })).code).toBe(0);

    const short = project(base("validity: 3m, renewBefore: 1m"));
    const warned = await provision(["plan", "--strict"], { cwd: short.dir });
    expect(warned.code).toBe(1);
    expect(warned.stderr).toMatch(/pki\.yaml:5:\d+ servers\.web\.validity: warning: validity 3m is under 5 minutes/);

    const ca = project(base("validity: 30m", "{ validity: 90m }"));
    const refused = await provision(["plan"], { cwd: ca.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cas\.root\.validity: validity 90m is in minutes; minutes are for servers and clients/);

    const loop = project(base("validity: 2m, renewBefore: 1/3"));
    const looping = await provision(["plan"], { cwd: loop.dir });
    expect(looping.code).toBe(1);
    expect(looping.stderr).toMatch(/servers\.web\.renewBefore: renewBefore 1\/3 .* is not shorter than the validity 2m/);
  });
});
