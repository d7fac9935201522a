import { readFileSync, copyFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import path from "node:path";
import tls from "node:tls";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BIN, project, provision, provisionBin, ROOT, squirrelsYaml } from "./helpers/cli.js";
import { freePort, startService, waitForPort } from "./helpers/process.js";

const EXAMPLE = path.join(ROOT, "examples/secret-squirrels");
const DEBIAN_PYTHON = "/usr/bin/python3";

function servedYaml(port: number, clientAuth: "none" | "optional" | "required", altNames?: string[]): string {
  return squirrelsYaml({ serverAltNames: altNames }).replace(
    "    validity: 30d\n",
    `    validity: 30d\n    serve: { host: 127.0.0.1, port: ${port}, app: "server:app", clientAuth: ${clientAuth} }\n`,
  );
}

async function provisioned(clientAuth: "none" | "optional" | "required" = "none") {
  const port = await freePort();
  const p = project(servedYaml(port, clientAuth), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") });
  const run = await provision([], { cwd: p.dir });
  expect(run.code, run.stderr).toBe(0);
  const launch = path.join(p.out, "launch/secret-server");
  return { ...p, port, launch };
}

/** The certificate a server presents, read through a raw TLS handshake. */
function servedCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: "127.0.0.1", ca: readFileSync(ca), servername: "localhost" }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate(true).raw).fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

