import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision, ROOT } from "../helpers/cli.js";
import { opensslVerify, verifyLeaf } from "../helpers/openssl.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { httpsGet, startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

const ADMIN_ENV = { TEAM_CA_PASSPHRASE: TEST_SECRETS.teamAdmin };
// The member never has the admin's passphrase: every member command runs without it.
const MEMBER_ENV = { TEAM_CA_PASSPHRASE: undefined };

const read = (file: string) => readFileSync(file, "utf8");
const withSchema = (yaml: string) => yaml.replace(/\$schema=[^\n]+/, `$schema=${ROOT}/pki.schema.json`);

/** The member's pki.yaml (examples/team/member): the admin's intermediate as an external CA without key. */
const memberYaml = withSchema(read(path.join(ROOT, "examples/team/member/pki.yaml")));

/** An admin folder holding the full team PKI (examples/team/pki.yaml), CA keys encrypted. */
async function teamAdmin() {
  const admin = project(withSchema(read(path.join(ROOT, "examples/team/pki.yaml"))));
  const run = await provision([], { cwd: admin.dir, env: ADMIN_ENV });
  expect(run.code, run.stderr).toBe(0);
  return admin;
}

/** What an admin hands a member: the intermediate's certificate and the bundle (no secret in either). */
function memberOf(admin: { out: string }) {
  const member = project(memberYaml);
  mkdirSync(path.join(member.dir, "team-ca"));
  copyFileSync(path.join(admin.out, "cas/intermediate/cert.pem"), path.join(member.dir, "team-ca/intermediate.pem"));
  copyFileSync(path.join(admin.out, "ca-bundle.pem"), path.join(member.dir, "team-ca/ca-bundle.pem"));
  return member;
}

async function signFor(admin: { dir: string }, csrFile: string, name: string, profile: "server" | "client"): Promise<string> {
  copyFileSync(csrFile, path.join(admin.dir, `${name}.csr`));
  const signed = await provision(["sign", "--csr", `${name}.csr`, "--issuer", "intermediate", "--profile", profile, "--out", `${name}.pem`], { cwd: admin.dir, env: ADMIN_ENV });
  expect(signed.code, signed.stderr).toBe(0);
  return path.join(admin.dir, `${name}.pem`);
}

