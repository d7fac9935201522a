import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished, beforeAll } from "vitest";
import { starterYaml } from "../../src/cli/commands/init.js";
import { project, provision } from "../helpers/cli.js";
import { execaLogged } from "../helpers/spawn.js";
import { startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

/**
 * What `node dist/cli/bin.js` needs, copied out of the checkout: the build, package.json, the schema and the
 * production dependencies (as npm resolved them), all readable by every user.
 */
async function copyRunnableCli(target: string): Promise<void> {
  const { cpSync } = await import("node:fs");
  const root = path.resolve(import.meta.dirname, "../..");
  const deps = (await execa("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, reject: false })).stdout.split("\n").filter((dir) => dir.startsWith(`${root}${path.sep}node_modules`));
  for (const item of ["dist", "package.json", "pki.schema.json", ...deps.map((dir) => path.relative(root, dir))]) {
    cpSync(path.join(root, item), path.join(target, item), { recursive: true, dereference: true });
  }
  await execa("chmod", ["-R", "a+rX", target]);
}

const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const isRoot = process.getuid?.() === 0;

// Changes this machine's system trust store, so it needs root (CI runs as root). The root it installs is
// name-constrained to development names, and it is uninstalled when the test ends, even on failure.
describe.skipIf(!isRoot)("system trust store (Debian's update-ca-certificates)", () => {
  beforeAll(() => { requireTool("curl", "curl"); requireTool("update-ca-certificates", "ca-certificates"); });
  it("after trust install plain curl trusts the local server; uninstall restores the system bundle byte for byte", async () => {
    const p = project(starterYaml("x", "system-test@host"));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const port = await startHttpsServer(path.join(p.out, "servers/localhost"));
    const url = `https://localhost:${port}/`;
    const curl = () => execaLogged("curl", ["-sS", "--resolve", `localhost:${port}:127.0.0.1`, url], { reject: false, env: { PATH: process.env.PATH } });
    const before = readFileSync(SYSTEM_BUNDLE);
    expect((await curl()).exitCode).toBe(60);

    onTestFinished(async () => {
      await provision(["trust", "uninstall", "--store", "system"], { cwd: p.dir });
    });
    const install = await provision(["trust", "install", "--store", "system"], { cwd: p.dir });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/will add "provision root [0-9a-f]{16}" to the system store \(\/usr\/local\/share\/ca-certificates\)/);
    const trusted = await curl();
    expect(trusted.stdout, trusted.stderr).toBe("fluffy tail");
    expect(JSON.parse((await provision(["trust", "status", "--store", "system", "--json"], { cwd: p.dir })).stdout).roots[0].trusted).toBe(true);

    const uninstall = await provision(["trust", "uninstall", "--store", "system"], { cwd: p.dir });
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect((await curl()).exitCode).toBe(60);
    expect(readFileSync(SYSTEM_BUNDLE).equals(before)).toBe(true);
    // update-ca-certificates rebuilds the whole system bundle twice (install, uninstall): 2 min was not enough on a
    // machine under a load of 18 (a CI-style run while other work shared its two cores).
  }, 300_000);
});

describe.skipIf(!isRoot)("trust install as a regular user", () => {
  beforeAll(() => { requireTool("su", "util-linux"); requireTool("certutil", "libnss3-tools"); });
  it("skips the system store with a note and still trusts the root in the user's NSS database", async () => {
    const { chmodSync, chownSync, mkdtempSync, realpathSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const home = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-nobody-")));
    onTestFinished(() => rmSync(home, { recursive: true, force: true }));
    const nobody = Number((await execaLogged("id", ["-u", "nobody"])).stdout);
    chownSync(home, nobody, nobody);
    // nobody may not be able to read this checkout (a clone under /root): it runs a copy of the built CLI.
    const copy = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-cli-")));
    onTestFinished(() => rmSync(copy, { recursive: true, force: true }));
    chmodSync(copy, 0o755);
    await copyRunnableCli(copy);
    const bin = path.join(copy, "dist/cli/bin.js");
    const asNobody = (command: string) => execaLogged("su", ["nobody", "-s", "/bin/bash", "-c", `export HOME=${home}; cd ${home} && ${command}`], { reject: false });
    expect((await asNobody(`node ${bin} init >/dev/null && node ${bin} >/dev/null`)).exitCode).toBe(0);
    const install = await asNobody(`node ${bin} trust install`);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stderr).toMatch(/skipped: system store: needs root \(run again with sudo to include it\)/);
    expect(install.stdout).toMatch(/will add "provision root [0-9a-f]{16}" to the nss store/);
    const explicit = await asNobody(`node ${bin} trust install --store system`);
    expect(explicit.exitCode).toBe(1);
    expect(explicit.stderr).toMatch(/no permission to write .*\nhint: run with sudo, or use --store nss/);
  }, 60_000);
});
