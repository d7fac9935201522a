// npm run bench: the same work done by provision, by an openssl CLI script and by mkcert, in one run.
// Prints medians and ratios; see docs/PERFORMANCE.md for a recorded run and what the targets are.
import { spawnSync, execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
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
// Shared machines: the load when the run starts and ends is printed with the results, since it moves every figure.
const loadAtStart = loadavg()[0];
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

/**
 * The scale series (issue 13): n P-256 identities (root, intermediate, n - 2 servers), each size in its own
 * folder: one cold create, then no-op re-runs, then re-runs with one altName changed. Peak RSS of the no-op.
 */
function scaleSeries(sizes, reruns) {
  const series = [];
  for (const n of sizes) {
    process.stderr.write(`(scale) ${n} identities\n`);
    const dir = provisionDir(`scale-${n}`, pkiYaml(n - 2, "ecdsa-p256"));
    const create = run("node", [BIN], { cwd: dir }).ms;
    process.stderr.write(`  create: ${create.toFixed(0)} ms\n`);
    const noop = timed("no-op", reruns, null, () => run("node", [BIN], { cwd: dir }).ms);
    const rssKib = Number(/maxrss_kib=(\d+)/.exec(run("node", [path.join(ROOT, "bench/measure-rss.mjs")], { cwd: dir }).stderr)[1]);
    const oneChange = timed("one change", reruns, (i) => writeFileSync(path.join(dir, "pki.yaml"), pkiYaml(n - 2, "ecdsa-p256", i % 2 ? "s0.test" : "s0-renamed.test")), () => run("node", [BIN], { cwd: dir }).ms);
    rmSync(dir, { recursive: true, force: true });
    series.push({ n, createMs: create, noopMs: noop, oneChangeMs: oneChange, noopRssKib: rssKib });
  }
  return series;
}

// BENCH_SCALE=1000 (a comma-separated list) runs a shorter series while iterating; BENCH_ONLY=scale skips the rest,
// BENCH_ONLY=cd runs only (c) and (d) (the no-op and one change over 1,000 identities).
const SCALE_SIZES = (process.env.BENCH_SCALE ?? "1000,5000,10000").split(",").map(Number);
const ONLY_SCALE = process.env.BENCH_ONLY === "scale";
const ONLY_CD = process.env.BENCH_ONLY === "cd";

const results = [];
if (!ONLY_SCALE && !ONLY_CD) results.push(coldWorkload("(a) cold: root + intermediate + 100 ECDSA P-256 leaves", "ecdsa-p256"));
if (!ONLY_SCALE && !ONLY_CD) results.push(coldWorkload("(b) cold: root + intermediate + 100 RSA-2048 leaves", "rsa-2048"));

let noop = null, nodeBaseline = null, rssKib = null, oneChange = null;
if (!ONLY_SCALE) {
  process.stderr.write("(c) no-op re-run over 1000 identities\n");
  const bigDir = provisionDir("big", pkiYaml(998, "ecdsa-p256"));
  run("node", [BIN], { cwd: bigDir });
  nodeBaseline = timed("node -e ''", 5, null, () => run("node", ["-e", ""]).ms);
  noop = timed("provision (no-op)", 5, null, () => run("node", [BIN], { cwd: bigDir }).ms);
  rssKib = Math.max(...Array.from({ length: 3 }, () => Number(/maxrss_kib=(\d+)/.exec(run("node", [path.join(ROOT, "bench/measure-rss.mjs")], { cwd: bigDir }).stderr)[1])));

  process.stderr.write("(d) one altName changed among 1000 identities\n");
  oneChange = timed("provision (one re-issue)", 5, (i) => writeFileSync(path.join(bigDir, "pki.yaml"), pkiYaml(998, "ecdsa-p256", i % 2 ? "s0.test" : "s0-renamed.test")), () => run("node", [BIN], { cwd: bigDir }).ms);
}
const scale = ONLY_CD ? [] : scaleSeries(SCALE_SIZES, Number(process.env.BENCH_SCALE_RUNS ?? 3));
const fmt = (ms) => (ms === null ? "skipped" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a, b) => (b === null ? "-" : `${(a / b).toFixed(2)}×`);
const cpu = cpus()[0]?.model ?? "unknown";
const byN = new Map(scale.map((r) => [r.n, r]));
const [small, large] = [byN.get(1000) ?? scale[0], byN.get(10000) ?? scale[scale.length - 1]];
const lines = [
  `machine: ${cpus().length} cores, ${cpu}; node ${process.version}; ${execFileSync("openssl", ["version"], { encoding: "utf8" }).trim()}${hasMkcert ? "" : "; mkcert not installed"}`,
  `runs: median of ${RUNS} (cold) / 5 (re-runs); load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
];
if (results.length) {
  lines.push(
    "",
    "| workload | provision | openssl script | mkcert | openssl / provision | mkcert / provision |",
    "| --- | --- | --- | --- | --- | --- |",
    ...results.map((r) => `| ${r.label} | ${fmt(r.provision)} | ${fmt(r.openssl)} | ${fmt(r.mkcert)} | ${ratio(r.openssl ?? 0, r.openssl === null ? null : r.provision)} | ${ratio(r.mkcert ?? 0, r.mkcert === null ? null : r.provision)} |`),
  );
}
if (!ONLY_SCALE) {
  lines.push(
    "",
    "| workload | provision | node -e '' | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    `| (c) no-op over 1000 identities | ${fmt(noop)} | ${fmt(nodeBaseline)} | ${ratio(noop, nodeBaseline)} | ≤ 7× node -e '' |`,
    `| (d) one altName changed among 1000 | ${fmt(oneChange)} | (c): ${fmt(noop)} | ${ratio(oneChange, noop)} of (c) | ≤ 1.5× (c) |`,
    "",
    `peak RSS of (c): ${(rssKib / 1024).toFixed(0)} MiB`,
  );
}
if (scale.length) lines.push(
  "",
  `scale series (P-256; create once, no-op and one change: median of ${process.env.BENCH_SCALE_RUNS ?? 3})`,
  "",
  "| identities | create | no-op | one change | one change / no-op | peak RSS of no-op |",
  "| --- | --- | --- | --- | --- | --- |",
  ...scale.map((r) => `| ${r.n} | ${fmt(r.createMs)} | ${fmt(r.noopMs)} | ${fmt(r.oneChangeMs)} | ${ratio(r.oneChangeMs, r.noopMs)} | ${(r.noopRssKib / 1024).toFixed(0)} MiB |`),
);
if (scale.length && small !== large) {
  lines.push(
    "",
    `${large.n / 1000}k / ${small.n / 1000}k: create ${ratio(large.createMs, small.createMs)}, no-op ${ratio(large.noopMs, small.noopMs)}, one change ${ratio(large.oneChangeMs, small.oneChangeMs)} (target ≤ ${((12 * large.n) / small.n / 10).toFixed(0)}×)`,
  );
}
console.log(lines.join("\n"));

// BENCH_JSON=file keeps the numbers for docs/ (scripts/perf-svg.mjs draws the scale curve from them).
if (process.env.BENCH_JSON) {
  const json = { date: new Date().toISOString(), machine: { cores: cpus().length, cpu, node: process.version, loadAverage: [loadAtStart, loadavg()[0]] }, results, c: { noop, nodeBaseline, rssKib }, d: { oneChange }, scale };
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(json, null, 2)}\n`);
}
