import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-04T03:00:00Z");

// CRLs outlast the walk here (their refresh is walked in test/revoke/crl-lifecycle.test.ts).
const WALK_YAML = `version: 1
cas:
  root: { validity: 10y, crlValidity: 5y }
  intermediate: { issuer: root, validity: 2y, crlValidity: 5y }
servers:
  web: { issuer: intermediate, altNames: [web.test], validity: 30d }
clients:
  bob: { issuer: intermediate, altNames: [bob@example.test], validity: 90d, rotateKey: never }
`;

const DIRS: Record<string, string> = { root: "cas/root", intermediate: "cas/intermediate", web: "servers/web", bob: "clients/bob" };

function certOf(out: string, name: string): X509Certificate | null {
  const file = path.join(out, DIRS[name]!, "cert.pem");
  return existsSync(file) ? new X509Certificate(readFileSync(file)) : null;
}

function publicKeyOf(out: string, name: string): string {
  return createPublicKey(readFileSync(path.join(out, DIRS[name]!, "key.pem"), "utf8")).export({ type: "spki", format: "pem" }) as string;
}

/** The rule, restated independently of the planner: renew once two thirds of the lifetime have passed. */
function dueForRenewal(cert: X509Certificate, now: number): boolean {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const windowMs = Math.floor((notAfter - notBefore) / 3000) * 1000;
  return now >= notAfter - windowMs;
}

async function verifyAt(out: string, now: number): Promise<void> {
  const attime = String(Math.floor(now / 1000));
  for (const [name, purpose] of [["web", "sslserver"], ["bob", "sslclient"]] as const) {
    const dir = path.join(out, DIRS[name]!);
    const result = await opensslVerify(path.join(dir, "cert.pem"), ["-attime", attime, "-purpose", purpose, "-CAfile", path.join(out, "ca-bundle.pem"), "-untrusted", path.join(dir, "chain.pem")]);
    expect(result.ok, `${name} at ${new Date(now).toISOString()}: ${result.output}`).toBe(true);
  }
}

