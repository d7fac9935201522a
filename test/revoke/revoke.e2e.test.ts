import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";
import { execaLogged } from "../helpers/spawn.js";
import { httpsGet, startHttpsServer } from "../helpers/tls.js";

const YAML = `version: 1
cas:
  root: { commonName: Revoke Root }
  intermediate: { issuer: root, commonName: Revoke Intermediate, crlUrl: "http://crl.test/intermediate.crl" }
servers:
  web: { issuer: intermediate, altNames: [localhost, 127.0.0.1] }
  old: { issuer: intermediate, altNames: [localhost, 127.0.0.1] }
clients:
  alice: { issuer: intermediate, altNames: [alice@squirrels.test] }
  bob: { issuer: intermediate, altNames: [bob@squirrels.test] }
`;
const REVOKED = YAML.replace("alice: { issuer: intermediate,", "alice: { issuer: intermediate, revoked: true, revokedReason: affiliationChanged,").replace(
  "old: { issuer: intermediate,",
  "old: { issuer: intermediate, revoked: true, revokedReason: keyCompromise,",
);

/** A provisioned tree where alice (client) and old (server) were revoked after their certificates were copied aside. */
async function revokedTree() {
  const p = project(YAML);
  expect((await provision([], { cwd: p.dir })).code).toBe(0);
  const kept = path.join(p.dir, "kept");
  for (const [name, kind] of [["alice", "clients"], ["old", "servers"]] as const) {
    mkdirSync(path.join(kept, name), { recursive: true });
    for (const file of ["cert.pem", "key.pem", "chain.pem", "fullchain.pem"]) copyFileSync(path.join(p.out, kind, name, file), path.join(kept, name, file));
  }
  p.write(REVOKED);
  const run = await provision([], { cwd: p.dir });
  expect(run.code, run.stderr).toBe(0);
  return { ...p, kept };
}

