import { readFileSync, writeFileSync, copyFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";
import { certText, opensslVerify, verifyLeaf } from "../helpers/openssl.js";
import { httpsGet, startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

const DAY = 86_400_000;

describe("name-constrained dev root", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("init → provision gives a root with critical name constraints; leaves inside them verify", async () => {
    const p = project("");
    const { rmSync } = await import("node:fs");
    rmSync(path.join(p.dir, "pki.yaml"));
    const init = await provision(["init"], { cwd: p.dir });
    expect(init.code, init.stderr).toBe(0);
    expect((await provision(["init"], { cwd: p.dir })).stderr).toMatch(/already exists; init never overwrites it/);
    // A server the user adds inside the constraints.
    const yaml = readFileSync(path.join(p.dir, "pki.yaml"), "utf8").replace("altNames: [localhost, 127.0.0.1, \"::1\"]", "altNames: [localhost, app.localhost, api.test, 127.0.0.1, \"::1\"]");
    p.write(yaml);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const root = await certText(path.join(p.out, "cas/root/cert.pem"));
    expect(root).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+DNS:localhost\s+DNS:\.localhost\s+DNS:\.test\s+DNS:\.internal\s+IP:127\.0\.0\.0\/255\.0\.0\.0\s+IP:0:0:0:0:0:0:0:1\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/);
    for (const host of ["localhost", "app.localhost", "api.test"]) {
      const result = await verifyLeaf(p.out, "servers", "localhost", ["-verify_hostname", host]);
      expect(result.ok, result.output).toBe(true);
    }
    expect((await verifyLeaf(p.out, "servers", "localhost", ["-verify_ip", "::1"])).ok).toBe(true);
  });

  it("a leaf outside the constraints, signed with the CA key by the openssl CLI, is rejected by openssl and by Node TLS", async () => {
    const p = project(`version: 1
cas:
  root: { nameConstraints: { permitted: [localhost, .test, 127.0.0.0/8] } }
  intermediate: { issuer: root, validity: 1y }
servers:
  good: { issuer: intermediate, altNames: [good.test, localhost] }
`);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const dir = p.dir;
    const ext = path.join(dir, "evil.ext");
    writeFileSync(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:evil.example.com\n");
    await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "evil.key"), "-out", path.join(dir, "evil.csr"), "-subj", "/CN=evil.example.com"]);
    await execa("openssl", ["x509", "-req", "-in", path.join(dir, "evil.csr"), "-CA", path.join(p.out, "cas/intermediate/cert.pem"), "-CAkey", path.join(p.out, "cas/intermediate/key.pem"), "-days", "30", "-extfile", ext, "-out", path.join(dir, "evil.pem")]);

    const rejected = await opensslVerify(path.join(dir, "evil.pem"), ["-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(p.out, "servers/good/chain.pem")]);
    expect(rejected.ok).toBe(false);
    expect(rejected.output).toMatch(/permitted subtree violation/);
    const accepted = await verifyLeaf(p.out, "servers", "good", ["-verify_hostname", "good.test"]);
    expect(accepted.ok, accepted.output).toBe(true);

    // Serve the forged certificate with its chain: a Node client trusting the bundle refuses it.
    const serverDir = path.join(dir, "evil-server");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(serverDir);
    copyFileSync(path.join(dir, "evil.key"), path.join(serverDir, "key.pem"));
    writeFileSync(path.join(serverDir, "fullchain.pem"), readFileSync(path.join(dir, "evil.pem"), "utf8") + readFileSync(path.join(p.out, "cas/intermediate/cert.pem"), "utf8"));
    const port = await startHttpsServer(serverDir);
    await expect(httpsGet({ port, servername: "evil.example.com", caFile: path.join(p.out, "ca-bundle.pem") })).rejects.toThrow(/permitted subtree violation/);
    const goodPort = await startHttpsServer(path.join(p.out, "servers/good"));
    await expect(httpsGet({ port: goodPort, servername: "good.test", caFile: path.join(p.out, "ca-bundle.pem") })).resolves.toBe("fluffy tail");
  });

  it("plan-time validation names the identity, the name, the CA, its YAML path and line", async () => {
    const yaml = `version: 1
cas:
  root:
    nameConstraints: { permitted: [.test, 127.0.0.0/8], excluded: [secret.test] }
  intermediate:
    issuer: root
    nameConstraints: { permitted: [.example.org] }
servers:
  web:
    issuer: intermediate
    altNames: [web.test, www.example.com, 10.0.0.1, x.secret.test]
`;
    const p = project(yaml);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pki\.yaml:7:36 cas\.intermediate\.nameConstraints\.permitted\[0\]: "\.example\.org" widens the name constraints of its issuer root/m);
    expect(run.stderr).toMatch(/^pki\.yaml:11:26 servers\.web\.altNames\[1\]: "www\.example\.com" is outside the name constraints of CA root \(cas\.root\.nameConstraints, line 4\): not within the permitted DNS names \(\.test\)/m);
    expect(run.stderr).toMatch(/^pki\.yaml:11:43 servers\.web\.altNames\[2\]: "10\.0\.0\.1" is outside the name constraints of CA root .*not within the permitted IP ranges \(127\.0\.0\.0\/8\)/m);
    expect(run.stderr).toMatch(/^pki\.yaml:11:53 servers\.web\.altNames\[3\]: "x\.secret\.test" is outside the name constraints of CA root .*excluded \(secret\.test\)/m);
    expect(run.stderr).toMatch(/servers\.web\.altNames\[0\]: "web\.test" is outside the name constraints of CA intermediate/);
    expect(snapshotTree(p.out)).toEqual({});
  });
});

