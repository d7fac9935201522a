// npm run bench (ACME part): provision acme against pebble, Let's Encrypt's test server (Debian package
// pebble, PEBBLE_VA_NOSLEEP=1), driven by the same lego commands: the time one certificate takes from a cold
// client (new account key, registration, order, http-01, finalize, download), and certificates per second
// with 20 orders in parallel. Both servers validate against one webroot server on the same port, resolve the
// bench names to 127.0.0.1 (provision: acme.resolve; pebble: pebble-challtestsrv as its DNS server), and use
// a certificate from the same provision PKI for their own HTTPS. See docs/PERFORMANCE.md.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "dist/cli/bin.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 20);

for (const tool of ["lego", "pebble", "pebble-challtestsrv"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.log(`ACME bench skipped: ${tool} is not installed (apt-get install ${tool === "lego" ? "lego" : "pebble"})`);
    process.exit(0);
  }
}

const work = mkdtempSync(path.join(tmpdir(), "provision-acme-bench-"));
const children = [];
const cleanup = () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function freePort() {
  const server = netServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForHttps(url, ca) {
  for (let i = 0; i < 200; i++) {
    if (spawnSync("curl", ["-sf", "--cacert", ca, "-o", "/dev/null", url]).status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { cwd: work, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (c) => (err = (err + c).slice(-4000)));
  child.lastErr = () => err;
  children.push(child);
  return child;
}

const ports = { provision: await freePort(), pebble: await freePort(), pebbleMgmt: await freePort(), http: await freePort(), dns: await freePort(), challMgmt: await freePort() };
writeFileSync(path.join(work, "pki.yaml"), `version: 1
cas:
  root: { commonName: Bench ACME Root, nameConstraints: { permitted: [.test, localhost, 127.0.0.0/8] } }
  intermediate: { issuer: root, commonName: Bench ACME Intermediate, pathLength: 0 }
servers:
  pebble-tls: { issuer: intermediate, altNames: [localhost, 127.0.0.1] }
acme:
  ca: intermediate
  listen: 127.0.0.1:${ports.provision}
  allow: [.bench.test]
  challenges: [http-01]
  httpPort: ${ports.http}
  resolve: { "*.bench.test": 127.0.0.1 }
`);
const env = { PROVISION_NO_CACHE: "1" };
if (spawnSync("node", [BIN, "-f", "pki.yaml"], { cwd: work, env: { ...process.env, ...env } }).status !== 0) throw new Error("provision failed");
const ca = path.join(work, "pki/ca-bundle.pem");

// One webroot server answers http-01 for every lego run (20 lego processes cannot all bind the port).
const webroot = path.join(work, "webroot");
mkdirSync(path.join(webroot, ".well-known/acme-challenge"), { recursive: true });
const http = createServer((req, res) => {
  const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? "")?.[1];
  try {
    res.end(token ? readFileSync(path.join(webroot, ".well-known/acme-challenge", token)) : "");
  } catch {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((resolve) => http.listen(ports.http, "127.0.0.1", resolve));

start("node", [BIN, "acme", "-f", "pki.yaml"], env);
start("pebble-challtestsrv", ["-dns01", `127.0.0.1:${ports.dns}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${ports.challMgmt}`, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""]);
writeFileSync(path.join(work, "pebble.json"), JSON.stringify({
  pebble: {
    listenAddress: `127.0.0.1:${ports.pebble}`,
    managementListenAddress: `127.0.0.1:${ports.pebbleMgmt}`,
    certificate: path.join(work, "pki/servers/pebble-tls/fullchain.pem"),
    privateKey: path.join(work, "pki/servers/pebble-tls/key.pem"),
    httpPort: ports.http,
    tlsPort: 5001,
    ocspResponderURL: "",
    externalAccountBindingRequired: false,
  },
}));
// NOSLEEP: no random validation delay; NONCEREJECT=0: no deliberately refused nonces (each costs lego a retry).
start("pebble", ["-config", "pebble.json", "-dnsserver", `127.0.0.1:${ports.dns}`], { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" });

const servers = { provision: `https://127.0.0.1:${ports.provision}/directory`, pebble: `https://127.0.0.1:${ports.pebble}/dir` };
await waitForHttps(servers.provision, ca);
await waitForHttps(servers.pebble, ca);

let counter = 0;
/** One cold lego run for a fresh name: new account, order, http-01 through the webroot, finalize, download. */
function lego(server) {
  const name = `c${counter++}.bench.test`;
  const dir = path.join(work, "lego", name);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("lego", ["--server", server, "--accept-tos", "--email", "bench@bench.test", "--path", dir, "-d", name, "--http", "--http.webroot", webroot, "run"], {
      env: { ...process.env, LEGO_CA_CERTIFICATES: ca },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (c) => (err += c));
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`lego against ${server} failed: ${err.slice(-800)}`))));
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = {};
for (const [label, url] of Object.entries(servers)) {
  await lego(url); // warm-up: the server's first request
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(await lego(url));
  const started = performance.now();
  await Promise.all(Array.from({ length: PARALLEL }, () => lego(url)));
  const seconds = (performance.now() - started) / 1000;
  results[label] = { cold: median(samples), samples, perSecond: PARALLEL / seconds };
  process.stderr.write(`  ${label}: cold ${samples.map((s) => s.toFixed(0)).join(", ")} ms; ${PARALLEL} parallel in ${seconds.toFixed(2)} s\n`);
}
http.close();

const p = results.provision;
const q = results.pebble;
console.log([
  "",
  `ACME: provision acme vs pebble (PEBBLE_VA_NOSLEEP=1), lego ${spawnSync("lego", ["--version"], { encoding: "utf8" }).stdout.trim().replace(/^lego version /, "")}, http-01`,
  "| measure | provision acme | pebble | pebble / provision |",
  "| --- | --- | --- | --- |",
  `| one certificate, cold lego (median of ${RUNS}) | ${p.cold.toFixed(0)} ms | ${q.cold.toFixed(0)} ms | ${(q.cold / p.cold).toFixed(2)}× |`,
  `| ${PARALLEL} parallel orders | ${p.perSecond.toFixed(1)} certs/s | ${q.perSecond.toFixed(1)} certs/s | ${(p.perSecond / q.perSecond).toFixed(2)}× |`,
].join("\n"));
