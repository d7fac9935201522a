import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BIN, project, provisionBin, ROOT } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";
import { freePort, startService, waitForPort } from "../helpers/process.js";
import { requirePythonModule, requireTool, requireUwsgi } from "../helpers/require-tool.js";
import { execaLogged } from "../helpers/spawn.js";

const EXAMPLE = path.join(ROOT, "examples/secret-squirrels");

/**
 * The team of docs/team.md: alice and bob under the team's intermediate, and mallory under a root of her
 * own (which the server does not trust for clients: serve.clientCa is the intermediate).
 */
function teamYaml(port: number, { aliceRevoked = false } = {}): string {
  return `version: 1
output: ./pki
defaults: { key: ecdsa-p256, validity: 90d }
cas:
  root: { commonName: Team Root CA, validity: 1y }
  intermediate: { issuer: root, commonName: Team Intermediate CA, pathLength: 0, validity: 1y }
  elsewhere: { commonName: Elsewhere Root CA, validity: 1y }
servers:
  secret-server:
    issuer: intermediate
    altNames: [localhost, 127.0.0.1]
    validity: 30d
    serve: { host: 127.0.0.1, port: ${port}, app: "server:app", clientAuth: required, clientCa: intermediate }
clients:
  alice:
    issuer: intermediate
    altNames: [alice@team.test]${aliceRevoked ? "\n    revoked: true" : ""}
  bob:
    issuer: intermediate
    altNames: [bob@team.test]
  mallory:
    issuer: elsewhere
    altNames: [mallory@elsewhere.test]
`;
}

/** curl to the server, with a client certificate or none: the HTTP status (0 when no response) and the body. */
async function curl(out: string, port: number, client?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  const run = await execaLogged(
    "curl",
    ["-sS", "--max-time", "10", "--cacert", path.join(out, "ca-bundle.pem"), ...(client ? ["--cert", client.cert, "--key", client.key] : []), "-w", "\n%{http_code}", `https://127.0.0.1:${port}/`],
    { reject: false },
  );
  const lines = run.stdout.split("\n");
  return { status: Number(lines.pop()), body: lines.join("\n") };
}

const clientFiles = (dir: string) => ({ cert: path.join(dir, "fullchain.pem"), key: path.join(dir, "key.pem") });

