// npm run bench: the same work done by provision, by an openssl CLI script and by mkcert, in one run.
// Prints medians and ratios; see docs/PERFORMANCE.md for a recorded run and what the targets are.
import { spawnSync, execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

// Everything runs under a Mac's default open-file limit (256), with NODE_EXTRA_CA_CERTS unset: it adds tens of
// milliseconds to every Node start on some machines and is not set on users' machines.
if (process.env.BENCH_LIMITED !== "1") {
  const env = { ...process.env, BENCH_LIMITED: "1" };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawnSync("bash", ["-c", 'ulimit -n 256 && exec node "$@"', "bash", ...process.argv.slice(1)], { stdio: "inherit", env });
  process.exit(child.status ?? 1);
}
const BIN = path.join(ROOT, "dist/cli/bin.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const work = mkdtempSync(path.join(tmpdir(), "provision-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

function run(cmd, args, options = {}) {
  const start = performance.now();
  const result = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], ...options });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return { ms, stderr: String(result.stderr ?? "") };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timed(label, runs, setup, body) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    setup?.(i);
    samples.push(body(i));
  }
  process.stderr.write(`  ${label}: ${samples.map((s) => s.toFixed(0)).join(", ")} ms\n`);
  return median(samples);
}

function pkiYaml(count, leafKey, alt0 = "s0.test") {
  let yaml = `version: 1\noutput: ./pki\ndefaults: { key: ecdsa-p256, subject: { organization: Bench } }\ncas:\n  root: { commonName: Bench Root CA, validity: 10y }\n  intermediate: { issuer: root, commonName: Bench Intermediate CA, pathLength: 0, validity: 2y }\nservers:\n`;
  for (let i = 0; i < count; i++) yaml += `  s${i}: { issuer: intermediate, key: ${leafKey}, altNames: [${i === 0 ? alt0 : `s${i}.test`}], validity: 90d }\n`;
  return yaml;
}

function provisionDir(name, yaml) {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(path.join(dir, "pki.yaml"), yaml);
  return dir;
}

const hasMkcert = spawnSync("mkcert", ["-version"]).status === 0;

function coldWorkload(label, leafKey) {
  process.stderr.write(`${label}\n`);
  const dir = provisionDir(`cold-${leafKey}`, pkiYaml(100, leafKey));
  const provision = timed("provision", RUNS, () => rmSync(path.join(dir, "pki"), { recursive: true, force: true }), () => run("node", [BIN], { cwd: dir }).ms);
  const osslDir = path.join(work, `openssl-${leafKey}`);
  const openssl = timed("openssl script", RUNS, () => rmSync(osslDir, { recursive: true, force: true }), () =>
    run("bash", [path.join(ROOT, "bench/openssl-pki.sh"), osslDir, "100", leafKey.startsWith("rsa") ? "rsa" : "ec"]).ms,
  );
  // The comparison is only fair if the script's output is right: verify every leaf it made.
  const leaves = Array.from({ length: 100 }, (_, i) => path.join(osslDir, `s${i}.pem`));
  const verified = execFileSync("openssl", ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", path.join(osslDir, "root.pem"), "-untrusted", path.join(osslDir, "int.pem"), ...leaves], { encoding: "utf8" });
  if (verified.split("\n").filter((l) => l.endsWith(": OK")).length !== 100) throw new Error("the openssl script's certificates do not verify");
  let mkcert = null;
  if (hasMkcert) {
    const caroot = path.join(work, `mkcert-${leafKey}`);
    mkcert = timed("mkcert", RUNS, () => rmSync(caroot, { recursive: true, force: true }), () => {
      const start = performance.now();
      spawnSync("mkdir", ["-p", caroot]);
      for (let i = 0; i < 100; i++) {
        const args = [...(leafKey.startsWith("ecdsa") ? ["-ecdsa"] : []), "-cert-file", path.join(caroot, `s${i}.pem`), "-key-file", path.join(caroot, `s${i}-key.pem`), `s${i}.test`];
        run("mkcert", args, { env: { ...process.env, CAROOT: caroot } });
      }
      return performance.now() - start;
    });
  }
  return { label, provision, openssl, mkcert };
}

const results = [];
results.push(coldWorkload("(a) cold: root + intermediate + 100 ECDSA P-256 leaves", "ecdsa-p256"));
results.push(coldWorkload("(b) cold: root + intermediate + 100 RSA-2048 leaves", "rsa-2048"));

process.stderr.write("(c) no-op re-run over 1000 identities\n");
const bigDir = provisionDir("big", pkiYaml(998, "ecdsa-p256"));
run("node", [BIN], { cwd: bigDir });
const nodeBaseline = timed("node -e ''", 5, null, () => run("node", ["-e", ""]).ms);
const noop = timed("provision (no-op)", 5, null, () => run("node", [BIN], { cwd: bigDir }).ms);
const rssKib = Math.max(...Array.from({ length: 3 }, () => Number(/maxrss_kib=(\d+)/.exec(run("node", [path.join(ROOT, "bench/measure-rss.mjs")], { cwd: bigDir }).stderr)[1])));

process.stderr.write("(d) one altName changed among 1000 identities\n");
const oneChange = timed("provision (one re-issue)", 5, (i) => writeFileSync(path.join(bigDir, "pki.yaml"), pkiYaml(998, "ecdsa-p256", i % 2 ? "s0.test" : "s0-renamed.test")), () => run("node", [BIN], { cwd: bigDir }).ms);

const fmt = (ms) => (ms === null ? "skipped" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a, b) => (b === null ? "-" : `${(a / b).toFixed(2)}×`);
const cpu = cpus()[0]?.model ?? "unknown";
const lines = [
  `machine: ${cpus().length} cores, ${cpu}; node ${process.version}; ${execFileSync("openssl", ["version"], { encoding: "utf8" }).trim()}${hasMkcert ? "" : "; mkcert not installed"}`,
  `runs: median of ${RUNS} (cold) / 5 (re-runs)`,
  "",
  "| workload | provision | openssl script | mkcert | provision / openssl | provision / mkcert |",
  "| --- | --- | --- | --- | --- | --- |",
  ...results.map((r) => `| ${r.label} | ${fmt(r.provision)} | ${fmt(r.openssl)} | ${fmt(r.mkcert)} | ${ratio(r.provision, r.openssl)} | ${ratio(r.provision, r.mkcert)} |`),
  "",
  "| workload | provision | node -e '' | ratio | target |",
  "| --- | --- | --- | --- | --- |",
  `| (c) no-op over 1000 identities | ${fmt(noop)} | ${fmt(nodeBaseline)} | ${ratio(noop, nodeBaseline)} | < 250 ms wall |`,
  `| (d) one altName changed among 1000 | ${fmt(oneChange)} | (c): ${fmt(noop)} | ${ratio(oneChange, noop)} of (c) | ≤ 1.5× (c) + one key |`,
  "",
  `peak RSS of (c): ${(rssKib / 1024).toFixed(0)} MiB (target < 200 MB)`,
];
console.log(lines.join("\n"));
