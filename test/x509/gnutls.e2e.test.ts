import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

// GnuTLS shares no code with OpenSSL: a second, independent verifier of what provision writes.
async function certtoolVerify(out: string, fullchain: string, hostname?: string): Promise<{ ok: boolean; output: string }> {
  const result = await execa("certtool", ["--verify", "--load-ca-certificate", path.join(out, "ca-bundle.pem"), "--infile", fullchain, ...(hostname ? ["--verify-hostname", hostname] : [])], { reject: false });
  const output = `${result.stdout}\n${result.stderr}`;
  return { ok: result.exitCode === 0 && /Chain verification output: Verified/.test(output), output };
}

const yamlFor = (key: string) => `version: 1
cas:
  root: { key: ${key}, nameConstraints: { permitted: [.test, localhost, 127.0.0.0/8, "::1/128"] } }
  intermediate: { issuer: root, key: ${key}, pathLength: 0, validity: 1y }
servers:
  web: { issuer: intermediate, key: ${key}, altNames: [web.test, "*.apps.test", localhost, 127.0.0.1, "::1"], validity: 30d }
clients:
  bob: { issuer: intermediate, key: ${key}, altNames: [bob@x.test] }
`;

describe("GnuTLS agrees", () => {
  beforeAll(() => { requireTool("certtool", "gnutls-bin"); requireTool("gnutls-cli", "gnutls-bin"); requireTool("openssl", "openssl"); });
  for (const key of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"]) {
    it(`certtool verifies the ${key} chain under a name-constrained root, and refuses a foreign name`, async () => {
      const p = project(yamlFor(key));
      expect((await provision([], { cwd: p.dir })).code).toBe(0);
      const fullchain = path.join(p.out, "servers/web/fullchain.pem");
      for (const host of ["web.test", "x.apps.test", "localhost"]) {
        const result = await certtoolVerify(p.out, fullchain, host);
        expect(result.ok, `${host}: ${result.output}`).toBe(true);
      }
      expect((await certtoolVerify(p.out, fullchain, "other.test")).ok).toBe(false);
      expect((await certtoolVerify(p.out, path.join(p.out, "clients/bob/fullchain.pem"))).ok).toBe(true);
    });
  }

  it("gnutls-cli completes a handshake with the Node server trusting only ca-bundle.pem; a leaf forged outside the constraints is refused", async () => {
    const p = project(yamlFor("ecdsa-p256"));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const port = await startHttpsServer(path.join(p.out, "servers/web"));
    const handshake = await execa("gnutls-cli", ["--x509cafile", path.join(p.out, "ca-bundle.pem"), "--port", String(port), "localhost"], { input: "", reject: false, timeout: 20_000 });
    expect(`${handshake.stdout}`).toMatch(/Handshake was completed/);
    expect(handshake.exitCode).toBe(0);

    const dir = p.dir;
    writeFileSync(path.join(dir, "evil.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:bank.example.com\n");
    await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "evil.key"), "-out", path.join(dir, "evil.csr"), "-subj", "/CN=bank.example.com"]);
    await execa("openssl", ["x509", "-req", "-in", path.join(dir, "evil.csr"), "-CA", path.join(p.out, "cas/intermediate/cert.pem"), "-CAkey", path.join(p.out, "cas/intermediate/key.pem"), "-days", "30", "-extfile", path.join(dir, "evil.ext"), "-out", path.join(dir, "evil.pem")]);
    writeFileSync(path.join(dir, "evil-full.pem"), readFileSync(path.join(dir, "evil.pem"), "utf8") + readFileSync(path.join(p.out, "cas/intermediate/cert.pem"), "utf8"));
    const forged = await certtoolVerify(p.out, path.join(dir, "evil-full.pem"));
    expect(forged.ok).toBe(false);
    expect(forged.output).toMatch(/constraint/i);
  });
});