describe("renewal over two years of nightly runs", () => {
  it("renews each identity exactly when its window opens, never earlier, never twice; keys per rotateKey; chains keep verifying", async () => {
    const p = project(WALK_YAML);
    const renewals: Record<string, number> = { root: 0, intermediate: 0, web: 0, bob: 0 };
    for (let night = 0; night <= 730; night++) {
      const now = T0 + night * DAY;
      const iso = new Date(now).toISOString();
      const before = Object.fromEntries(Object.keys(DIRS).map((n) => [n, certOf(p.out, n)]));
      const keysBefore = night === 0 ? null : Object.fromEntries(Object.keys(DIRS).map((n) => [n, publicKeyOf(p.out, n)]));
      const expected = Object.fromEntries(
        Object.keys(DIRS).map((n) => [n, before[n] === null ? "create" : dueForRenewal(before[n]!, now) ? "renew" : "unchanged"]),
      );
      const pending = Object.values(expected).some((a) => a !== "unchanged");

      const plan = await provision(["plan", "--json", "--now", iso], { cwd: p.dir });
      expect(plan.code, `night ${night}: ${plan.stderr}`).toBe(pending ? 2 : 0);
      const run = await provision(["--json", "--now", iso], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      const actions = Object.fromEntries(JSON.parse(run.stdout).actions.map((a: { name: string; action: string }) => [a.name, a.action]));
      expect(actions, `night ${night} (${iso})`).toEqual(expected);

      for (const name of Object.keys(DIRS)) {
        if (actions[name] !== "renew") continue;
        renewals[name]!++;
        const fresh = publicKeyOf(p.out, name);
        if (name === "web") expect(fresh).not.toBe(keysBefore![name]);
        else expect(fresh, `${name} keeps its key`).toBe(keysBefore![name]);
        const after = certOf(p.out, name)!;
        expect(after.subject).toBe(before[name]!.subject);
        expect(Date.parse(after.validFrom)).toBeLessThanOrEqual(now);
      }
      if (actions.intermediate === "renew") {
        // Same key and subject: what it signed earlier still verifies, so nothing below is re-issued.
        expect(actions.web === "unchanged" || actions.web === "renew").toBe(true);
        expect(["unchanged", "renew"]).toContain(actions.bob);
        const oldLeaf = before.bob!;
        expect(certOf(p.out, "bob")!.fingerprint256 === oldLeaf.fingerprint256 || actions.bob === "renew").toBe(true);
      }
      if (pending || night % 30 === 0) await verifyAt(p.out, now);
    }
    expect(renewals.root).toBe(0);
    expect(renewals.intermediate).toBe(1);
    expect(renewals.web).toBe(36);
    expect(renewals.bob).toBe(12);

    // Finally a requested CA key rotation re-issues the whole subtree, with new keys, and nothing above it.
    const end = new Date(T0 + 731 * DAY).toISOString();
    const keys = { intermediate: publicKeyOf(p.out, "intermediate"), bob: publicKeyOf(p.out, "bob") };
    const rotated = await provision(["--json", "--now", end, "--rotate-ca-key", "intermediate"], { cwd: p.dir });
    expect(rotated.code, rotated.stderr).toBe(0);
    const acts = JSON.parse(rotated.stdout).actions.map((a: { name: string; action: string; key: string }) => `${a.name}:${a.action}:${a.key}`);
    expect(acts).toEqual(["root:unchanged:none", "intermediate:reissue:generate", "web:reissue:generate", "bob:reissue:reuse"]);
    expect(publicKeyOf(p.out, "intermediate")).not.toBe(keys.intermediate);
    expect(publicKeyOf(p.out, "bob")).toBe(keys.bob);
    await verifyAt(p.out, Date.parse(end));
  }, 240_000);
});

describe("the renewal window's first second", () => {
  it("renews at exactly notAfter − window, not one second earlier (durations and fractions)", async () => {
    const p = project(`version: 1
cas:
  root: { validity: 10y }
servers:
  fixed: { issuer: root, altNames: [fixed.test], validity: 30d, renewBefore: 10d }
  third: { issuer: root, altNames: [third.test], validity: 30d }
`);
    expect((await provision(["--now", new Date(T0).toISOString()], { cwd: p.dir })).code).toBe(0);
    const notAfter = T0 + 30 * DAY;
    // renewBefore 10d: the window opens 10 days before notAfter. 1/3: a third of notAfter − notBefore as
    // written (30 days and the 5-minute backdate), rounded down to whole seconds.
    const opens = { fixed: notAfter - 10 * DAY, third: notAfter - Math.floor((30 * 86_400 + 300) / 3) * 1000 };
    const actionsAt = async (ms: number) => {
      const run = await provision(["plan", "--json", "--now", new Date(ms).toISOString()], { cwd: p.dir });
      return Object.fromEntries(JSON.parse(run.stdout).actions.map((a: { name: string; action: string }) => [a.name, a.action]));
    };
    expect(await actionsAt(opens.third - 1000)).toMatchObject({ fixed: "unchanged", third: "unchanged" });
    expect(await actionsAt(opens.third)).toMatchObject({ fixed: "unchanged", third: "renew" });
    expect(await actionsAt(opens.fixed - 1000)).toMatchObject({ fixed: "unchanged", third: "renew" });
    expect(await actionsAt(opens.fixed)).toMatchObject({ fixed: "renew", root: "unchanged" });
  });
});

describe("root renewal keeps clients working", () => {
  it("the renewed root goes into ca-bundle.pem beside the old one until the old one expires", async () => {
    const p = project(`version: 1
cas:
  root: { validity: 90d }
servers:
  web: { issuer: root, altNames: [web.test], validity: 10d }
`);
    expect((await provision(["--now", new Date(T0).toISOString()], { cwd: p.dir })).code).toBe(0);
    const oldBundle = readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(p.dir, "old-bundle.pem"), oldBundle);

    const renewNight = T0 + 61 * DAY;
    const run = await provision(["--json", "--now", new Date(renewNight).toISOString()], { cwd: p.dir });
    const actions = JSON.parse(run.stdout).actions;
    expect(actions[0]).toMatchObject({ name: "root", action: "renew", key: "reuse" });
    expect(actions[0].reasons[0]).toMatch(/^expires in 29 days \(window 1\/3 of 90d = 30d\)$/);
    const bundle = readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8");
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle.startsWith(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8"))).toBe(true);

    // A client still holding the bundle from before the renewal verifies the newest leaf, and vice versa.
    const attime = String(Math.floor(renewNight / 1000));
    const leaf = path.join(p.out, "servers/web/cert.pem");
    for (const caFile of [path.join(p.dir, "old-bundle.pem"), path.join(p.out, "ca-bundle.pem")]) {
      const result = await opensslVerify(leaf, ["-attime", attime, "-CAfile", caFile, "-untrusted", path.join(p.out, "servers/web/chain.pem")]);
      expect(result.ok, result.output).toBe(true);
    }

    // Once the old root has expired, the next run drops it from the bundle.
    const afterExpiry = new Date(T0 + 91 * DAY).toISOString();
    const plan = await provision(["plan", "--now", afterExpiry], { cwd: p.dir });
    expect(plan.stdout).toMatch(/refresh ca-bundle\.pem/);
    expect((await provision(["--now", afterExpiry], { cwd: p.dir })).code).toBe(0);
    expect(readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8").match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8")).toBe(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8"));
  });

  it("an issuer too close to its end is renewed first so a new leaf never outlives it", async () => {
    const p = project(`version: 1
cas:
  root: { validity: 90d, renewBefore: 5d }
servers:
  web: { issuer: root, altNames: [web.test], validity: 30d }
`);
    expect((await provision(["--now", new Date(T0).toISOString()], { cwd: p.dir })).code).toBe(0);
    const run = await provision(["--json", "--now", new Date(T0 + 70 * DAY).toISOString()], { cwd: p.dir });
    const [root, web] = JSON.parse(run.stdout).actions;
    expect(web).toMatchObject({ action: "renew" });
    expect(root).toMatchObject({ action: "renew" });
    expect(root.reasons[0]).toMatch(/renewed so it outlives web's new certificate/);
    expect(Date.parse(root.notAfter)).toBeGreaterThan(Date.parse(web.notAfter));
  });
});

describe("plan, status and their exit codes", () => {
  it("plan: 0 nothing to do, 2 pending, 1 error; status --within: 0 or 2; --json on both", async () => {
    const p = project(WALK_YAML);
    // Pinned so "days left" does not depend on how fast the machine is.
    const at = ["--now", new Date(T0).toISOString()];
    expect((await provision(["plan", ...at], { cwd: p.dir })).code).toBe(2);
    expect((await provision([...at], { cwd: p.dir })).code).toBe(0);
    expect((await provision(["plan", ...at], { cwd: p.dir })).code).toBe(0);
    expect((await provision(["plan", "--now", "not a time"], { cwd: p.dir })).code).toBe(1);

    const status = await provision(["status", "--json", ...at], { cwd: p.dir });
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).identities;
    expect(rows.map((r: { name: string; state: string }) => `${r.name}:${r.state}`)).toEqual(["root:ok", "intermediate:ok", "web:ok", "bob:ok"]);
    expect(rows[2]).toMatchObject({ kind: "server", issuer: "intermediate", key: "ecdsa-p256", names: ["web.test"], daysLeft: 30 });

    expect((await provision(["status", "--within", "7d", ...at], { cwd: p.dir })).code).toBe(0);
    const soon = await provision(["status", "--within", "31d", ...at], { cwd: p.dir });
    expect(soon.code).toBe(2);
    expect(soon.stdout).toMatch(/web\s+server\s+intermediate\s+ecdsa-p256\s+\S+ \S+\s+30\s+\S+ \S+\s+ok \(due\)/);
    expect((await provision(["status", "--within", "3 weeks"], { cwd: p.dir })).code).toBe(1);

    const later = new Date(T0 + 25 * DAY).toISOString();
    const renewSoon = JSON.parse((await provision(["status", "--json", "--now", later], { cwd: p.dir })).stdout).identities;
    expect(renewSoon.find((r: { name: string }) => r.name === "web").state).toBe("renew soon");
    const expired = JSON.parse((await provision(["status", "--json", "--now", new Date(T0 + 40 * DAY).toISOString()], { cwd: p.dir })).stdout).identities;
    expect(expired.find((r: { name: string }) => r.name === "web").state).toBe("expired");
    p.write(WALK_YAML.replace("[web.test]", "[web.test, api.test]"));
    const changed = JSON.parse((await provision(["status", "--json", ...at], { cwd: p.dir })).stdout).identities;
    expect(changed.find((r: { name: string }) => r.name === "web").state).toBe("spec changed");
  });

  it("an identity removed from pki.yaml is reported orphaned; --prune deletes its files", async () => {
    const p = project(WALK_YAML);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    p.write(WALK_YAML.replace(/clients:\n.*\n/, ""));
    const plan = await provision(["plan"], { cwd: p.dir });
    expect(plan.stdout).toMatch(/bob\s+client\s+orphaned\s+not in pki\.yaml: files kept \(run with --prune to delete them\)/);
    expect(plan.code).toBe(0);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect(existsSync(path.join(p.out, "clients/bob/cert.pem"))).toBe(true);
    expect((await provision(["plan", "--prune"], { cwd: p.dir })).code).toBe(2);
    const pruned = await provision(["--prune"], { cwd: p.dir });
    expect(pruned.code).toBe(0);
    expect(existsSync(path.join(p.out, "clients/bob"))).toBe(false);
    expect((await provision(["plan"], { cwd: p.dir })).stdout).not.toMatch(/bob/);
  });
});
