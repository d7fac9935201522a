// provision sign under an external CA holds the request to the name constraints of the certificates above it
// (external.chain), as plan time does for pki.yaml's identities; openssl verify is the judge of both twins.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

describe("provision sign under an external intermediate of a constrained root", () => {
  beforeAll(() => requireTool("openssl", "openssl"));

  it("refuses a name outside the root's constraints; signs one inside, which openssl verifies", async () => {
    const p = project("version: 1\ncas:\n  int:\n    external: { cert: ./ca/int.pem, key: ./ca/int-key.pem, chain: ./ca/root.pem }\n");
    const ca = (f: string) => path.join(p.dir, "ca", f);
    mkdirSync(path.join(p.dir, "ca"));
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await execa("openssl", ["req", "-x509", ...ec, "-keyout", ca("root-key.pem"), "-out", ca("root.pem"), "-days", "3650", "-subj", "/CN=Root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "nameConstraints=critical,permitted;DNS:.test"]);
    await execa("openssl", ["req", "-new", ...ec, "-keyout", ca("int-key.pem"), "-out", ca("int.csr"), "-subj", "/CN=Int"]);
    writeFileSync(ca("int.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    await execa("openssl", ["x509", "-req", "-in", ca("int.csr"), "-CA", ca("root.pem"), "-CAkey", ca("root-key.pem"), "-out", ca("int.pem"), "-days", "365", "-extfile", ca("int.ext")]);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    for (const name of ["evil.example", "ok.test"]) {
      await execa("openssl", ["req", "-new", ...ec, "-keyout", path.join(p.dir, `${name}.key`), "-out", path.join(p.dir, `${name}.csr`), "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`]);
    }
    const evil = await provision(["sign", "--csr", "evil.example.csr", "--issuer", "int", "--profile", "server", "--out", "evil.pem"], { cwd: p.dir });
    expect(evil.code).toBe(1);
    expect(evil.stderr).toMatch(/evil\.example\.csr: "evil\.example" is outside the name constraints of CN=Root \(in \.\/ca\/root\.pem\), above external CA int: not within the permitted DNS names \(\.test\)/);
    const ok = await provision(["sign", "--csr", "ok.test.csr", "--issuer", "int", "--profile", "server", "--out", "ok.pem"], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await opensslVerify(path.join(p.dir, "ok.pem"), ["-CAfile", ca("root.pem"), "-untrusted", ca("int.pem")])).ok).toBe(true);
    // What provision refused, signed anyway by the openssl CLI with the same key, openssl rejects.
    writeFileSync(path.join(p.dir, "evil.ext"), "subjectAltName=DNS:evil.example\nbasicConstraints=CA:FALSE\n");
    await execa("openssl", ["x509", "-req", "-in", path.join(p.dir, "evil.example.csr"), "-CA", ca("int.pem"), "-CAkey", ca("int-key.pem"), "-out", path.join(p.dir, "forged.pem"), "-days", "30", "-extfile", path.join(p.dir, "evil.ext")]);
    expect((await opensslVerify(path.join(p.dir, "forged.pem"), ["-CAfile", ca("root.pem"), "-untrusted", ca("int.pem")])).output).toMatch(/permitted subtree violation/);
  });
});