describe("revoked: true, enforced by real verifiers (revoked and good side by side)", () => {
  beforeAll(() => {
    requireTool("openssl", "openssl");
    requireTool("certtool", "gnutls-bin");
    requireTool("curl", "curl");
  });

  it("files gone, CRLs verify (openssl crl, certtool), openssl verify -crl_check_all refuses alice and accepts bob, a second run writes nothing", async () => {
    const p = await revokedTree();
    expect(existsSync(path.join(p.out, "clients/alice"))).toBe(false);
    expect(existsSync(path.join(p.out, "servers/old"))).toBe(false);
    const crlOf = (ca: string) => path.join(p.out, "cas", ca, "crl.pem");
    const certOf = (ca: string) => path.join(p.out, "cas", ca, "cert.pem");

    for (const ca of ["root", "intermediate"]) {
      const good = await execaLogged("openssl", ["crl", "-in", crlOf(ca), "-CAfile", certOf(ca), "-noout", "-verify"], { reject: false });
      expect(good.stderr).toMatch(/verify OK/);
      const certtool = await execaLogged("certtool", ["--verify-crl", "--load-ca-certificate", certOf(ca), "--infile", crlOf(ca)], { reject: false });
      expect(certtool.exitCode, certtool.stdout).toBe(0);
      expect(certtool.stdout).toMatch(/Verification output: Verified/);
    }
    // Failing twins: each CRL checked against the other CA's certificate.
    const wrong = await execaLogged("openssl", ["crl", "-in", crlOf("intermediate"), "-CAfile", certOf("root"), "-noout", "-verify"], { reject: false });
    expect(wrong.stderr).not.toMatch(/verify OK/);
    const wrongGnutls = await execaLogged("certtool", ["--verify-crl", "--load-ca-certificate", certOf("root"), "--infile", crlOf("intermediate")], { reject: false });
    expect(wrongGnutls.exitCode).not.toBe(0);

    const text = (await execaLogged("openssl", ["crl", "-in", crlOf("intermediate"), "-noout", "-text"])).stdout;
    expect(text).toMatch(/CRL Number: \s*\n\s*2/);
    expect(text).toMatch(/Authority Key Identifier/);
    expect(text).toMatch(/Affiliation Changed/);
    expect(text).toMatch(/Key Compromise/);
    expect(readFileSync(path.join(p.out, "crl-bundle.pem"), "utf8")).toBe(readFileSync(crlOf("root"), "utf8") + readFileSync(crlOf("intermediate"), "utf8"));

    const verify = (cert: string, chain: string) =>
      opensslVerify(cert, ["-crl_check_all", "-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", chain, "-CRLfile", path.join(p.out, "crl-bundle.pem")]);
    const alice = await verify(path.join(p.kept, "alice/cert.pem"), path.join(p.kept, "alice/chain.pem"));
    expect(alice.ok).toBe(false);
    expect(alice.output).toMatch(/certificate revoked/);
    const bob = await verify(path.join(p.out, "clients/bob/cert.pem"), path.join(p.out, "clients/bob/chain.pem"));
    expect(bob.ok, bob.output).toBe(true);
    const dp = (await execaLogged("openssl", ["x509", "-in", path.join(p.out, "clients/bob/cert.pem"), "-noout", "-ext", "crlDistributionPoints"])).stdout;
    expect(dp).toContain("URI:http://crl.test/intermediate.crl");

    const again = await provision(["--json"], { cwd: p.dir });
    expect(JSON.parse(again.stdout).written).toEqual([]);
    expect((await provision(["plan"], { cwd: p.dir })).code).toBe(0);
    // Un-revoking is refused, and says why.
    p.write(YAML);
    const back = await provision(["plan", "--json"], { cwd: p.dir });
    expect(back.code).toBe(1);
    expect(JSON.parse(back.stdout).error.code).toBe("revoked-identity");
  });

  it("a Node https server with crl refuses the revoked client and serves the good one", async () => {
    const p = await revokedTree();
    const web = path.join(p.out, "servers/web");
    const serve = async (crl: boolean) => {
      const server = https.createServer(
        {
          key: readFileSync(path.join(web, "key.pem")),
          cert: readFileSync(path.join(web, "fullchain.pem")),
          ca: readFileSync(path.join(p.out, "ca-bundle.pem")),
          // One CRL per array element: Node reads only the first CRL of a PEM buffer (crl-bundle.pem would lose the intermediate's).
          ...(crl ? { crl: ["root", "intermediate"].map((ca) => readFileSync(path.join(p.out, "cas", ca, "crl.pem"))) } : {}),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (_req, res) => res.end("fluffy tail"),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return (server.address() as AddressInfo).port;
    };
    const as = (port: number, dir: string) =>
      httpsGet({ port, servername: "localhost", caFile: path.join(p.out, "ca-bundle.pem"), cert: path.join(dir, "fullchain.pem"), key: path.join(dir, "key.pem") });
    const port = await serve(true);
    await expect(as(port, path.join(p.out, "clients/bob"))).resolves.toBe("fluffy tail");
    await expect(as(port, path.join(p.kept, "alice"))).rejects.toThrow();
    // Failing twin: without the CRL, the same server lets alice in.
    await expect(as(await serve(false), path.join(p.kept, "alice"))).resolves.toBe("fluffy tail");
  });

  it("curl --crlfile refuses a revoked server certificate and accepts the good one", async () => {
    const p = await revokedTree();
    const curl = (port: number, crl: boolean) =>
      execaLogged("curl", ["-sS", "--cacert", path.join(p.out, "ca-bundle.pem"), ...(crl ? ["--crlfile", path.join(p.out, "crl-bundle.pem")] : []), `https://localhost:${port}/`], { reject: false });
    const revoked = await startHttpsServer(path.join(p.kept, "old"));
    const good = await startHttpsServer(path.join(p.out, "servers/web"));
    const refused = await curl(revoked, true);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/revoked|CRL|SSL certificate problem/i);
    expect((await curl(good, true)).stdout).toBe("fluffy tail");
    // Failing twin: without --crlfile curl accepts the revoked server.
    expect((await curl(revoked, false)).stdout).toBe("fluffy tail");
  });
});
