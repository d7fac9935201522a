import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { OUTPUT_LOG } from "../helpers/output-log.js";
import { freePort, waitForPort } from "../helpers/process.js";
import { requireTool } from "../helpers/require-tool.js";

const VERSION = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;

/**
 * `npm install` of the packed tarball into an empty prefix. The dependencies come from npm's cache when it has
 * them (--offline); a machine whose cache lacks their metadata fetches it from the registry once (--prefer-offline).
 */
async function installTarball(prefix: string, tarball: string): Promise<void> {
  const common = ["install", "--prefix", prefix, "--no-audit", "--no-fund", tarball];
  const offline = await execa("npm", [...common, "--offline"], { reject: false, cwd: path.dirname(tarball) });
  if (offline.exitCode === 0) return;
  expect(offline.stderr, "npm install --offline").toMatch(/ENOTCACHED|only-if-cached/);
  await execa("npm", [...common, "--prefer-offline"], { cwd: path.dirname(tarball) });
}

async function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await execa(file, args, { cwd, env: { ...process.env, ...env }, reject: false });
  appendFileSync(OUTPUT_LOG, `${result.stdout}\n${result.stderr}\n`);
  return result;
}

describe("the package as a stranger installs it (npm pack, npm install into an empty prefix)", () => {
  it("gives a provision command that runs init, provision, plan, serve and exec from folders outside the clone", async () => {
    requireTool("npm", "npm");
    requireTool("curl", "curl");
    const work = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-install-")));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    await execa("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT });
    const tarball = path.join(work, readdirSync(work).find((f) => f.endsWith(".tgz"))!);
    expect(path.basename(tarball)).toBe(`pki-provision-${VERSION}.tgz`);

    const prefix = path.join(work, "prefix");
    mkdirSync(prefix);
    await installTarball(prefix, tarball);
    const bin = path.join(prefix, "node_modules/.bin/provision");
    expect(existsSync(bin)).toBe(true);
    const shipped = path.join(prefix, "node_modules/pki-provision");
    expect(existsSync(path.join(shipped, "pki.schema.json"))).toBe(true);
    expect(existsSync(path.join(shipped, "test")) || existsSync(path.join(shipped, "src"))).toBe(false);

    // 1. A folder outside both the clone and the prefix: the versioned schema URL, and npx with the package name.
    const elsewhere = path.join(work, "elsewhere");
    mkdirSync(elsewhere);
    const init = await run(bin, ["init"], elsewhere);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain("next: npx pki-provision   (creates ./pki)");
    expect(readFileSync(path.join(elsewhere, "pki.yaml"), "utf8").split("\n")[0]).toBe(`# yaml-language-server: $schema=https://unpkg.com/pki-provision@${VERSION}/pki.schema.json`);

    // 2. A project inside the prefix (where npm i -D pki-provision put it): a relative $schema that exists, and
    // the printed next step, `npx provision`, runs the installed copy.
    const app = path.join(prefix, "app");
    mkdirSync(app);
    const appInit = await run(bin, ["init"], app);
    expect(appInit.stdout).toContain("next: npx provision   (creates ./pki)");
    const schemaRef = readFileSync(path.join(app, "pki.yaml"), "utf8").split("\n")[0]!.replace("# yaml-language-server: $schema=", "");
    expect(schemaRef).toBe("../node_modules/pki-provision/pki.schema.json");
    expect(existsSync(path.resolve(app, schemaRef))).toBe(true);
    // The server's port: a free one, so the test does not depend on 8443 being free.
    const port = await freePort();
    writeFileSync(path.join(app, "pki.yaml"), readFileSync(path.join(app, "pki.yaml"), "utf8").replace("port: 8443", `port: ${port}`));
    // A private npm cache, as in test/repo/docs.test.ts: concurrent npx runs share ~/.npm/_npx.
    const first = await run("npx", ["--no-install", "provision"], app, { npm_config_cache: path.join(work, "npm-cache") });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/localhost\s+server\s+create/);
    expect((await run(bin, ["plan"], app)).exitCode).toBe(0);
    expect((await run(bin, ["plan"], elsewhere)).exitCode).toBe(2);

    // 3. serve (the bundled Node engine) in its own process group, and a client through exec.
    const server = execa(bin, ["serve", "localhost", "--engine", "node"], { cwd: app, detached: true, reject: false, all: true });
    const stop = async () => {
      try {
        process.kill(-server.pid!, "SIGTERM");
      } catch {
        return;
      }
      await server;
    };
    onTestFinished(stop);
    await waitForPort(port);
    const curl = await run(bin, ["exec", "localhost", "--", "sh", "-c", 'curl -sS --fail "$SECRET_URL"'], app);
    expect(curl.stdout, curl.stderr).toContain("fluffy tail");
    const node = await run(bin, ["exec", "localhost", "--", "node", "-e", "fetch(process.env.SECRET_URL).then((r) => r.text()).then(console.log)"], app);
    expect(node.stdout, node.stderr).toContain("fluffy tail");
    // The twin: without exec's CA bundle, curl refuses the server.
    const bare = await run("curl", ["-sS", `https://localhost:${port}/`], app, { CURL_CA_BUNDLE: "", SSL_CERT_FILE: "" });
    expect(bare.exitCode).not.toBe(0);
    await stop();
  }, 300_000);
});
