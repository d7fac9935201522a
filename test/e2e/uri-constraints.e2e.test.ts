// URI SANs and name constraints (RFC 5280 §4.2.1.10: URI subtrees are their own type). pki.yaml cannot write a
// URI subtree, so under provision's own CAs a URI is free, and OpenSSL, GnuTLS and Go agree. An external CA's
// certificate can hold URI subtrees: provision then checks URI SANs against them at plan time, and each outside
// name, signed anyway by the openssl CLI, is rejected by a verifier. The unit table: test/config/name-constraints.test.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { requireTool } from "../helpers/require-tool.js";
import { certtoolVerify, goVerify, opensslChain } from "../helpers/verifiers.js";

async function allThree(root: string, leaf: string, fullchain: string) {
  return {
    openssl: (await opensslChain(root, root, leaf)).ok,
    gnutls: (await certtoolVerify(root, fullchain)).ok,
    go: (await goVerify(root, root, leaf)).ok,
  };
}

describe("URI SANs and name constraints", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("certtool", "gnutls-bin"); requireTool("go", "golang-go"); });

  it("under DNS-only constraints a URI with any host is issued, and all three verifiers accept it", async () => {
    const p = project(`version: 1
cas:
  root: { nameConstraints: { permitted: [.test, 127.0.0.0/8], excluded: [evil.example, evil.test] } }
servers:
  web: { issuer: root, altNames: [web.test, "https://evil.example/x", "https://evil.test/"] }
clients:
  svc: { issuer: root, altNames: ["spiffe://evil.example/ns/svc"] }
`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const root = path.join(p.out, "cas/root/cert.pem");
    for (const leaf of ["servers/web", "clients/svc"]) {
      expect(await allThree(root, path.join(p.out, leaf, "cert.pem"), path.join(p.out, leaf, "fullchain.pem")), leaf).toEqual({ openssl: true, gnutls: true, go: true });
    }
  });

  it("under an external CA with URI subtrees, URIs are checked at plan time: inside twins verify, outside ones are refused and rejected", async () => {
    const yaml = (ca: string, uri: string | null) => `version: 1
cas:
  corp:
    external: { cert: ./ca/corp.pem, key: ./ca/corp-key.pem }
  corpx:
    external: { cert: ./ca/corpx.pem, key: ./ca/corpx-key.pem }
servers:
  web: { issuer: ${ca}, altNames: [web.test${uri ? `, "${uri}"` : ""}] }
`;
    const p = project(yaml("corp", null));
    mkdirSync(path.join(p.dir, "ca"));
    const roots = { corp: "permitted;DNS:.test,permitted;URI:.svc.test,permitted;URI:example.test", corpx: "permitted;DNS:.test,excluded;URI:evil.svc.test" };
    for (const [name, constraints] of Object.entries(roots)) {
      await execa("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(p.dir, `ca/${name}-key.pem`), "-out", path.join(p.dir, `ca/${name}.pem`),
        "-days", "3650", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", `nameConstraints=critical,${constraints}`,
      ]);
    }
    const INSIDE = [["corp", "https://a.svc.test/x"], ["corp", "https://EXAMPLE.test:8443/"], ["corp", "spiffe://b.svc.test/ns/web"], ["corpx", null]] as const;
    for (const [ca, inside] of INSIDE) {
      p.write(yaml(ca, inside));
      const run = await provision([], { cwd: p.dir });
      expect(run.code, `${inside}: ${run.stderr}`).toBe(0);
      const dir = path.join(p.out, "servers/web");
      expect(await allThree(path.join(p.dir, `ca/${ca}.pem`), path.join(dir, "cert.pem"), path.join(dir, "fullchain.pem")), `${ca} ${inside}`).toEqual({ openssl: true, gnutls: true, go: true });
    }
    // OpenSSL reads a host base as that host only, Go as the host and its subdomains; GnuTLS ignores permitted URI
    // subtrees and refuses every URI under an excluded one.
    const OUTSIDE = [
      ["corp", "https://a.example.test/", /not within the permitted URI hosts \(\.svc\.test, example\.test\)/, { openssl: false, gnutls: true, go: true }],
      ["corp", "https://evil.example/", /not within the permitted URI hosts/, { openssl: false, gnutls: true, go: false }],
      ["corp", "https://10.0.0.1/", /a URI without a host name \(or with an IP address\) under URI constraints, which OpenSSL and Go refuse/, { openssl: false, gnutls: true, go: false }],
      ["corpx", "https://x.evil.svc.test/", /excluded \(evil\.svc\.test\)/, { openssl: true, gnutls: false, go: false }],
      ["corpx", "https://evil.svc.test/", /excluded \(evil\.svc\.test\)/, { openssl: false, gnutls: false, go: false }],
      ["corpx", "https://fine.test/", /a URI under an excluded URI subtree \(evil\.svc\.test\), which GnuTLS refuses whatever its host/, { openssl: true, gnutls: false, go: true }],
    ] as const;
    for (const [ca, uri, why, verdicts] of OUTSIDE) {
      p.write(yaml(ca, uri));
      const run = await provision([], { cwd: p.dir });
      expect(run.code, uri).toBe(1);
      // Errors found against an external CA's certificate point at the alt name's line and column.
      expect(run.stderr).toMatch(new RegExp(`^pki\\.yaml:\\d+:\\d+ servers\\.web\\.altNames\\[1\\]: ".*" is outside the name constraints of external CA ${ca} \\(.*\\): `, "m"));
      expect(run.stderr).toMatch(why);

      const root = path.join(p.dir, `ca/${ca}.pem`);
      const base = path.join(p.dir, "forged");
      writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:web.test,URI:${uri}\n`);
      await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", "/CN=web.test"]);
      await execa("openssl", ["x509", "-req", "-in", `${base}.csr`, "-CA", root, "-CAkey", path.join(p.dir, `ca/${ca}-key.pem`), "-days", "30", "-extfile", `${base}.ext`, "-out", `${base}.pem`]);
      expect(await allThree(root, `${base}.pem`, `${base}.pem`), uri).toEqual(verdicts);
    }
  });
});
