import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ProvisionError } from "../../src/errors.js";
import { applyTrust, planTrust, trustRoots, trustStatus, type TrustOptions } from "../../src/trust/trust.js";
import { project, provision } from "../helpers/cli.js";

const YAML = `version: 1
cas:
  root: { commonName: Trust Unit Root, validity: 1y }
  other: { commonName: Other Root, validity: 1y }
  sub: { issuer: root, commonName: Sub CA, validity: 30d }
`;

async function provisioned() {
  const p = project(YAML);
  expect((await provision([], { cwd: p.dir })).code).toBe(0);
  return { ...p, config: (await loadConfig("pki.yaml", { cwd: p.dir })).config };
}

describe("trust/ (one NSS database, certutil)", () => {
  it("roots are the CAs without issuer, or the one named; anything else is an error", async () => {
    const { config } = await provisioned();
    expect(trustRoots(config, null).map((r) => r.name).sort()).toEqual(["other", "root"]);
    expect(trustRoots(config, "other").map((r) => r.label)).toEqual([expect.stringMatching(/^provision other [0-9a-f]{16}$/)]);
    expect(() => trustRoots(config, "sub")).toThrow(ProvisionError);
  });

  it("plan → apply → plan again: nothing left to do; uninstall removes exactly what was added", async () => {
    const { config } = await provisioned();
    const db = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-nssdb-")));
    onTestFinished(() => rmSync(db, { recursive: true, force: true }));
    const options: TrustOptions = { ca: "root", stores: new Set(["nss"]), nssdb: db, env: process.env, isRoot: false };

    const install = await planTrust(config, "install", options);
    expect(install.changes.map((c) => [c.root.name, c.store.name, c.store.where])).toEqual([["root", "nss", db]]);
    await applyTrust(install, "install");
    expect((await execa("certutil", ["-L", "-d", `sql:${db}`])).stdout).toContain(install.roots[0]!.label);
    expect((await planTrust(config, "install", options)).changes).toEqual([]);
    expect((await trustStatus(config, options)).roots).toEqual([expect.objectContaining({ root: "root", store: "nss", trusted: true })]);

    const uninstall = await planTrust(config, "uninstall", options);
    expect(uninstall.changes).toHaveLength(1);
    await applyTrust(uninstall, "uninstall");
    expect((await execa("certutil", ["-L", "-d", `sql:${db}`])).stdout).not.toContain("provision root");
    expect((await trustStatus(config, options)).roots[0]!.trusted).toBe(false);
  });

  it("without certutil on PATH the NSS stores are skipped with the package to install", async () => {
    const { config } = await provisioned();
    const plan = await planTrust(config, "install", { ca: null, stores: new Set(["nss"]), nssdb: null, env: { PATH: "/nonexistent", HOME: "/nonexistent" }, isRoot: false });
    expect(plan.changes).toEqual([]);
    expect(plan.skipped).toEqual([expect.stringContaining("libnss3-tools")]);
  });
});