describe("team member mode: the admin's intermediate as an external CA without key", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("member: plan and status without the passphrase, csr, admin signs, import; kept, verified, served", async () => {
    const admin = await teamAdmin();
    const member = memberOf(admin);
    const externalBefore = [read(path.join(member.dir, "team-ca/intermediate.pem")), read(path.join(member.dir, "team-ca/ca-bundle.pem"))];

    // Nothing to sign here, so no passphrase is asked for, and the external CA is neither created nor replaced.
    const plan = await provision(["plan"], { cwd: member.dir, env: MEMBER_ENV });
    expect(plan.code, plan.stderr).toBe(2); // ca-bundle.pem is still to be written
    expect(plan.stdout).toMatch(/intermediate\s+ca\s+unchanged\s+external/);
    expect(plan.stdout).toMatch(/api\s+server\s+waiting\s+waiting for a certificate signed by intermediate/);
    const first = await provision([], { cwd: member.dir, env: MEMBER_ENV });
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(path.join(member.out, "cas"))).toBe(false);
    expect(existsSync(path.join(member.out, "servers/api/cert.pem"))).toBe(false);
    // The member's bundle is the admin's: clients on both sides trust the same root.
    expect(read(path.join(member.out, "ca-bundle.pem"))).toBe(read(path.join(admin.out, "ca-bundle.pem")));
    const waiting = await provision(["status", "--within", "30d"], { cwd: member.dir, env: MEMBER_ENV });
    expect(waiting.code).toBe(2);
    expect(waiting.stdout).toMatch(/api: waiting for a certificate signed by intermediate: run `provision csr api/);

    // Member makes a request; the admin signs it; the member imports it.
    const csr = await provision(["csr", "api", "--out", "api.csr"], { cwd: member.dir, env: MEMBER_ENV });
    expect(csr.code, csr.stderr).toBe(0);
    const signed = await signFor(admin, path.join(member.dir, "api.csr"), "api", "server");
    const imported = await provision(["import", "api", signed], { cwd: member.dir, env: MEMBER_ENV });
    expect(imported.code, imported.stderr).toBe(0);
    expect(read(path.join(member.out, "servers/api/cert.pem"))).toBe(read(signed));

    const again = await provision(["plan"], { cwd: member.dir, env: MEMBER_ENV });
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toMatch(/api\s+server\s+unchanged/);
    const status = await provision(["status", "--json"], { cwd: member.dir, env: MEMBER_ENV });
    const rows = JSON.parse(status.stdout).identities as { name: string; state: string }[];
    expect(rows.find((r) => r.name === "api")?.state).toBe("ok");
    expect(rows.find((r) => r.name === "alice")?.state).toBe("waiting");

    // Kept: another run leaves the admin-signed certificate alone, even with a passphrase in the environment.
    expect((await provision([], { cwd: member.dir, env: ADMIN_ENV })).code).toBe(0);
    expect(read(path.join(member.out, "servers/api/cert.pem"))).toBe(read(signed));

    // The chain verifies strictly against the admin's bundle, and a TLS handshake with Node does too.
    const verified = await verifyLeaf(member.out, "servers", "api", ["-verify_hostname", "api.team.test"]);
    expect(verified.ok, verified.output).toBe(true);
    const port = await startHttpsServer(path.join(member.out, "servers/api"));
    expect(await httpsGet({ port, servername: "api.team.test", caFile: path.join(admin.out, "ca-bundle.pem") })).toBe("fluffy tail");
    const s = await execa("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "api.team.test", "-verify_return_error", "-verify_hostname", "api.team.test", "-CAfile", path.join(admin.out, "ca-bundle.pem")], { input: "", reject: false });
    expect(s.stdout, s.stderr).toMatch(/Verify return code: 0 \(ok\)/);

    // trust install puts the admin's root (not some local one) into an NSS database, straight from the external files.
    const nssdb = path.join(member.dir, "nssdb");
    const trusted = await provision(["trust", "install", "--store", "nss", "--nssdb", nssdb], { cwd: member.dir, env: MEMBER_ENV });
    expect(trusted.code, trusted.stderr).toBe(0);
    const label = /"(provision intermediate [0-9a-f]{16})"/.exec(trusted.stdout)![1]!;
    const inNss = await execa("certutil", ["-d", `sql:${nssdb}`, "-L", "-n", label, "-a"]);
    const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    expect(der(inNss.stdout).equals(der(read(path.join(admin.out, "cas/root/cert.pem"))))).toBe(true);

    expect([read(path.join(member.dir, "team-ca/intermediate.pem")), read(path.join(member.dir, "team-ca/ca-bundle.pem"))]).toEqual(externalBefore);
  });

  it("a certificate signed by another CA of the same name is refused by import and never used when copied in", async () => {
    const admin = await teamAdmin();
    const impostor = await teamAdmin(); // same pki.yaml, so the same CA names, but other keys
    const member = memberOf(admin);
    expect((await provision(["csr", "alice", "--out", "alice.csr"], { cwd: member.dir, env: MEMBER_ENV })).code).toBe(0);
    const foreign = await signFor(impostor, path.join(member.dir, "alice.csr"), "alice", "client");

    const refused = await provision(["import", "alice", foreign], { cwd: member.dir, env: MEMBER_ENV });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not accepted for alice: it is not signed by intermediate: another CA of the same name/);
    expect(existsSync(path.join(member.out, "clients/alice/cert.pem"))).toBe(false);

    // Copied in by hand, it is not chained, recorded or served: the plan says why and keeps waiting.
    copyFileSync(foreign, path.join(member.out, "clients/alice/cert.pem"));
    const run = await provision([], { cwd: member.dir, env: MEMBER_ENV });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/alice\s+client\s+waiting\s+not signed by the current intermediate certificate; waiting for a new certificate signed by intermediate/);
    expect(existsSync(path.join(member.out, "clients/alice/fullchain.pem"))).toBe(false);
    expect(JSON.parse(read(path.join(member.out, "state.json"))).identities.alice).toBeUndefined();

    // The genuine one, signed by the admin, is accepted over it.
    const genuine = await signFor(admin, path.join(member.dir, "alice.csr"), "alice", "client");
    expect((await provision(["import", "alice", genuine], { cwd: member.dir, env: MEMBER_ENV })).code).toBe(0);
    const verified = await verifyLeaf(member.out, "clients", "alice");
    expect(verified.ok, verified.output).toBe(true);
  });

  it("an intermediate without the certificates above it is an error that says to add external.chain", async () => {
    const admin = await teamAdmin();
    const member = memberOf(admin);
    member.write(memberYaml.replace(/\n\s+chain: .*\n/, "\n"));
    const run = await provision(["plan"], { cwd: member.dir, env: MEMBER_ENV });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the issuer of .*Example Team Intermediate CA.* is not in \.\/team-ca\/intermediate\.pem/);
    expect(run.stderr).toMatch(/hint: give the certificates above it, up to the self-signed root, with external\.chain/);
  });
});

/** A root made the way mkcert makes one (RSA, CA:TRUE with pathlen 0, keyCertSign, PKCS#8 key), by openssl, with the CN first. */
async function mkcertStyleRoot(dir: string, extra: string[] = []): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, "rootCA.pem");
  const key = path.join(dir, "rootCA-key.pem");
  await execa("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3650",
    "-subj", "/CN=mkcert me@laptop/O=mkcert development CA/OU=me@laptop",
    "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign", ...extra,
  ]);
  return { cert, key };
}

describe("bring your own root: an external CA with its key", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("signs a server with an mkcert-style root: strict verification, TLS, the root's files byte-identical, second run a no-op", async () => {
    const p = project(`version: 1
cas:
  mkcert:
    external: { cert: ./ca/rootCA.pem, key: ./ca/rootCA-key.pem }
servers:
  web:
    issuer: mkcert
    altNames: [localhost, 127.0.0.1, web.test]
`);
    mkdirSync(path.join(p.dir, "ca"));
    const root = await mkcertStyleRoot(path.join(p.dir, "ca"));
    const before = [readFileSync(root.cert), readFileSync(root.key)];

    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/mkcert\s+ca\s+unchanged\s+external/);
    expect(run.stdout).toMatch(/web\s+server\s+create/);
    expect(read(path.join(p.out, "ca-bundle.pem"))).toBe(read(root.cert));
    const verified = await verifyLeaf(p.out, "servers", "web", ["-verify_hostname", "web.test"]);
    expect(verified.ok, verified.output).toBe(true);
    // Signed with the external key, under the root's name exactly as the root encodes it (CN first).
    const issued = await opensslVerify(path.join(p.out, "servers/web/cert.pem"), ["-CAfile", root.cert]);
    expect(issued.ok, issued.output).toBe(true);
    const port = await startHttpsServer(path.join(p.out, "servers/web"));
    expect(await httpsGet({ port, servername: "web.test", caFile: root.cert })).toBe("fluffy tail");

    expect((await provision(["plan"], { cwd: p.dir })).code).toBe(0);
    expect([readFileSync(root.cert), readFileSync(root.key)]).toEqual(before);
    // Nothing of the root is copied in: provision only signs the root's CRL (it signed web), into its own folder.
    expect(readdirSync(path.join(p.out, "cas/mkcert")).sort()).toEqual(["crl.der", "crl.pem"]);
    const crl = await execa("openssl", ["crl", "-in", path.join(p.out, "cas/mkcert/crl.pem"), "-CAfile", root.cert, "-noout", "-verify"], { reject: false });
    expect(crl.stderr).toMatch(/verify OK/);
  });

  it("refuses what the root cannot issue: an intermediate below pathlen 0, a name outside its constraints; nothing written", async () => {
    const p = project(`version: 1
cas:
  company:
    external: { cert: ./ca/rootCA.pem, key: ./ca/rootCA-key.pem }
  team:
    issuer: company
servers:
  web:
    issuer: team
    altNames: [web.test, www.example.com]
`);
    mkdirSync(path.join(p.dir, "ca"));
    const root = await mkcertStyleRoot(path.join(p.dir, "ca"), ["-addext", "nameConstraints=critical,permitted;DNS:.test"]);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cas\.team\.issuer: CA "team" would stand 1 CA level\(s\) below external CA company, whose certificates allow 0/);
    expect(run.stderr).toMatch(/servers\.web\.altNames\[1\]: "www\.example\.com" is outside the name constraints of external CA company/);
    expect(existsSync(p.out)).toBe(false);

    // The twin that fits: the leaf directly under the root, inside its constraints.
    p.write(`version: 1
cas:
  company:
    external: { cert: ./ca/rootCA.pem, key: ./ca/rootCA-key.pem }
servers:
  web:
    issuer: company
    altNames: [web.test]
`);
    const ok = await provision([], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await opensslVerify(path.join(p.out, "servers/web/cert.pem"), ["-CAfile", root.cert])).ok).toBe(true);
  });

  it("an encrypted external key: plan and status need no passphrase; signing does, and names the variable; never re-encrypted", async () => {
    const p = project(`version: 1
cas:
  company:
    external: { cert: ./ca/rootCA.pem, key: ./ca/rootCA-key.pem }
    passphraseEnv: COMPANY_CA_PASSPHRASE
servers:
  web:
    issuer: company
    altNames: [web.test]
`);
    mkdirSync(path.join(p.dir, "ca"));
    const root = await mkcertStyleRoot(path.join(p.dir, "ca"));
    await execa("openssl", ["pkey", "-in", root.key, "-aes256", "-passout", "pass:company-ca-passphrase", "-out", `${root.key}.enc`]);
    renameSync(`${root.key}.enc`, root.key);
    const keyBefore = readFileSync(root.key);
    const locked = await provision([], { cwd: p.dir, env: { COMPANY_CA_PASSPHRASE: undefined } });
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/the key of company is encrypted and COMPANY_CA_PASSPHRASE is not set or wrong/);
    const env = { COMPANY_CA_PASSPHRASE: TEST_SECRETS.companyCa };
    expect((await provision([], { cwd: p.dir, env })).code).toBe(0);
    expect((await provision(["status", "--within", "1d"], { cwd: p.dir, env: { COMPANY_CA_PASSPHRASE: undefined } })).code).toBe(0);
    expect(readFileSync(root.key)).toEqual(keyBefore);
    expect((await verifyLeaf(p.out, "servers", "web")).ok).toBe(true);
  });
});

describe("what an external CA may say in pki.yaml", () => {
  it("fields its certificate decides, a hook that could never run, and a passphrase without key are errors at their lines", async () => {
    const p = project(`version: 1
cas:
  team:
    external: { cert: ./intermediate.pem }
    commonName: Team CA
    validity: 2y
    afterChange: [echo, changed]
    passphraseEnv: TEAM_CA_PASSPHRASE
`);
    const run = await provision(["plan"], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pki\.yaml:5:\d+ cas\.team\.commonName: commonName cannot be set on an external CA: its certificate \(external\.cert\) decides it/);
    expect(run.stderr).toMatch(/cas\.team\.validity: validity cannot be set on an external CA/);
    expect(run.stderr).toMatch(/cas\.team\.afterChange: afterChange cannot be set on an external CA: provision never changes it/);
    expect(run.stderr).toMatch(/cas\.team\.passphraseEnv: passphraseEnv decrypts external\.key, and this external CA has no key/);
    expect(existsSync(p.out)).toBe(false);
  });
});

describe("client certificates from an external CA without key, served through the nginx front", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  // nginx (and Node) check the CRL of every CA of a client's chain and refuse the client when one has none;
  // provision signs no CRL for a CA whose key it does not hold, so ssl_crl would lock every such client out.
  const yaml = (companyKey: string) => `version: 1
cas:
  dev: { validity: 1y }
  company:
    external: { cert: ./ca/rootCA.pem${companyKey} }
servers:
  web:
    issuer: dev
    altNames: [web.test]
    serve: { host: 127.0.0.1, port: 5699, clientAuth: required, clientCa: company }
`;
  it("the front checks client certificates without ssl_crl and says why; with the CA's key, ssl_crl is there", async () => {
    const p = project(yaml(""));
    mkdirSync(path.join(p.dir, "ca"));
    await mkcertStyleRoot(path.join(p.dir, "ca"));
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("web checks client certificates without CRLs: provision signs no CRL for company");
    const front = readFileSync(path.join(p.out, "launch/web/nginx-front.conf"), "utf8");
    expect(front).not.toMatch(/^\s*ssl_crl /m);
    expect(front).toContain("# No ssl_crl: provision signs no CRL for company");
    expect(readFileSync(path.join(p.out, "launch/web/server.env"), "utf8")).not.toContain("TLS_CRL_FILE");

    // The twin: the same CA with its key gets a CRL, and the front checks it.
    p.write(yaml(", key: ./ca/rootCA-key.pem"));
    const withKey = await provision([], { cwd: p.dir });
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(withKey.stderr).not.toContain("without CRLs");
    expect(readFileSync(path.join(p.out, "launch/web/nginx-front.conf"), "utf8")).toMatch(/^\s*ssl_crl .*crl-bundle\.pem"?;$/m);
  });
});
