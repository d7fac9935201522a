// rfc822Name constraints (RFC 5280 §4.2.1.10) at plan time agree with OpenSSL, GnuTLS and Go: every form pki.yaml
// can write (`@host`, `@.domain`, a mailbox), each with an inside and an outside twin. Where the verifiers differ
// (Go lets a host constraint cover its subdomains), provision takes the strictest reading both ways. The unit
// table is in test/config/name-constraints.test.ts.
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { certText } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";
import { certtoolVerify, goVerify, opensslChain } from "../helpers/verifiers.js";

const CAS = `version: 1
cas:
  root: { nameConstraints: { permitted: [.test, "@example.test", "@.mail.test", "Bob@mbox.test"] } }
  open: { nameConstraints: { excluded: ["@ex.test", "Eve@exm.test", "@.dot.test"] } }
`;

// [mailbox, CA] that provision issues and all three verifiers accept.
const INSIDE = [
  ["bob@example.test", "root"], // the host form: a mailbox at that host
  ["bob@EXAMPLE.test", "root"], // hosts compare without case
  ["bob@a.mail.test", "root"], // the .domain form: a host below it
  ["Bob@mbox.test", "root"], // the mailbox form, its local part exactly
  ["x@a.dot.test.org", "open"],
  ["eve@exm.test", "open"], // another local part than the excluded mailbox's
  ["x@dot.test", "open"], // .dot.test excludes hosts below dot.test, not dot.test itself
] as const;

// [mailbox, CA, which verifiers reject the same name when the openssl CLI signs it] that provision refuses.
const OUTSIDE = [
  ["bob@sub.example.test", "root", { openssl: false, gnutls: false, go: true }], // Go reads a host constraint as covering subdomains
  ["bob@mail.test", "root", { openssl: false, gnutls: false, go: false }],
  ["bob@mbox.test", "root", { openssl: false, gnutls: false, go: false }], // the local part is case-sensitive
  ["bob@evil.example", "root", { openssl: false, gnutls: false, go: false }],
  ["x@ex.test", "open", { openssl: false, gnutls: false, go: false }],
  ["x@a.ex.test", "open", { openssl: true, gnutls: true, go: false }], // ...so an excluded host shuts out its subdomains
  ["Eve@exm.test", "open", { openssl: false, gnutls: false, go: false }],
  ["x@a.dot.test", "open", { openssl: false, gnutls: false, go: false }],
] as const;

const clientName = (mailbox: string) => mailbox.replace(/\W/g, "_").replace(/[A-Z]/g, (c) => `${c.toLowerCase()}2`);

describe("email name constraints: plan time agrees with openssl, GnuTLS and Go", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("certtool", "gnutls-bin"); requireTool("go", "golang-go"); });

  it("each form is encoded as the rfc822Name RFC 5280 means, and mailboxes inside are issued and verify everywhere", async () => {
    const clients = INSIDE.map(([mailbox, ca]) => `  ${clientName(mailbox)}: { issuer: ${ca}, altNames: ["${mailbox}"] }`).join("\n");
    const p = project(`${CAS}clients:\n${clients}\n`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(await certText(path.join(p.out, "cas/root/cert.pem"))).toMatch(/Permitted:\s+DNS:\.test\s+email:example\.test\s+email:\.mail\.test\s+email:Bob@mbox\.test\s/);
    expect(await certText(path.join(p.out, "cas/open/cert.pem"))).toMatch(/Excluded:\s+email:ex\.test\s+email:Eve@exm\.test\s+email:\.dot\.test\s/);
    for (const [mailbox, ca] of INSIDE) {
      const dir = path.join(p.out, "clients", clientName(mailbox));
      const leaf = path.join(dir, "cert.pem");
      expect(new X509Certificate(readFileSync(leaf)).subjectAltName).toBe(`email:${mailbox.replace("EXAMPLE", "example")}`);
      const root = path.join(p.out, "cas", ca, "cert.pem");
      for (const result of [await opensslChain(root, root, leaf, ["-purpose", "sslclient"]), await certtoolVerify(root, path.join(dir, "fullchain.pem")), await goVerify(root, root, leaf)]) {
        expect(result.ok, `${mailbox}: ${result.output}`).toBe(true);
      }
    }
  });

  it("each mailbox outside is a located error, and signed anyway by the openssl CLI it is rejected by at least one verifier", async () => {
    const p = project(CAS);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    for (const [mailbox, ca, accepts] of OUTSIDE) {
      p.write(`${CAS}clients:\n  ${clientName(mailbox)}: { issuer: ${ca}, altNames: ["${mailbox}"] }\n`);
      const run = await provision([], { cwd: p.dir });
      expect(run.code, mailbox).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^pki\\.yaml:6:\\d+ clients\\.${clientName(mailbox)}\\.altNames\\[0\\]: "${mailbox.replace(/\./g, "\\.")}" is outside the name constraints of CA ${ca} \\(cas\\.${ca}\\.nameConstraints, line \\d\\): (excluded|not within the permitted email domains)`, "m"));

      const base = path.join(p.dir, clientName(mailbox));
      writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=email:${mailbox}\n`);
      await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", "/CN=someone"]);
      const root = path.join(p.out, "cas", ca, "cert.pem");
      await execa("openssl", ["x509", "-req", "-in", `${base}.csr`, "-CA", root, "-CAkey", path.join(p.out, "cas", ca, "key.pem"), "-days", "30", "-extfile", `${base}.ext`, "-out", `${base}.pem`]);
      const verdicts = {
        openssl: (await opensslChain(root, root, `${base}.pem`, ["-purpose", "sslclient"])).ok,
        gnutls: (await certtoolVerify(root, `${base}.pem`)).ok,
        go: (await goVerify(root, root, `${base}.pem`)).ok,
      };
      expect(verdicts, mailbox).toEqual(accepts);
    }
  });
});
