import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provisionBin } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

/**
 * What an external CA's certificate forbids (its pathLength, its name constraints and those of the certificates
 * above it, its end date) is found after pki.yaml is loaded; each error still points at the pki.yaml line and
 * column to edit, as the same errors under a CA of pki.yaml do, and names the certificate file that forbids it.
 */

/** A root made by openssl (as mkcert or a company would), with extensions given by the caller. */
async function opensslRoot(dir: string, days: number, extra: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await execa("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "root-key.pem"), "-out", path.join(dir, "root.pem"),
    "-days", String(days), "-subj", "/CN=Company Root/O=Company",
    "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext", "keyUsage=critical,keyCertSign,cRLSign", ...extra,
  ]);
}

/** An intermediate below that root, without constraints of its own (the root's still bind it), and its key. */
async function opensslIntermediate(dir: string): Promise<void> {
  const ext = path.join(dir, "int.ext");
  await execa("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "int-key.pem"), "-out", path.join(dir, "int.csr"), "-subj", "/CN=Company Intermediate/O=Company"]);
  await execa("bash", ["-c", `printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\nsubjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid\\n' > ${ext}`]);
  await execa("openssl", ["x509", "-req", "-in", path.join(dir, "int.csr"), "-CA", path.join(dir, "root.pem"), "-CAkey", path.join(dir, "root-key.pem"), "-CAcreateserial", "-days", "365", "-extfile", ext, "-out", path.join(dir, "int.pem")]);
}

describe("errors against an external CA's limits carry the pki.yaml line:column", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });

  it("pathLength and name constraints of the external certificate itself: located, the file named; the fitting twin runs", async () => {
    const p = project(`version: 1
cas:
  company:
    external: { cert: ./ca/root.pem, key: ./ca/root-key.pem }
  team:
    issuer: company
  deeper:
    issuer: team
servers:
  web:
    issuer: team
    altNames: [web.test, www.example.com]
`);
    await opensslRoot(path.join(p.dir, "ca"), 30, ["-addext", "nameConstraints=critical,permitted;DNS:.test"]);
    const run = await provisionBin(["plan"], { cwd: p.dir });
    expect(run.code).toBe(1);
    // deeper's `issuer: team` value is at line 8, column 13; web's second altName at line 12, column 26.
    expect(run.stderr).toContain(`pki.yaml:8:13 cas.deeper.issuer: CA "deeper" would stand 2 CA level(s) below external CA company, whose certificates allow 1 (pathLength in ./ca/root.pem)`);
    expect(run.stderr).toContain(`pki.yaml:12:26 servers.web.altNames[1]: "www.example.com" is outside the name constraints of external CA company (its certificate ./ca/root.pem)`);
    expect(run.stderr).not.toMatch(/^pki\.yaml [a-z]/m); // no diagnostic without its line
    expect(readFileSync(path.join(p.dir, "pki.yaml"), "utf8")).toContain("www.example.com");

    // The twin: one CA level and names inside the constraints. It runs, and the leaf verifies strictly under the root.
    p.write(`version: 1
cas:
  company:
    external: { cert: ./ca/root.pem, key: ./ca/root-key.pem }
  team:
    issuer: company
    validity: 20d
servers:
  web:
    issuer: team
    altNames: [web.test]
    validity: 7d
`);
    const ok = await provisionBin([], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    const verified = await opensslVerify(path.join(p.out, "servers/web/cert.pem"), ["-CAfile", path.join(p.dir, "ca/root.pem"), "-untrusted", path.join(p.out, "cas/team/cert.pem")]);
    expect(verified.ok, verified.output).toBe(true);
  });

  it("name constraints of a certificate above the external CA (from external.chain): located, the chain file named", async () => {
    const p = project(`version: 1
cas:
  int:
    external: { cert: ./ca/int.pem, key: ./ca/int-key.pem, chain: ./ca/root.pem }
clients:
  bob:
    issuer: int
    altNames:
      - bob@company.test
      - bob@elsewhere.example
    validity: 7d
`);
    await opensslRoot(path.join(p.dir, "ca"), 400, ["-addext", "nameConstraints=critical,permitted;email:company.test"]);
    await opensslIntermediate(path.join(p.dir, "ca"));
    const run = await provisionBin(["plan"], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pki\.yaml:10:9 clients\.bob\.altNames\[1\]: "bob@elsewhere\.example" is outside the name constraints of CN=Company Root, O=Company \(in \.\/ca\/root\.pem\), above external CA int/m);

    p.write(readFileSync(path.join(p.dir, "pki.yaml"), "utf8").replace("      - bob@elsewhere.example\n", ""));
    const ok = await provisionBin([], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    const verified = await opensslVerify(path.join(p.out, "clients/bob/cert.pem"), ["-CAfile", path.join(p.dir, "ca/root.pem"), "-untrusted", path.join(p.dir, "ca/int.pem")]);
    expect(verified.ok, verified.output).toBe(true);
  });

  it("a validity that would outlive the external CA: located at the identity's validity, the certificate file named; a shorter one runs", async () => {
    const yaml = (validity: string) => `version: 1
cas:
  company:
    external: { cert: ./ca/root.pem, key: ./ca/root-key.pem }
servers:
  web:
    issuer: company
    altNames: [web.test]
    validity: ${validity}
`;
    const p = project(yaml("60d"));
    await opensslRoot(path.join(p.dir, "ca"), 30, []);
    const run = await provisionBin([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pki\.yaml:9:15 servers\.web\.validity: validity 60d: web's new certificate would outlive external CA company \(\.\/ca\/root\.pem\), which expires /m);
    expect(run.stderr).toMatch(/^error: web's new certificate \(60d\) would outlive external CA company/m);

    p.write(yaml("20d"));
    const ok = await provisionBin([], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await opensslVerify(path.join(p.out, "servers/web/cert.pem"), ["-CAfile", path.join(p.dir, "ca/root.pem")])).ok).toBe(true);
  });
});