describe("launch config: Node secret server and clients", () => {
  it("example server from launch.json, example client via provision exec, curl -K; failures without the CA", async () => {
    const p = await provisioned();
    const launch = JSON.parse(readFileSync(path.join(p.launch, "launch.json"), "utf8"));
    expect(launch).toMatchObject({ server: "secret-server", url: `https://127.0.0.1:${p.port}`, clientAuth: "none" });
    const server = startService("node", [path.join(EXAMPLE, "server.mjs"), path.join(p.launch, "launch.json")]);
    await waitForPort(p.port);

    const client = await provisionBin(["exec", "secret-server", "--", "node", path.join(EXAMPLE, "client.mjs")], { cwd: p.dir });
    expect(client.stdout.trim()).toBe("The secret message is fluffy tail");
    expect(client.code).toBe(0);

    const curl = await execa("curl", ["-sS", "-K", path.join(p.launch, "client.curlrc")], { reject: false });
    expect(curl.stdout).toBe("fluffy tail");
    const plain = await execa("curl", ["-sS", `https://127.0.0.1:${p.port}/`], { reject: false });
    expect(plain.exitCode).toBe(60);

    const other = project(squirrelsYaml());
    expect((await provision([], { cwd: other.dir })).code).toBe(0);
    const wrongCa = await execa("node", [path.join(EXAMPLE, "client.mjs")], {
      reject: false,
      env: { SECRET_URL: launch.url, SSL_CERT_FILE: path.join(other.out, "ca-bundle.pem") },
    });
    expect(wrongCa.exitCode).toBe(1);
    expect(wrongCa.stderr).toMatch(/unable to get local issuer certificate/);
    await server.stop();
  });

  it("exec passes the exit code through and reports a missing command", async () => {
    const p = await provisioned();
    expect((await provisionBin(["exec", "secret-server", "--", "sh", "-c", "exit 7"], { cwd: p.dir })).code).toBe(7);
    const env = await provisionBin(["exec", "secret-server", "--", "sh", "-c", 'echo "$REQUESTS_CA_BUNDLE $SECRET_URL"'], { cwd: p.dir });
    expect(env.stdout.trim()).toBe(`${path.join(p.out, "ca-bundle.pem")} https://127.0.0.1:${p.port}`);
    const missing = await provisionBin(["exec", "secret-server", "--", "no-such-command-here"], { cwd: p.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot run no-such-command-here/);
    const unknown = await provisionBin(["exec", "nope", "--", "true"], { cwd: p.dir });
    expect(unknown.stderr).toMatch(/no server named "nope"/);
  });

  it("rendered files hold paths only, never key material, and stay put when the cert is re-issued", async () => {
    const p = await provisioned("required");
    const before = Object.fromEntries(["uwsgi.ini", "server.env", "client.env", "client.curlrc", "nginx.conf", "launch.json"].map((f) => [f, readFileSync(path.join(p.launch, f), "utf8")]));
    for (const text of Object.values(before)) expect(text).not.toMatch(/PRIVATE KEY/);
    expect(before["uwsgi.ini"]).toMatch(/^plugins = python3,http$/m);
    expect(before["uwsgi.ini"]).toMatch(/option '--https' is ambiguous/);
    expect(before["uwsgi.ini"]).toMatch(/^https = 127\.0\.0\.1:\d+,%d\.\.\/\.\.\/servers\/secret-server\/fullchain\.pem,%d\.\.\/\.\.\/servers\/secret-server\/key\.pem,ECDHE-ECDSA-AES128-GCM-SHA256:[A-Z0-9:-]+,!%dclient-ca\.pem$/m);
    expect(before["nginx.conf"]).toMatch(/ssl_verify_client on;/);
    expect(before["client.env"]).toMatch(/CLIENT_CERT_FILE=.*clients\/alice\/fullchain\.pem/);
    for (const v of ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"]) expect(before["client.env"]).toContain(`${v}=${path.join(p.out, "ca-bundle.pem")}`);
    p.write(servedYaml(p.port, "required", ["localhost", "127.0.0.1", "extra.squirrels.test"]));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect(readFileSync(path.join(p.launch, "uwsgi.ini"), "utf8")).toBe(before["uwsgi.ini"]);
    expect(readFileSync(path.join(p.launch, "client.env"), "utf8")).toBe(before["client.env"]);
  });

  it("mTLS under Node: a client without a certificate is refused, one from the hierarchy gets the secret", async () => {
    const p = await provisioned("required");
    startService("node", [BIN, "serve", "secret-server", "--engine", "node"], { cwd: p.dir });
    await waitForPort(p.port);
    const withCert = await execa("curl", ["-sS", "-K", path.join(p.launch, "client.curlrc")], { reject: false });
    expect(withCert.stdout).toBe("fluffy tail");
    const without = await execa("curl", ["-sS", "--cacert", path.join(p.out, "ca-bundle.pem"), `https://127.0.0.1:${p.port}/`], { reject: false });
    expect(without.exitCode).not.toBe(0);
    expect(without.stdout).toBe("");
  });
});

describe("launch config: the story under uwsgi with Flask and Python requests", () => {
  it("uwsgi --ini <rendered ini> serves the Flask app; the requests client prints the secret; without the CA it fails", async () => {
    const p = await provisioned();
    copyFileSync(path.join(EXAMPLE, "client.py"), path.join(p.dir, "client.py"));
    const uwsgi = startService("uwsgi", ["--ini", path.join(p.launch, "uwsgi.ini")], { cwd: "/" });
    await waitForPort(p.port);

    const client = await provisionBin(["exec", "secret-server", "--", DEBIAN_PYTHON, "client.py"], { cwd: p.dir });
    expect(client.stdout, `${client.stderr}\n${uwsgi.output()}`).toBe("The secret message is fluffy tail");

    const noCa = await execa(DEBIAN_PYTHON, ["client.py"], { cwd: p.dir, reject: false, env: { SECRET_URL: `https://127.0.0.1:${p.port}`, REQUESTS_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt" } });
    expect(noCa.exitCode).not.toBe(0);
    expect(noCa.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED/);

    // Re-issue: the server restarted from the same ini serves the new certificate.
    const oldFingerprint = await servedCertificate(p.port, path.join(p.out, "ca-bundle.pem"));
    p.write(servedYaml(p.port, "none", ["localhost", "127.0.0.1", "renewed.squirrels.test"]));
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    await uwsgi.stop();
    startService("uwsgi", ["--ini", path.join(p.launch, "uwsgi.ini")], { cwd: "/" });
    await waitForPort(p.port);
    const newFingerprint = await servedCertificate(p.port, path.join(p.out, "ca-bundle.pem"));
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(newFingerprint).toBe(new X509Certificate(readFileSync(path.join(p.out, "servers/secret-server/cert.pem"))).fingerprint256);
  });

  it("mTLS under uwsgi: refused without a client certificate, the secret with one", async () => {
    const p = await provisioned("required");
    copyFileSync(path.join(EXAMPLE, "client.py"), path.join(p.dir, "client.py"));
    startService("node", [BIN, "serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    await waitForPort(p.port);
    const withCert = await provisionBin(["exec", "secret-server", "--", DEBIAN_PYTHON, "client.py"], { cwd: p.dir });
    expect(withCert.stdout, withCert.stderr).toBe("The secret message is fluffy tail");
    const without = await execa(DEBIAN_PYTHON, ["client.py"], {
      cwd: p.dir,
      reject: false,
      env: { SECRET_URL: `https://127.0.0.1:${p.port}`, REQUESTS_CA_BUNDLE: path.join(p.out, "ca-bundle.pem") },
    });
    expect(without.exitCode).not.toBe(0);
    expect(without.stderr).toMatch(/SSLError|Connection aborted|ConnectionResetError|alert/);
  });
});

describe("the example README's walkthrough", () => {
  it("provision, serve, exec: prints the secret through uwsgi and through Node", async () => {
    // A free port instead of the documented 5683: other checkouts may run this test at the same time.
    const port = await freePort();
    const p = project(readFileSync(path.join(EXAMPLE, "pki.yaml"), "utf8").replace("port: 5683", `port: ${port}`));
    for (const file of ["server.py", "client.py", "client.mjs"]) copyFileSync(path.join(EXAMPLE, file), path.join(p.dir, file));
    const readme = readFileSync(path.join(EXAMPLE, "README.md"), "utf8");
    const commands = [...readme.matchAll(/^npx provision(.*?)(?:\s+&)?\s*(?:#.*)?$/gm)].map((m) => m[1]!.trim().split(/\s+/).filter(Boolean));
    expect(commands).toEqual([[], ["serve", "secret-server"], ["exec", "secret-server", "--", "python3", "client.py"], ["exec", "secret-server", "--", "node", "client.mjs"]]);

    expect((await provisionBin(commands[0]!, { cwd: p.dir })).code).toBe(0);
    for (const engine of ["uwsgi", "node"]) {
      const server = startService("node", [BIN, ...commands[1]!, "--engine", engine], { cwd: p.dir });
      await waitForPort(port);
      await waitForPort(port, "::1");
      const python = commands[2]!.map((w) => (w === "python3" ? DEBIAN_PYTHON : w));
      expect((await provisionBin(python, { cwd: p.dir })).stdout).toBe("The secret message is fluffy tail");
      expect((await provisionBin(commands[3]!, { cwd: p.dir })).stdout.trim()).toBe("The secret message is fluffy tail");
      await server.stop();
    }
  });
});
