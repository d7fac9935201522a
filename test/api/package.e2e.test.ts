import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished, beforeAll } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { requireTool } from "../helpers/require-tool.js";

const CONSUMER = `import { createPki, ProvisionError } from "pki-provision";
const pki = await createPki("version: 1\\ncas:\\n  root: { commonName: Packed Root }\\nservers:\\n  web: { issuer: root, altNames: [localhost] }\\n");
const web = pki.get("web");
console.log(JSON.stringify({ names: [...pki.identities.keys()], cert: web.cert.startsWith("-----BEGIN CERTIFICATE-----"), error: typeof ProvisionError }));
`;

const TYPED = `import { createPki, type InMemoryPki, type PkiSpec } from "pki-provision";
const spec: PkiSpec = { version: 1, cas: { root: { commonName: "R" } }, servers: { web: { issuer: "root", altNames: ["localhost"] } } };
export const pki: InMemoryPki = await createPki(spec);
export const cert: string = pki.get("web").cert;
// @ts-expect-error a spec needs its version
export const bad: PkiSpec = { cas: {} };
`;

/**
 * The package as npm would install it: \`npm pack\` (the built dist/, files and exports of package.json),
 * unpacked into a separate folder's node_modules. Its dependencies are linked from this checkout, so the test
 * needs no registry.
 */
function tempFolder(): string {
  const work = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-pack-")));
  onTestFinished(() => rmSync(work, { recursive: true, force: true }));
  return work;
}

describe("the packed package (pki-provision)", () => {
  beforeAll(() => { requireTool("npm", "npm"); requireTool("tar", "tar"); });
  it("imports as ESM from another folder and type-checks for a tsc consumer", async () => {
    const work = tempFolder();
    await execa("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
    expect(tarball).toMatch(/^pki-provision-\d+\.\d+\.\d+\.tgz$/);
    const consumer = path.join(work, "consumer");
    const installed = path.join(consumer, "node_modules/pki-provision");
    mkdirSync(installed, { recursive: true });
    mkdirSync(path.join(consumer, "node_modules/@types"));
    await execa("tar", ["-xzf", path.join(work, tarball), "-C", installed, "--strip-components=1"]);
    for (const dep of ["execa", "node-forge", "yaml", "zod", "@types/node"]) symlinkSync(path.join(ROOT, "node_modules", dep), path.join(consumer, "node_modules", dep));
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    writeFileSync(path.join(consumer, "use.mjs"), CONSUMER);
    writeFileSync(path.join(consumer, "typed.ts"), TYPED);
    writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] }, files: ["typed.ts"] }),
    );

    const run = await execa("node", ["use.mjs"], { cwd: consumer });
    expect(JSON.parse(run.stdout)).toEqual({ names: ["root", "web"], cert: true, error: "function" });
    // Only the entry point is public: deep imports are closed by package.json "exports".
    const deep = await execa("node", ["-e", "import('pki-provision/dist/plan/build.js')"], { cwd: consumer, reject: false });
    expect(deep.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");

    const tsc = await execa(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: consumer, reject: false });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.exitCode).toBe(0);
    // The twin: a consumer that misuses the types fails to compile.
    writeFileSync(path.join(consumer, "typed.ts"), `${TYPED}\nexport const wrong: number = pki.get("web").cert;\n`);
    const failing = await execa(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: consumer, reject: false });
    expect(failing.exitCode).not.toBe(0);
    expect(failing.stdout).toMatch(/typed\.ts.*Type 'string' is not assignable to type 'number'/);
  }, 240_000);
});