describe("lifetime lint", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("warns past 825 days with path and line, changes nothing; --strict fails", async () => {
    const yaml = `version: 1
cas:
  root: { validity: 10y }
servers:
  web: { issuer: root, altNames: [web.test], validity: 900d }
`;
    const p = project(yaml);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const before = snapshotTree(p.out);
    const plan = await provision(["plan"], { cwd: p.dir });
    expect(plan.code).toBe(0);
    expect(plan.stderr).toMatch(/^pki\.yaml:5:56 servers\.web\.validity: warning: validity 900d makes a certificate that lives longer than 825 days \(notBefore is backdated 5 minutes for clock skew\), the most Apple platforms accept/m);
    const again = await provision([], { cwd: p.dir });
    expect(again.stderr).toMatch(/warning: validity 900d makes a certificate that lives longer than 825 days/);
    const strict = await provision(["plan", "--strict"], { cwd: p.dir });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/error: pki\.yaml has 1 warning and --strict is set/);
    expect((await provision(["--strict"], { cwd: p.dir })).code).toBe(1);
    expect(snapshotTree(p.out)).toEqual(before);
  });

  it("lint.maxLeafValidity opts into a stricter limit, for servers and clients", async () => {
    const p = project(`version: 1
lint: { maxLeafValidity: 398d }
cas:
  root: { validity: 10y }
servers:
  web: { issuer: root, altNames: [web.test], validity: 400d }
clients:
  bot: { issuer: root, validity: 397d }
`);
    const plan = await provision(["plan"], { cwd: p.dir });
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/^pki\.yaml:6:\d+ servers\.web\.validity: warning: validity 400d makes a certificate that lives longer than lint\.maxLeafValidity 398d \(notBefore is backdated 5 minutes for clock skew\); use 397d or less$/m);
    expect(plan.stderr).not.toMatch(/clients\.bot/);
    expect((await provision(["--strict"], { cwd: p.dir })).code).toBe(1);
    expect(snapshotTree(p.out)).toEqual({});
  });
});

describe("CA key rollover with overlap", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("a client holding the mid-rollover bundle verifies both an old-key leaf and a new-key leaf; later the old root leaves the bundle", async () => {
    const T0 = Date.parse("2027-05-01T00:00:00Z");
    const p = project(`version: 1
cas:
  root: { validity: 5y, crlValidity: 1y } # its CRL outlasts this month-long walk
servers:
  web: { issuer: root, altNames: [web.test], validity: 30d }
`);
    const at = (days: number) => ["--now", new Date(T0 + days * DAY).toISOString()];
    expect((await provision(at(0), { cwd: p.dir })).code).toBe(0);
    const oldLeaf = path.join(p.dir, "old-leaf.pem");
    copyFileSync(path.join(p.out, "servers/web/cert.pem"), oldLeaf);
    const oldRoot = readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8");

    const plan = await provision(["plan", "--json", "--rotate-ca-key", "root", ...at(1)], { cwd: p.dir });
    expect(plan.code).toBe(2);
    expect(JSON.parse(plan.stdout).actions.map((a: { name: string; action: string; key: string }) => `${a.name}:${a.action}:${a.key}`)).toEqual(["root:reissue:generate", "web:reissue:generate"]);
    expect((await provision(["--rotate-ca-key", "root", ...at(1)], { cwd: p.dir })).code).toBe(0);
    const bundle = readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8");
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle).toContain(oldRoot);
    const midBundle = path.join(p.dir, "mid-bundle.pem");
    writeFileSync(midBundle, bundle);

    const attime = ["-attime", String(Math.floor((T0 + 2 * DAY) / 1000))];
    const oldOk = await opensslVerify(oldLeaf, [...attime, "-CAfile", midBundle]);
    const newOk = await opensslVerify(path.join(p.out, "servers/web/cert.pem"), [...attime, "-CAfile", midBundle]);
    expect(oldOk.ok, oldOk.output).toBe(true);
    expect(newOk.ok, newOk.output).toBe(true);
    // Only the new root: the old leaf no longer verifies, so the overlap was needed.
    expect((await opensslVerify(oldLeaf, [...attime, "-CAfile", path.join(p.out, "cas/root/cert.pem")])).ok).toBe(false);

    // Once every old-key certificate has expired (the old leaf's 30 days), the old root leaves the bundle.
    expect((await provision(["plan", ...at(20)], { cwd: p.dir })).code).toBe(0);
    const after = await provision(["plan", ...at(31)], { cwd: p.dir });
    expect(after.stdout).toMatch(/refresh ca-bundle\.pem/);
    expect((await provision(at(31), { cwd: p.dir })).code).toBe(0);
    expect(readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8")).toBe(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8"));
  });
});
