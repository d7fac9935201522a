// npm run mutate [-- <path prefix>…] [--list] [--summary]
// Runs Stryker once per group of scripts/mutation-groups.mjs (each module against only the fast tests that cover
// it), one group after another, each writing reports/mutation/<group>.json; then prints and writes
// reports/mutation/summary.md, the score of every file from those reports. Prefixes pick groups (`src/store`,
// `src/x509/crl.ts`); --list prints the groups that would run; --summary only recomputes the table from the
// reports already there. The whole set takes hours on two cores (docs/MUTATION.md gives each group's time).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { groups } from "./mutation-groups.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPORTS = path.join(ROOT, "reports", "mutation");
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const prefixes = args.filter((a) => !a.startsWith("--"));
const unknown = [...flags].filter((f) => !["--list", "--summary"].includes(f));
if (unknown.length > 0) {
  console.error(`mutate: unknown option ${unknown[0]} (options: --list, --summary, or path prefixes such as src/store)`);
  process.exit(2);
}

const fileOf = (entry) => entry.replace(/:\d+-\d+$/, "");
const chosen = groups.filter((g) => prefixes.length === 0 || g.mutate.some((m) => prefixes.some((p) => fileOf(m).startsWith(p))));
if (chosen.length === 0) {
  console.error(`mutate: no group mutates a file under ${prefixes.join(", ")} (see scripts/mutation-groups.mjs)`);
  process.exit(2);
}
const reportOf = (group) => path.join(REPORTS, `${group.mutate.join("+").replace(/[^A-Za-z0-9.+-]+/g, "_")}.json`);

if (flags.has("--list")) {
  for (const g of chosen) {
    const env = Object.entries(g.env ?? {}).map(([name, value]) => `${name}=${value} `).join("");
    console.log(`${env}MUTATE_TESTS=${g.tests.join(",")} npx stryker run --mutate '${g.mutate.join(",")}'`);
  }
  process.exit(0);
}

const failed = [];
if (!flags.has("--summary")) {
  mkdirSync(REPORTS, { recursive: true });
  for (const [index, g] of chosen.entries()) {
    console.log(`\n== group ${index + 1}/${chosen.length}: ${g.mutate.join(", ")}`);
    const run = spawnSync(path.join(ROOT, "node_modules", ".bin", "stryker"), ["run", "--mutate", g.mutate.join(",")], {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, ...g.env, MUTATE_TESTS: g.tests.join(","), MUTATE_REPORT: path.relative(ROOT, reportOf(g)) },
    });
    if (run.status !== 0) failed.push(g.mutate.join(", "));
  }
}

// Stryker's score: detected (killed + timeout) over detected + undetected (survived + no coverage); static,
// ignored and compile-error mutants do not count.
const totals = new Map();
for (const g of chosen) {
  const file = reportOf(g);
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, "utf8"));
  for (const [name, { mutants }] of Object.entries(report.files)) {
    const key = path.isAbsolute(name) ? path.relative(ROOT, name) : name;
    const t = totals.get(key) ?? { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
    for (const m of mutants) t[m.status in t ? m.status : "other"] += 1;
    totals.set(key, t);
  }
}
const rows = [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => {
  const detected = t.Killed + t.Timeout;
  const valid = detected + t.Survived + t.NoCoverage;
  const score = valid === 0 ? "–" : `${((100 * detected) / valid).toFixed(1)} %`;
  return `| ${name} | ${score} | ${t.Killed} | ${t.Timeout} | ${t.Survived} | ${t.NoCoverage} | ${t.other} |`;
});
const table = ["| file | score | killed | timeout | survived | not covered | ignored/other |", "| --- | --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
if (rows.length > 0) {
  mkdirSync(REPORTS, { recursive: true });
  writeFileSync(path.join(REPORTS, "summary.md"), `${table}\n`);
  console.log(`\n${table}\n\n(written to ${path.relative(ROOT, path.join(REPORTS, "summary.md"))})`);
} else {
  console.log("mutate: no report yet for the chosen groups");
}
if (failed.length > 0) {
  console.error(`mutate: Stryker failed for ${failed.join("; ")}`);
  process.exit(1);
}