/** Resolves once `text` appears in a service's output (nginx's reload is asynchronous to provision's run). */
async function outputShows(output: () => string, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the output after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the nginx front of a server that checks client certificates (uwsgi has no CRL support)", () => {
  beforeAll(() => {
    requireUwsgi();
    requireTool("nginx", "nginx");
    requireTool("curl", "curl");
    requireTool("openssl", "openssl");
    requirePythonModule("requests", "python3-requests");
  });

  it("docs/team.md, alice left: her curl works; revoked: true and one provision run; the running server reloads, refuses her and still serves bob", async () => {
    const port = await freePort();
    const p = project(teamYaml(port), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8"), "client.py": readFileSync(path.join(EXAMPLE, "client.py"), "utf8") });
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    expect(existsSync(path.join(p.out, "crl-bundle.pem"))).toBe(true);
    const served = startService("node", [BIN, "serve", "secret-server"], { cwd: p.dir });
    await waitForPort(port);
    expect(served.output()).toMatch(/behind nginx -c .*nginx-front\.conf/);

    // Alice's certificate and key, kept aside: revoking her removes her files from the output.
    const aside = mkdtempSync(path.join(tmpdir(), "provision-alice-"));
    onTestFinished(() => rmSync(aside, { recursive: true, force: true }));
    for (const file of ["fullchain.pem", "key.pem", "cert.pem"]) copyFileSync(path.join(p.out, "clients/alice", file), path.join(aside, file));
    const alice = clientFiles(aside);
    const bob = clientFiles(path.join(p.out, "clients/bob"));

    expect(await curl(p.out, port, alice)).toEqual({ status: 200, body: "fluffy tail" });
    expect(await curl(p.out, port, bob)).toEqual({ status: 200, body: "fluffy tail" });
    // Python requests through the front, with the rendered client environment (alice: the first client).
    const python = () => execaLogged("node", [BIN, "exec", "secret-server", "--", "python3", "client.py"], { cwd: p.dir, reject: false });
    const asAlice = await python();
    expect(asAlice.stdout, asAlice.stderr).toBe("The secret message is fluffy tail");
    expect(readFileSync(path.join(p.out, "launch/secret-server/client.env"), "utf8")).toMatch(/^CLIENT_CERT_FILE=.*\/clients\/alice\/fullchain\.pem$/m);
    // Refused: a certificate from a CA the server does not trust for clients, and no certificate at all.
    const mallory = await curl(p.out, port, clientFiles(path.join(p.out, "clients/mallory")));
    expect(mallory.status, mallory.body).toBe(400);
    expect(mallory.body).toMatch(/The SSL certificate error/);
    const anonymous = await curl(p.out, port);
    expect(anonymous.status).toBe(400);
    expect(anonymous.body).toMatch(/No required SSL certificate was sent/);

    // Alice left: one line in pki.yaml, one run.
    p.write(teamYaml(port, { aliceRevoked: true }));
    const run = await provisionBin([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    await outputShows(served.output, /nginx reloaded/);
    // "nginx reloaded" is printed when the signal is sent; nginx's old worker may still accept a connection for
    // a moment while the new one starts (a graceful reload), so alice is refused within seconds, not at once.
    let refused = await curl(p.out, port, alice);
    for (let i = 0; i < 50 && refused.status !== 400; i++) {
      await new Promise((r) => setTimeout(r, 200));
      refused = await curl(p.out, port, alice);
    }
    expect(refused.status, refused.body).toBe(400);
    expect(refused.body).not.toMatch(/fluffy tail/);
    expect(await curl(p.out, port, bob)).toEqual({ status: 200, body: "fluffy tail" });
    // The rendered client config now presents bob, the first client that is not revoked.
    expect(readFileSync(path.join(p.out, "launch/secret-server/client.env"), "utf8")).toMatch(/^CLIENT_CERT_FILE=.*\/clients\/bob\/fullchain\.pem$/m);
    const asBob = await python();
    expect(asBob.stdout, asBob.stderr).toBe("The secret message is fluffy tail");
    // Her certificate is otherwise as good as before: the CRL is what refuses it.
    const chain = ["-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(p.out, "cas/intermediate/cert.pem")];
    expect((await opensslVerify(path.join(aside, "cert.pem"), chain)).ok).toBe(true);
    const withCrl = await opensslVerify(path.join(aside, "cert.pem"), [...chain, "-crl_check_all", "-CRLfile", path.join(p.out, "crl-bundle.pem")]);
    expect(withCrl.output).toMatch(/certificate revoked/);
    // And uwsgi itself was never exposed: it listens on the unix socket only.
    expect(readFileSync(path.join(p.out, "launch/secret-server/uwsgi.ini"), "utf8")).toMatch(/^http-socket = %drun\/uwsgi\.sock$/m);
  }, 120_000);

  it("a changed file nginx rejects is an error with nginx's message, not 'nginx reloaded'; nginx goes on serving, and the fixed file reloads", async () => {
    const port = await freePort();
    const p = project(teamYaml(port), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") });
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    const served = startService("node", [BIN, "serve", "secret-server"], { cwd: p.dir });
    await waitForPort(port);
    const bob = clientFiles(path.join(p.out, "clients/bob"));
    expect(await curl(p.out, port, bob)).toEqual({ status: 200, body: "fluffy tail" });
    const crlBundle = path.join(p.out, "crl-bundle.pem");
    const good = readFileSync(crlBundle, "utf8");
    writeFileSync(crlBundle, "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n");
    await outputShows(served.output, /error: nginx rejects the changed certificate, key or CRL, and keeps serving the old ones: .*crl-bundle\.pem/);
    expect(served.output()).not.toMatch(/nginx reloaded/);
    expect(await curl(p.out, port, bob)).toEqual({ status: 200, body: "fluffy tail" });
    // The twin: the good file back, and nginx takes it.
    writeFileSync(crlBundle, good);
    await outputShows(served.output, /nginx reloaded/);
    expect(await curl(p.out, port, bob)).toEqual({ status: 200, body: "fluffy tail" });
  }, 90_000);

  it("the Node server checks the same CRLs: after the revocation it refuses alice and serves bob", async () => {
    const port = await freePort();
    const p = project(teamYaml(port));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    const aside = mkdtempSync(path.join(tmpdir(), "provision-alice-"));
    onTestFinished(() => rmSync(aside, { recursive: true, force: true }));
    for (const file of ["fullchain.pem", "key.pem"]) copyFileSync(path.join(p.out, "clients/alice", file), path.join(aside, file));
    const served = startService("node", [BIN, "serve", "secret-server", "--engine", "node"], { cwd: p.dir });
    await waitForPort(port);
    expect(await curl(p.out, port, clientFiles(aside))).toEqual({ status: 200, body: "fluffy tail" });
    p.write(teamYaml(port, { aliceRevoked: true }));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    // The Node server swaps in the new CRL 200 ms after it changes: poll until alice is refused.
    const deadline = Date.now() + 10_000;
    let refused = await curl(p.out, port, clientFiles(aside));
    while (refused.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      refused = await curl(p.out, port, clientFiles(aside));
    }
    expect(refused.status, served.output()).not.toBe(200);
    expect(await curl(p.out, port, clientFiles(path.join(p.out, "clients/bob")))).toEqual({ status: 200, body: "fluffy tail" });
  }, 90_000);

  it("without nginx: --engine uwsgi says why it is needed, and serve alone picks the Node server (it checks the CRLs itself)", async () => {
    const port = await freePort();
    const p = project(teamYaml(port), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") });
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    // nginx is in /usr/sbin; node, uwsgi and setpriv in /usr/bin.
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: p.dir };
    const refused = await provisionBin(["serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/checks client certificates, and uwsgi cannot check them against the CRLs: nginx is needed in front of it/);
    expect(refused.stderr).toMatch(/--engine node/);
    const served = startService("node", [BIN, "serve", "secret-server"], { cwd: p.dir, env });
    await waitForPort(port);
    expect(served.output()).toMatch(/secret server \(node\) listening/);
    expect(await curl(p.out, port, clientFiles(path.join(p.out, "clients/bob")))).toEqual({ status: 200, body: "fluffy tail" });
  }, 60_000);
});
