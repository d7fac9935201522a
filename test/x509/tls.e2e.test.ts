import path from "node:path";
import { describe, expect, it, beforeAll } from "vitest";
import { project, provision, squirrelsYaml } from "../helpers/cli.js";
import { execaLogged } from "../helpers/spawn.js";
import { httpsGet, startHttpsServer } from "../helpers/tls.js";
import { requireTool } from "../helpers/require-tool.js";

describe("a real TLS handshake against the provisioned server", () => {
  beforeAll(() => { requireTool("curl", "curl"); requireTool("openssl", "openssl"); });
  it("succeeds for each altName and fails for a foreign name, a foreign CA and an expired leaf", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const bundle = path.join(p.out, "ca-bundle.pem");
    const serverDir = path.join(p.out, "servers/secret-server");
    const port = await startHttpsServer(serverDir);

    for (const servername of ["my-site.com", "localhost", "x.squirrels.test", "127.0.0.1"]) {
      await expect(httpsGet({ port, servername, caFile: bundle })).resolves.toBe("fluffy tail");
    }
    const port6 = await startHttpsServer(serverDir, { host: "::1" });
    await expect(httpsGet({ port: port6, servername: "::1", caFile: bundle, address: "::1" })).resolves.toBe("fluffy tail");

    await expect(httpsGet({ port, servername: "evil.example", caFile: bundle })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });

    const other = project(squirrelsYaml());
    expect((await provision([], { cwd: other.dir })).code).toBe(0);
    await expect(httpsGet({ port, servername: "localhost", caFile: path.join(other.out, "ca-bundle.pem") })).rejects.toMatchObject({
      code: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    });

    const curl = await execaLogged("curl", ["-sS", "--cacert", bundle, `https://localhost:${port}/`], { reject: false });
    expect(curl.stdout).toBe("fluffy tail");
    const curlNoCa = await execaLogged("curl", ["-sS", `https://localhost:${port}/`], { reject: false, env: { CURL_CA_BUNDLE: "", SSL_CERT_FILE: "/nonexistent" } });
    expect(curlNoCa.exitCode).toBe(60);
  });

  it("refuses an expired leaf", async () => {
    const p = project(squirrelsYaml());
    // Issue the whole tree as of two months ago: the 30-day server certificate has since expired.
    const past = new Date(Date.now() - 60 * 86_400_000).toISOString();
    expect((await provision(["--now", past], { cwd: p.dir })).code).toBe(0);
    const port = await startHttpsServer(path.join(p.out, "servers/secret-server"));
    await expect(httpsGet({ port, servername: "localhost", caFile: path.join(p.out, "ca-bundle.pem") })).rejects.toMatchObject({
      code: "CERT_HAS_EXPIRED",
    });
    // The next ordinary run notices and renews it; the handshake then succeeds with the same files' paths.
    const renew = await provision(["plan"], { cwd: p.dir });
    expect(renew.code).toBe(2);
    expect(renew.stdout).toMatch(/secret-server\s+server\s+renew\s+expired 30 days ago/);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const port2 = await startHttpsServer(path.join(p.out, "servers/secret-server"));
    await expect(httpsGet({ port: port2, servername: "localhost", caFile: path.join(p.out, "ca-bundle.pem") })).resolves.toBe("fluffy tail");
  });
});
