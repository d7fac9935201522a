import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { project, provision, squirrelsYaml } from "../helpers/cli.js";
import { changedFiles, snapshotTree } from "../helpers/files.js";
import { verifyLeaf } from "../helpers/openssl.js";

const fingerprintOf = (file: string) => readFileSync(file, "utf8");

describe("idempotency", () => {
  it("a second run reports all unchanged and touches no file (bytes and mtimes)", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const before = snapshotTree(p.out);
    await new Promise((r) => setTimeout(r, 20));
    const second = await provision(["--json"], { cwd: p.dir });
    expect(second.code).toBe(0);
    const plan = JSON.parse(second.stdout);
    expect(plan.actions.map((a: { action: string }) => a.action)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged"]);
    expect(plan.written).toEqual([]);
    expect(snapshotTree(p.out)).toEqual(before);
    const human = await provision([], { cwd: p.dir });
    expect(human.stdout).toMatch(/nothing to do/);
    expect((await provision(["plan"], { cwd: p.dir })).code).toBe(0);
  });

  it("adding one altName re-issues exactly that server", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const before = snapshotTree(p.out);
    p.write(squirrelsYaml({ serverAltNames: ["my-site.com", "localhost", "127.0.0.1", "::1", "*.squirrels.test", "api.squirrels.test"] }));
    const planned = await provision(["plan"], { cwd: p.dir });
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(/secret-server\s+server\s+reissue\s+altNames changed \(\+api\.squirrels\.test\)/);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(changedFiles(before, snapshotTree(p.out))).toEqual([
      "servers/secret-server/cert.pem",
      "servers/secret-server/fullchain.pem",
      "servers/secret-server/key.pem",
      "state.json",
    ]);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "api.squirrels.test"])).ok).toBe(true);
  });

  it("removing one altName re-issues exactly that server, and the old name no longer verifies", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "x.squirrels.test"])).ok).toBe(true);
    const before = snapshotTree(p.out);
    p.write(squirrelsYaml({ serverAltNames: ["my-site.com", "localhost", "127.0.0.1", "::1"] }));
    const planned = await provision(["plan"], { cwd: p.dir });
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(/secret-server\s+server\s+reissue\s+altNames changed \(-\*\.squirrels\.test\)/);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect(changedFiles(before, snapshotTree(p.out))).toEqual([
      "servers/secret-server/cert.pem",
      "servers/secret-server/fullchain.pem",
      "servers/secret-server/key.pem",
      "state.json",
    ]);
    const gone = await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "x.squirrels.test"]);
    expect(gone.ok).toBe(false);
    expect(gone.output).toMatch(/hostname mismatch/);
    expect((await provision(["plan"], { cwd: p.dir })).code).toBe(0);
  });

  it("changing the intermediate's validity re-issues it and its children, not the root", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const rootCert = fingerprintOf(path.join(p.out, "cas/root/cert.pem"));
    const intermediateKey = fingerprintOf(path.join(p.out, "cas/intermediate/key.pem"));
    p.write(squirrelsYaml({ intermediateValidity: "3y" }));
    const run = await provision(["--json"], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const actions = Object.fromEntries(JSON.parse(run.stdout).actions.map((a: { name: string; action: string; reasons: string[] }) => [a.name, a]));
    expect(actions.root.action).toBe("unchanged");
    expect(actions.intermediate).toMatchObject({ action: "reissue", reasons: ["validity changed (2y → 3y)"] });
    expect(actions["secret-server"]).toMatchObject({ action: "reissue", reasons: ["issuer intermediate reissued"] });
    expect(actions.alice.action).toBe("reissue");
    expect(fingerprintOf(path.join(p.out, "cas/root/cert.pem"))).toBe(rootCert);
    // A CA keeps its key unless --rotate-ca-key says otherwise.
    expect(fingerprintOf(path.join(p.out, "cas/intermediate/key.pem"))).toBe(intermediateKey);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "localhost"])).ok).toBe(true);
  });

  it("--dry-run shows the plan and writes nothing, not even the output folder", async () => {
    const p = project(squirrelsYaml());
    const run = await provision(["--dry-run"], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/root\s+ca\s+create\s+new/);
    expect(snapshotTree(p.out)).toEqual({});
  });

  it("-f picks another file and output is relative to it", async () => {
    const p = project("");
    const { mkdirSync, writeFileSync, existsSync } = await import("node:fs");
    mkdirSync(path.join(p.dir, "conf"));
    writeFileSync(path.join(p.dir, "conf/team.yaml"), squirrelsYaml());
    const run = await provision(["-f", "conf/team.yaml"], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(p.dir, "conf/pki/ca-bundle.pem"))).toBe(true);
  });
});

