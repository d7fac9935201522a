import { appendFileSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BIN, OUTPUT_LOG, project } from "../helpers/cli.js";

const LOG_MODULES = path.join(import.meta.dirname, "../helpers/log-modules.mjs");

/** The packages (and node-forge's files) a run of the binary loaded, with its output. */
async function run(dir: string, env: NodeJS.ProcessEnv): Promise<{ packages: Set<string>; forgeFiles: Set<string>; zodBundle: boolean; output: string }> {
  const log = path.join(dir, "modules.txt");
  const result = await execa("node", ["--import", LOG_MODULES, BIN], { cwd: dir, env: { ...process.env, ...env, LOG_MODULES_FILE: log }, all: true, reject: false });
  appendFileSync(OUTPUT_LOG, `${String(result.all)}\n`);
  expect(result.exitCode, String(result.all)).toBe(0);
  const files = readFileSync(log, "utf8").split("\n").filter(Boolean);
  const packages = new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined));
  const forgeFiles = new Set(files.filter((f) => f.includes("node_modules/node-forge/")).map((f) => path.basename(f)));
  // zod is loaded from the build's bundle of it (scripts/bundle-zod.mjs), never from node_modules (its locales).
  const zodBundle = files.some((f) => f.endsWith("/dist/config/zod.js"));
  return { packages, forgeFiles, zodBundle, output: String(result.all) };
}

const yaml = (hook: string) => `version: 1
output: ./pki
defaults: { key: ecdsa-p256 }
cas:
  root: { validity: 10y }
  intermediate: { issuer: root, pathLength: 0, validity: 2y }
servers:
  web: { issuer: intermediate, altNames: [web.test], validity: 90d${hook} }
`;

// Start-up is most of a small run (docs/PERFORMANCE.md): a run loads only what its path needs.
describe("what a run loads", () => {
  it("a create from a cached pki.yaml loads no package (neither yaml, zod, execa nor node-forge); a parse loads yaml and the bundle of zod (not its locales), a hook execa", async () => {
    const p = project(yaml(""));
    const env = { XDG_CACHE_HOME: path.join(p.dir, "cache") };

    // First run: pki.yaml is parsed and validated (the config cache is empty).
    const first = await run(p.dir, env);
    expect(first.output).toMatch(/done: 3 create/);
    expect(first.packages).toContain("yaml");
    expect(first.zodBundle).toBe(true);
    expect(first.packages).not.toContain("zod");

    // The same pki.yaml, the output folder gone: a cold create that parses nothing and finds no state.json.
    rmSync(p.out, { recursive: true });
    const cold = await run(p.dir, env);
    expect(cold.output).toMatch(/done: 3 create/);
    // Certificates and CRLs are encoded by x509/encode.ts: forge is for reading back, PKCS#12 and encrypted keys.
    expect([...cold.packages].sort()).toEqual([]);
    expect([...cold.forgeFiles]).toEqual([]);
    expect(cold.zodBundle).toBe(false);

    // A hook to run loads execa (and the edited pki.yaml is parsed again).
    p.write(yaml(", afterChange: 'true'"));
    rmSync(p.out, { recursive: true });
    const hooked = await run(p.dir, env);
    expect(hooked.output).toMatch(/done: 3 create/);
    expect(hooked.packages).toContain("execa");
  });
});
