import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished, beforeAll } from "vitest";
import { starterYaml } from "../../src/cli/commands/init.js";
import { project, provision } from "../helpers/cli.js";
import { execaLogged } from "../helpers/spawn.js";
import { startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

function tempHome(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-home-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const listNss = async (db: string) => (await execaLogged("certutil", ["-L", "-d", `sql:${db}`])).stdout;

/** Loads a page in headless Chromium with its own profile and HOME (whose ~/.pki/nssdb it trusts). */
async function chromiumDom(url: string, home: string): Promise<{ dom: string; log: string }> {
  const profile = path.join(home, "chromium-profile");
  const result = await execaLogged(
    "chromium",
    [
      "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
      "--host-resolver-rules=MAP localhost 127.0.0.1", "--virtual-time-budget=5000", "--dump-dom", url,
    ],
    { env: { HOME: home, PATH: process.env.PATH }, reject: false, timeout: 60_000 },
  );
  return { dom: `${result.stdout}`, log: `${result.stderr}` };
}

describe("trust stores", () => {
  beforeAll(() => { requireTool("certutil", "libnss3-tools"); });
  it("install → status → uninstall on an NSS database; uninstall leaves it as it was", async () => {
    const p = project(starterYaml("x", "test@host"));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const home = tempHome();
    const db = path.join(home, "nssdb");
    mkdirSync(db);
    await execaLogged("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
    const pristine = await listNss(db);
    const env = { HOME: home };

    const dry = await provision(["trust", "install", "--store", "nss", "--nssdb", db, "--dry-run"], { cwd: p.dir, env });
    expect(dry.stdout).toMatch(/will add "provision root [0-9a-f]{16}" to the nss store/);
    expect(await listNss(db)).toBe(pristine);

    const install = await provision(["trust", "install", "--store", "nss", "--nssdb", db], { cwd: p.dir, env });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/will add "provision root [0-9a-f]{16}" to the nss store .*\ndone: 1 change/);
    expect(install.stdout).toMatch(/macOS: +sudo security add-trusted-cert/);
    expect(await listNss(db)).toMatch(/provision root [0-9a-f]{16}\s+C,,/);
    const status = JSON.parse((await provision(["trust", "status", "--store", "nss", "--nssdb", db, "--json"], { cwd: p.dir, env })).stdout);
    expect(status.roots).toMatchObject([{ root: "root", store: "nss", where: db, trusted: true }]);
    expect((await provision(["trust", "install", "--store", "nss", "--nssdb", db], { cwd: p.dir, env })).stdout).toMatch(/nothing to do: already trusted/);

    const uninstall = await provision(["trust", "uninstall", "--store", "nss", "--nssdb", db], { cwd: p.dir, env });
    expect(uninstall.code).toBe(0);
    expect(uninstall.stdout).toMatch(/will remove "provision root [0-9a-f]{16}" from the nss store/);
    expect(await listNss(db)).toBe(pristine);
    expect(JSON.parse((await provision(["trust", "status", "--store", "nss", "--nssdb", db, "--json"], { cwd: p.dir, env })).stdout).roots[0].trusted).toBe(false);
  });

  it("headless Chromium loads the local HTTPS server without a certificate error once the root is installed, and shows one before", async () => {
    requireTool("chromium", "chromium");
    const p = project(starterYaml("x", "test@host"));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const port = await startHttpsServer(path.join(p.out, "servers/localhost"));
    const url = `https://localhost:${port}/`;

    const untrusting = tempHome();
    const before = await chromiumDom(url, untrusting);
    expect(before.dom).not.toContain("fluffy tail");
    expect(before.log).toMatch(/Page load failed: net::ERR_CERT_AUTHORITY_INVALID/);

    const trusting = tempHome();
    const install = await provision(["trust", "install", "--store", "nss"], { cwd: p.dir, env: { HOME: trusting } });
    expect(install.code, install.stderr).toBe(0);
    expect(existsSync(path.join(trusting, ".pki/nssdb/cert9.db"))).toBe(true);
    const after = await chromiumDom(url, trusting);
    expect(after.dom).toContain("fluffy tail");
    expect(after.log).not.toMatch(/ERR_CERT/);
  }, 120_000);
});