describe("damage on disk is detected and repaired", () => {
  it("re-issues a truncated leaf cert, a swapped key and a leaf signed by another CA, with reasons", async () => {
    const p = project(squirrelsYaml());
    const other = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect((await provision([], { cwd: other.dir })).code).toBe(0);
    const { writeFileSync, copyFileSync } = await import("node:fs");
    const serverCert = path.join(p.out, "servers/secret-server/cert.pem");
    writeFileSync(serverCert, readFileSync(serverCert, "utf8").slice(0, 200));
    copyFileSync(path.join(other.out, "clients/alice/key.pem"), path.join(p.out, "clients/alice/key.pem"));
    const plan = await provision(["plan", "--json"], { cwd: p.dir });
    const actions = Object.fromEntries(JSON.parse(plan.stdout).actions.map((a: { name: string }) => [a.name, a]));
    expect(actions["secret-server"]).toMatchObject({ action: "reissue", reasons: ["certificate unreadable (not a valid PEM certificate)"] });
    expect(actions.alice).toMatchObject({ action: "reissue", reasons: ["key does not match the certificate"] });
    expect(actions.root.action).toBe("unchanged");
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "localhost"])).ok).toBe(true);

    copyFileSync(path.join(other.out, "servers/secret-server/cert.pem"), serverCert);
    copyFileSync(path.join(other.out, "servers/secret-server/key.pem"), path.join(p.out, "servers/secret-server/key.pem"));
    const foreign = JSON.parse((await provision(["plan", "--json"], { cwd: p.dir })).stdout);
    expect(foreign.actions.find((a: { name: string }) => a.name === "secret-server").reasons).toContain("not signed by the current intermediate certificate");
  });

  it("never replaces a CA key silently", async () => {
    const p = project(squirrelsYaml());
    const other = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect((await provision([], { cwd: other.dir })).code).toBe(0);
    const { copyFileSync, rmSync } = await import("node:fs");
    copyFileSync(path.join(other.out, "cas/intermediate/key.pem"), path.join(p.out, "cas/intermediate/key.pem"));
    const before = snapshotTree(p.out);
    const mismatch = await provision([], { cwd: p.dir });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/error: the key of CA intermediate does not match its certificate/);
    expect(mismatch.stderr).toMatch(/--rotate-ca-key intermediate/);
    expect(snapshotTree(p.out)).toEqual(before);

    rmSync(path.join(p.out, "cas/intermediate/key.pem"));
    const missing = await provision([], { cwd: p.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the key of CA intermediate is missing/);

    const rotated = await provision(["--rotate-ca-key", "intermediate", "--json"], { cwd: p.dir });
    expect(rotated.code, rotated.stderr).toBe(0);
    const actions = JSON.parse(rotated.stdout).actions;
    expect(actions.map((a: { name: string; action: string }) => `${a.name}:${a.action}`)).toEqual([
      "root:unchanged", "intermediate:reissue", "secret-server:reissue", "alice:reissue",
    ]);
    expect((await verifyLeaf(p.out, "clients", "alice")).ok).toBe(true);
  });
});
