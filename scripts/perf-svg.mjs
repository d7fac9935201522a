// node scripts/perf-svg.mjs [bench.json] [out.svg]: draws the scale series of `BENCH_JSON=… npm run bench`
// (seconds against identities, for create, no-op and one change) as a small SVG for docs/PERFORMANCE.md,
// with the linear extrapolation from the smallest size dashed beside each measured line.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const input = process.argv[2] ?? path.join(ROOT, "docs/perf/bench.json");
const output = process.argv[3] ?? path.join(ROOT, "docs/perf/scale.svg");
const { date, machine, scale } = JSON.parse(readFileSync(input, "utf8"));
if (!Array.isArray(scale) || scale.length < 2) throw new Error(`${input}: no scale series with two sizes or more`);

const W = 560, H = 340, left = 56, right = 150, top = 30, bottom = 44;
const series = [
  { key: "createMs", label: "create", color: "#1f77b4" },
  { key: "oneChangeMs", label: "one change", color: "#d62728" },
  { key: "noopMs", label: "no-op", color: "#2ca02c" },
];
// Log-log: a cost linear in n is a straight line of slope 1, whatever its size.
const ns = scale.map((r) => r.n);
const minN = Math.min(...ns), maxN = Math.max(...ns);
const values = scale.flatMap((r) => series.map((s) => r[s.key] / 1000));
const extrapolated = series.map((s) => (scale[0][s.key] / 1000) * (maxN / scale[0].n));
// From the decade below the smallest value to the first 1, 2 or 5 × 10^k above the largest.
const roundUp = (v) => [1, 2, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(v))).find((t) => t >= v);
const lo = 10 ** Math.floor(Math.log10(Math.min(...values))), hi = roundUp(Math.max(...values, ...extrapolated));
const x = (n) => left + ((Math.log(n) - Math.log(minN)) / (Math.log(maxN) - Math.log(minN))) * (W - left - right);
const y = (s) => H - bottom - ((Math.log(s) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (H - top - bottom);
const ticks = [];
for (let decade = lo; decade <= hi; decade *= 10) for (const m of [1, 2, 5]) if (decade * m <= hi) ticks.push(+(decade * m).toPrecision(1));
const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;");

const parts = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
parts.push(`<text x="${left}" y="16" font-size="12">provision, P-256 identities: seconds per run, log-log (${esc(date.slice(0, 10))}, ${machine.cores} cores, node ${esc(machine.node)})</text>`);
// Axes and grid.
for (const s of ticks) {
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(s)}" y2="${y(s)}" stroke="#ddd"/>`);
  parts.push(`<text x="${left - 6}" y="${y(s) + 4}" text-anchor="end">${s}</text>`);
}
for (const r of scale) parts.push(`<text x="${x(r.n)}" y="${H - bottom + 16}" text-anchor="middle">${r.n.toLocaleString("en")}</text>`);
parts.push(`<text x="${(left + W - right) / 2}" y="${H - 8}" text-anchor="middle">identities</text>`);
parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="#333"/>`, `<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="#333"/>`);
// Measured lines, and the linear extrapolation from the smallest size.
for (const [i, s] of series.entries()) {
  const points = scale.map((r) => `${x(r.n).toFixed(1)},${y(r[s.key] / 1000).toFixed(1)}`).join(" ");
  const first = scale[0];
  parts.push(`<polyline points="${x(first.n)},${y(first[s.key] / 1000)} ${x(maxN)},${y((first[s.key] / 1000) * (maxN / first.n))}" fill="none" stroke="${s.color}" stroke-dasharray="4 4" stroke-opacity="0.6"/>`);
  parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
  for (const r of scale) parts.push(`<circle cx="${x(r.n)}" cy="${y(r[s.key] / 1000)}" r="3" fill="${s.color}"/>`);
  const ly = top + 14 + i * 18;
  parts.push(`<line x1="${W - right + 12}" x2="${W - right + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`, `<text x="${W - right + 38}" y="${ly}">${s.label}</text>`);
}
const ly = top + 14 + series.length * 18;
parts.push(`<line x1="${W - right + 12}" x2="${W - right + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="#666" stroke-dasharray="4 4"/>`, `<text x="${W - right + 38}" y="${ly}">linear from ${scale[0].n.toLocaleString("en")}</text>`);
parts.push("</svg>");
writeFileSync(output, `${parts.join("\n")}\n`);
console.log(`wrote ${path.relative(process.cwd(), output)}`);
