import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { project, provision } from "../helpers/cli.js";

const YAML = "version: 1\ncas:\n  root: {}\n  intermediate: { issuer: root }\nservers:\n  web: { issuer: intermediate, altNames: [web.test] }\n";

function cacheHome(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "provision-cache-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const spki = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");

describe("a CA key.pem without its cert.pem, as a first run of an earlier version killed between the two left it", () => {
  it("is finished by the next run on the same machine, with the key it wrote; a key from elsewhere is still refused", async () => {
    const p = project(YAML);
    const env = { XDG_CACHE_HOME: cacheHome() };
    expect((await provision([], { cwd: p.dir, env })).code).toBe(0);
    const rootKey = readFileSync(path.join(p.out, "cas/root/key.pem"), "utf8");
    // What a kill after the key's rename and before the certificate's left before folders were written whole
    // (store/folder-swap.ts): keys, no certificates, no state.
    for (const file of ["cas/root/cert.pem", "cas/intermediate/cert.pem", "state.json"]) rmSync(path.join(p.out, file));

    const resumed = await provision([], { cwd: p.dir, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const root = new X509Certificate(readFileSync(path.join(p.out, "cas/root/cert.pem")));
    expect(spki(rootKey)).toBe(root.publicKey.export({ type: "spki", format: "der" }).toString("base64"));
    expect(readFileSync(path.join(p.out, "cas/root/key.pem"), "utf8")).toBe(rootKey);

    // The same leftovers met by another machine (or a key planted in the output folder): never adopted silently.
    for (const file of ["cas/root/cert.pem", "cas/intermediate/cert.pem", "state.json"]) rmSync(path.join(p.out, file));
    const elsewhere = await provision([], { cwd: p.dir, env: { XDG_CACHE_HOME: cacheHome() } });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/CA (root|intermediate) has a key\.pem but no certificate/);
    expect(elsewhere.stderr).toMatch(/--adopt-ca-key/);
  });
});
