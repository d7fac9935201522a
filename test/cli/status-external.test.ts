// provision status on an external CA: the plan never renews it, so it stays "unchanged" however old it is;
// status must still say when it has expired (openssl agrees at the same moment), and exit 2 under --within.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

describe("status of an external CA", () => {
  beforeAll(() => requireTool("openssl", "openssl"));

  it("is ok while it is valid and expired after its notAfter, as openssl verify -attime says", async () => {
    const p = project("version: 1\ncas:\n  ext:\n    external: { cert: ./ca/ext.pem }\n");
    mkdirSync(path.join(p.dir, "ca"));
    const cert = path.join(p.dir, "ca/ext.pem");
    await execa("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(p.dir, "ca/ext-key.pem"), "-out", cert, "-days", "30", "-subj", "/CN=Ext", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const later = new Date(Date.now() + 40 * 86_400_000);

    const now = await provision(["status", "--json"], { cwd: p.dir });
    expect(JSON.parse(now.stdout).identities[0]).toMatchObject({ name: "ext", state: "ok" });
    expect((await opensslVerify(cert, ["-CAfile", cert])).ok).toBe(true);

    const then = await provision(["status", "--json", "--now", later.toISOString()], { cwd: p.dir });
    const row = JSON.parse(then.stdout).identities[0];
    expect(row).toMatchObject({ name: "ext", state: "expired" });
    expect(row.reasons.at(-1)).toMatch(/^expired .*: an external CA is renewed by its holder, not by provision$/);
    expect((await opensslVerify(cert, ["-CAfile", cert, "-attime", String(Math.floor(later.getTime() / 1000))])).output).toMatch(/certificate has expired/);
    expect((await provision(["status", "--now", later.toISOString(), "--within", "1d"], { cwd: p.dir })).code).toBe(2);
  });
});
