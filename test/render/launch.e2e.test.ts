import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { X509Certificate } from "node:crypto";
import path from "node:path";
import tls from "node:tls";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BIN, project, provision, provisionBin, ROOT, squirrelsYaml } from "../helpers/cli.js";
import { execaLogged } from "../helpers/spawn.js";
import { freePort, startService, waitForPort } from "../helpers/process.js";
import { requireTool, requireUwsgi } from "../helpers/require-tool.js";

const EXAMPLE = path.join(ROOT, "examples/secret-squirrels");
const DEBIAN_PYTHON = "/usr/bin/python3";

function servedYaml(port: number, clientAuth: "none" | "optional" | "required", altNames?: string[], host = "127.0.0.1"): string {
  return squirrelsYaml({ serverAltNames: altNames }).replace(
    "    validity: 30d\n",
    `    validity: 30d\n    serve: { host: ${JSON.stringify(host)}, port: ${port}, app: "server:app", clientAuth: ${clientAuth} }\n`,
  );
}

/** A provisioned project serving server.py on `host` (with localhost: every loopback among altNames). */
async function provisionedOn(host: string, altNames: string[], clientAuth: "none" | "required" = "none") {
  const port = await freePort();
  const p = project(servedYaml(port, clientAuth, altNames, host), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") });
  const run = await provision([], { cwd: p.dir });
  expect(run.code, run.stderr).toBe(0);
  return { ...p, port, launch: path.join(p.out, "launch/secret-server") };
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
  beforeAll(() => { requireTool("curl", "curl"); });
  it("example server from launch.json, example client via provision exec, curl -K; failures without the CA", async () => {
    const p = await provisioned();
    const launch = JSON.parse(readFileSync(path.join(p.launch, "launch.json"), "utf8"));
    expect(launch).toMatchObject({ server: "secret-server", url: `https://127.0.0.1:${p.port}`, clientAuth: "none" });
    const server = startService("node", [path.join(EXAMPLE, "server.mjs"), path.join(p.launch, "launch.json")]);
    await waitForPort(p.port);

    const client = await provisionBin(["exec", "secret-server", "--", "node", path.join(EXAMPLE, "client.mjs")], { cwd: p.dir });
    expect(client.stdout.trim()).toBe("The secret message is fluffy tail");
    expect(client.code).toBe(0);

    const curl = await execaLogged("curl", ["-sS", "-K", path.join(p.launch, "client.curlrc")], { reject: false });
    expect(curl.stdout).toBe("fluffy tail");
    const plain = await execaLogged("curl", ["-sS", `https://127.0.0.1:${p.port}/`], { reject: false });
    expect(plain.exitCode).toBe(60);

    const other = project(squirrelsYaml());
    expect((await provision([], { cwd: other.dir })).code).toBe(0);
    const wrongCa = await execaLogged("node", [path.join(EXAMPLE, "client.mjs")], {
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
    const before = Object.fromEntries(["uwsgi.ini", "server.env", "client.env", "client.curlrc", "nginx.conf", "nginx-front.conf", "launch.json"].map((f) => [f, readFileSync(path.join(p.launch, f), "utf8")]));
    for (const text of Object.values(before)) expect(text).not.toMatch(/PRIVATE KEY/);
    expect(before["uwsgi.ini"]).toMatch(/^plugins = python3$/m);
    // Client certificates are checked by the nginx front (with the CRLs); uwsgi serves plain HTTP on its socket.
    expect(before["uwsgi.ini"]).toMatch(/^http-socket = %drun\/uwsgi\.sock$/m);
    expect(before["uwsgi.ini"]).not.toMatch(/^(https-socket|touch-reload) =/m);
    expect(before["nginx-front.conf"]).toMatch(/^ {4}ssl_verify_client on;$/m);
    expect(before["nginx-front.conf"]).toContain(`    ssl_crl ${path.join(p.out, "crl-bundle.pem")};`);
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
    const withCert = await execaLogged("curl", ["-sS", "-K", path.join(p.launch, "client.curlrc")], { reject: false });
    expect(withCert.stdout).toBe("fluffy tail");
    const without = await execaLogged("curl", ["-sS", "--cacert", path.join(p.out, "ca-bundle.pem"), `https://127.0.0.1:${p.port}/`], { reject: false });
    expect(without.exitCode).not.toBe(0);
    expect(without.stdout).toBe("");
  });
});

describe("launch config: the story under uwsgi with Flask and Python requests", () => {
  beforeAll(() => { requireUwsgi(); });
  it("uwsgi --ini <rendered ini> serves the Flask app; the requests client prints the secret; without the CA it fails", async () => {
    const p = await provisioned();
    copyFileSync(path.join(EXAMPLE, "client.py"), path.join(p.dir, "client.py"));
    const uwsgi = startService("uwsgi", ["--ini", path.join(p.launch, "uwsgi.ini")], { cwd: "/" });
    await waitForPort(p.port);

    const client = await provisionBin(["exec", "secret-server", "--", DEBIAN_PYTHON, "client.py"], { cwd: p.dir });
    expect(client.stdout, `${client.stderr}\n${uwsgi.output()}`).toBe("The secret message is fluffy tail");

    const noCa = await execaLogged(DEBIAN_PYTHON, ["client.py"], { cwd: p.dir, reject: false, env: { SECRET_URL: `https://127.0.0.1:${p.port}`, REQUESTS_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt" } });
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

  it("mTLS under uwsgi (behind its nginx front): refused without a client certificate, the secret with one", async () => {
    const p = await provisioned("required");
    copyFileSync(path.join(EXAMPLE, "client.py"), path.join(p.dir, "client.py"));
    startService("node", [BIN, "serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    await waitForPort(p.port);
    const withCert = await provisionBin(["exec", "secret-server", "--", DEBIAN_PYTHON, "client.py"], { cwd: p.dir });
    expect(withCert.stdout, withCert.stderr).toBe("The secret message is fluffy tail");
    const without = await execaLogged(DEBIAN_PYTHON, ["client.py"], {
      cwd: p.dir,
      reject: false,
      env: { SECRET_URL: `https://127.0.0.1:${p.port}`, REQUESTS_CA_BUNDLE: path.join(p.out, "ca-bundle.pem") },
    });
    expect(without.exitCode).not.toBe(0);
    // nginx answers 400 "No required SSL certificate was sent".
    expect(without.stderr).toMatch(/400 Client Error/);
  });
});

describe("the example README's walkthrough", () => {
  beforeAll(() => { requireUwsgi(); });
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
  }, 240_000); // an RSA-4096 root and two servers started one after the other: slow on a busy machine
});

/** Pids of live processes whose command line mentions `text` (a test's own temp folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (cmdline.includes(text) && state !== "Z") pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function portClosed(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(true));
  });
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

describe("provision serve: every loopback family, and stopped with whatever stops it", () => {
  beforeAll(() => { requireUwsgi(); requireTool("bash", "bash"); requireTool("setpriv", "util-linux"); });
  // As a script runs it: in the background, then `kill $!` (or the script ends and provision is orphaned).
  // bash, for its /dev/tcp wait loop.
  const script = (engine: string, port: number, ending: string) => `
node ${JSON.stringify(BIN)} serve secret-server --engine ${engine} >serve.log 2>&1 &
for i in $(seq 1 150); do (exec 3<>/dev/tcp/::1/${port}) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null || { echo "127.0.0.1:${port} not listening"; exit 3; }
(exec 3<>/dev/tcp/::1/${port}) 2>/dev/null || { echo "[::1]:${port} not listening"; exit 3; }
echo "$!" > serve.pid
${ending}
`;

  it.each([
    ["uwsgi", "kill $!; wait $!"],
    ["uwsgi", "kill -INT $!; wait $!"],
    ["uwsgi", "kill -HUP $!; wait $!"],
    ["uwsgi", "kill -KILL $!; wait $!"],
    ["uwsgi", "exit 0"],
    // Behind the nginx front (client certificates): nginx's workers outlive their master, so its group
    // has a guard that takes them along when provision is killed outright.
    ["uwsgi+nginx", "kill $!; wait $!"],
    ["uwsgi+nginx", "kill -KILL $!; wait $!"],
    ["node", "kill $!; wait $!"],
    ["node", "exit 0"],
  ])("%s on 127.0.0.1 and ::1; `%s` leaves no server and a closed port", async (engine, ending) => {
    const p = await provisionedOn("localhost", ["localhost", "127.0.0.1", "::1"], engine === "uwsgi+nginx" ? "required" : "none");
    if (engine === "uwsgi+nginx") requireTool("nginx", "nginx");
    const run = await execaLogged("bash", ["-c", script(engine.replace("+nginx", ""), p.port, ending)], { cwd: p.dir, reject: false });
    const log = () => `${run.stdout}\n${readFileSync(path.join(p.dir, "serve.log"), "utf8")}`;
    onTestFinished(() => {
      for (const pid of processesMentioning(p.dir)) process.kill(pid, "SIGKILL");
    });
    expect(run.stdout, log()).not.toMatch(/not listening/);
    expect(await eventually(async () => (await portClosed(p.port, "127.0.0.1")) && (await portClosed(p.port, "::1"))), `port still open; alive: ${processesMentioning(p.dir).map((pid) => readFileSync(`/proc/${pid}/status`, "utf8").split("\n").slice(0, 8).join(" "))}\n${log()}`).toBe(true);
    expect(await eventually(() => processesMentioning(p.dir).length === 0), `${processesMentioning(p.dir)}\n${log()}`).toBe(true);
  });

  it("binds only the loopback address the certificate names (no ::1 when the SANs lack it)", async () => {
    const p = await provisionedOn("localhost", ["localhost", "127.0.0.1"]);
    const server = startService("node", [BIN, "serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    await waitForPort(p.port);
    expect(await portClosed(p.port, "::1"), server.output()).toBe(true);
    expect(readFileSync(path.join(p.launch, "uwsgi.ini"), "utf8").match(/^https-socket = /gm)).toHaveLength(1);
  });
});

/** An openssl s_client handshake with the given flags: whether it completed, and what was agreed. */
async function handshake(port: number, flags: string[]): Promise<{ ok: boolean; protocol?: string; cipher?: string; alpn?: string; output: string }> {
  const run = await execaLogged("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...flags], { input: "", reject: false, timeout: 20_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  // "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" is printed once the handshake is done (the
  // SSL-Session block may not be, with TLS 1.3); a failed handshake prints "Cipher is (NONE)".
  const agreed = /^New, (TLSv[\d.]+), Cipher is (\S+)/m.exec(output);
  return {
    ok: run.exitCode === 0 && agreed !== null,
    protocol: agreed?.[1],
    cipher: agreed?.[2],
    alpn: /^ALPN protocol: (\S+)/m.exec(output)?.[1],
    output,
  };
}

// OpenSSL 3 clients refuse TLS 1.1 and SHA-1 suites at the default security level; level 0 lets the probe offer them.
const TLS11 = ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"];
const CBC12 = ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"];

describe("Mozilla intermediate TLS on the launched servers", () => {
  beforeAll(() => { requireUwsgi(); requireTool("testssl", "testssl.sh"); requireTool("openssl", "openssl"); });
  it("testssl.sh finds nothing at severity LOW or above on the uwsgi server (protocols, cipher categories, LUCKY13)", async () => {
    const p = await provisionedOn("127.0.0.1", ["localhost", "127.0.0.1"]);
    startService("node", [BIN, "serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    await waitForPort(p.port);
    const json = path.join(p.dir, "testssl.json");
    // Offline and as fast as testssl goes: an IP address and no DNS, no interaction; -p protocols,
    // -s cipher categories (obsolete CBC suites are LOW), -L LUCKY13. The full -U set takes minutes more
    // on a busy machine; everything it adds (SWEET32, BEAST, RC4…) needs a protocol or suite -p/-s judge.
    const scan = await execaLogged("testssl", ["--quiet", "--color", "0", "--nodns", "none", "--warnings", "batch", "--fast", "--jsonfile", json, "-p", "-s", "-L", `https://127.0.0.1:${p.port}`], { reject: false, timeout: 840_000 });
    expect(existsSync(json), `${scan.stdout}\n${scan.stderr}`).toBe(true);
    const findings = JSON.parse(readFileSync(json, "utf8")) as { id: string; severity: string; finding: string }[];
    const byId = new Map(findings.map((f) => [f.id, f]));
    // The scan reached the server: it judged the protocols and the ciphers.
    expect(byId.get("TLS1_2")?.finding, scan.stdout).toMatch(/^offered/);
    expect(byId.get("TLS1_3")?.finding).toMatch(/^offered/);
    expect(byId.get("TLS1_1")?.finding).toMatch(/^not offered/);
    expect(byId.get("cipherlist_AVERAGE")?.finding).toMatch(/^not offered/);
    expect(byId.has("LUCKY13")).toBe(true);
    expect(findings.filter((f) => ["LOW", "MEDIUM", "HIGH", "CRITICAL"].includes(f.severity))).toEqual([]);
    // testssl.sh is bash: 78 s for a larger scan (-p -s -f -U) on a lightly loaded two-core machine, up to
    // 7.5 minutes when many test files share those cores, hence the long timeout.
  }, 900_000);

  it("uwsgi refuses TLS 1.1 and CBC suites; the same probes get through a uwsgi with its default cipher list (the failing twin)", async () => {
    const p = await provisionedOn("127.0.0.1", ["localhost", "127.0.0.1"]);
    const ini = path.join(p.launch, "uwsgi.ini");
    startService("uwsgi", ["--ini", ini], { cwd: "/" });
    await waitForPort(p.port);
    expect((await handshake(p.port, ["-tls1_2"])).ok).toBe(true);
    expect((await handshake(p.port, TLS11)).ok).toBe(false);
    expect((await handshake(p.port, CBC12)).ok).toBe(false);

    // The ini as it was before the profile: HIGH (uwsgi's suggestion) and no ssl-option.
    const weakPort = await freePort();
    const weak = readFileSync(ini, "utf8")
      .replace(/^ssl-option = .*$/m, "")
      .replace(/^https-socket = 127\.0\.0\.1:\d+,(.*?),ECDHE-[^,]*$/m, `https-socket = 127.0.0.1:${weakPort},$1,HIGH`);
    writeFileSync(path.join(p.launch, "weak.ini"), weak);
    startService("uwsgi", ["--ini", path.join(p.launch, "weak.ini")], { cwd: "/" });
    await waitForPort(weakPort);
    expect((await handshake(weakPort, CBC12)).ok).toBe(true);
  });

  it("the Node server: TLS 1.2 with ALPN http/1.1 and TLS 1.3; TLS 1.1 and CBC refused, which a default-TLS server accepts (the failing twin)", async () => {
    const p = await provisionedOn("127.0.0.1", ["localhost", "127.0.0.1"]);
    startService("node", [BIN, "serve", "secret-server", "--engine", "node"], { cwd: p.dir });
    await waitForPort(p.port);
    const tls12 = await handshake(p.port, ["-tls1_2", "-alpn", "http/1.1"]);
    expect(tls12, tls12.output).toMatchObject({ ok: true, protocol: "TLSv1.2", alpn: "http/1.1" });
    expect(tls12.cipher).toMatch(/^ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/);
    expect(await handshake(p.port, ["-tls1_3"])).toMatchObject({ ok: true, protocol: "TLSv1.3" });
    expect((await handshake(p.port, TLS11)).ok).toBe(false);
    expect((await handshake(p.port, CBC12)).ok).toBe(false);

    const weak = tls.createServer({
      cert: readFileSync(path.join(p.out, "servers/secret-server/fullchain.pem")),
      key: readFileSync(path.join(p.out, "servers/secret-server/key.pem")),
      minVersion: "TLSv1",
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    await new Promise<void>((resolve) => weak.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => weak.close(() => resolve())));
    const weakPort = (weak.address() as { port: number }).port;
    expect((await handshake(weakPort, TLS11)).ok).toBe(true);
    expect((await handshake(weakPort, CBC12)).ok).toBe(true);
  });
});

describe("launch files under a hostile output folder, end to end", () => {
  beforeAll(() => { requireTool("curl", "curl"); requireTool("dash", "dash"); });
  const HOSTILE = `pki $(touch pwned) \`touch pwned2\` 'q' "dq" ;#x`;

  it("provision writes them; sh, bash and dash source the env files without running anything; curl -K reaches the Node server; uwsgi is refused with a reason", async () => {
    const port = await freePort();
    const p = project(servedYaml(port, "none").replace("output: ./pki", `output: ${JSON.stringify(`./${HOSTILE}`)}`), { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") });
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^pki\.yaml:\d+:\d+ servers\.secret-server\.serve: warning: uwsgi\.ini is written as an explanation only: uwsgi expands \$\(…\)/m);
    const launch = path.join(p.dir, HOSTILE, "launch/secret-server");
    const facts = JSON.parse(readFileSync(path.join(launch, "launch.json"), "utf8"));
    expect(facts.files.cert).toBe(path.join(p.dir, HOSTILE, "servers/secret-server/fullchain.pem"));

    for (const shell of ["sh", "bash", "dash"]) {
      for (const [file, expected] of [["server.env", facts.serverEnv], ["client.env", facts.clientEnv]] as const) {
        const names = Object.keys(expected);
        const sourced = await execaLogged(shell, ["-c", `. "$1" && printf '%s\\0' ${names.map((n) => `"$${n}"`).join(" ")}`, shell, path.join(launch, file)], { cwd: p.dir, reject: false, stripFinalNewline: false });
        expect(sourced.stderr).toBe("");
        expect(Object.fromEntries(sourced.stdout.split("\0").slice(0, -1).map((v, i) => [names[i], v]))).toEqual(expected);
      }
    }
    expect(readdirSync(p.dir).filter((f) => f.startsWith("pwned"))).toEqual([]);

    const refused = await provisionBin(["serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/uwsgi\.ini of secret-server cannot be used: uwsgi expands/);
    // Without --engine, serve picks the Node server, and the escaped curlrc gets through to it.
    startService("node", [BIN, "serve", "secret-server"], { cwd: p.dir });
    await waitForPort(port);
    const curl = await execaLogged("curl", ["-sS", "-K", path.join(launch, "client.curlrc")], { reject: false });
    expect(curl.stdout, curl.stderr).toBe("fluffy tail");
    expect(readdirSync(p.dir).filter((f) => f.startsWith("pwned"))).toEqual([]);
  });
});

describe("serve.app's module must be beside pki.yaml", () => {
  it("provision and plan warn, with the line of serve.app, when server.py is missing; not when it is there", async () => {
    const port = await freePort();
    const p = project(servedYaml(port, "none"));
    for (const args of [["plan"], []]) {
      const run = await provision(args, { cwd: p.dir });
      expect(run.stderr).toMatch(/^pki\.yaml:\d+:\d+ servers\.secret-server\.serve\.app: warning: module of server:app not found: neither server\.py nor server\/__init__\.py exists beside pki\.yaml/m);
    }
    writeFileSync(path.join(p.dir, "server.py"), "app = None\n");
    expect((await provision(["plan"], { cwd: p.dir })).stderr).not.toMatch(/not found/);
  });

  it("the repository's own pki.yaml serves an app that exists, and it answers fluffy tail", async () => {
    expect((await provision(["plan"], { cwd: ROOT })).stderr).not.toMatch(/serve\.app: warning/);
    const port = await freePort();
    const root = readFileSync(path.join(ROOT, "pki.yaml"), "utf8").replace("port: 5683", `port: ${port}`);
    const p = project(root, { "server.py": readFileSync(path.join(ROOT, "server.py"), "utf8") });
    mkdirSync(path.join(p.dir, "examples/secret-squirrels"), { recursive: true });
    copyFileSync(path.join(EXAMPLE, "server.py"), path.join(p.dir, "examples/secret-squirrels/server.py"));
    const run = await provision([], { cwd: p.dir });
    expect(run.stderr).not.toMatch(/warning/);
    startService("node", [BIN, "serve", "secret-server", "--engine", "uwsgi"], { cwd: p.dir });
    await waitForPort(port);
    const curl = await execaLogged("curl", ["-sS", "-K", path.join(p.out, "launch/secret-server/client.curlrc")], { reject: false });
    expect(curl.stdout, curl.stderr).toBe("fluffy tail");
  });
});
