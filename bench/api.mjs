// npm run bench (last part): a CA and one P-256 server certificate made in memory, by pki-provision's
// createPki and by the selfsigned package, in the same process and run. Prints medians and the ratio.
import { X509Certificate } from "node:crypto";
import path from "node:path";
import selfsigned from "selfsigned";

const ROOT = path.resolve(import.meta.dirname, "..");
const { createPki } = await import(path.join(ROOT, "dist/api.js"));
const RUNS = Number(process.env.BENCH_API_RUNS ?? 20);

const SPEC = `version: 1
cas:
  root: { commonName: Bench Root CA, key: ecdsa-p256, validity: 1y }
servers:
  web: { issuer: root, key: ecdsa-p256, altNames: [localhost, 127.0.0.1], validity: 30d }
`;

async function withProvision() {
  const pki = await createPki(SPEC);
  return { ca: pki.get("root").cert, leaf: pki.get("web").cert };
}

async function withSelfsigned() {
  const days = (n) => new Date(Date.now() + n * 86_400_000);
  const ca = await selfsigned.generate([{ name: "commonName", value: "Bench Root CA" }], {
    keyType: "ec", curve: "P-256", algorithm: "sha256", notAfterDate: days(365),
    extensions: [{ name: "basicConstraints", cA: true, critical: true }, { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  const leaf = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec", curve: "P-256", algorithm: "sha256", notAfterDate: days(30), ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
    ],
  });
  return { ca: ca.cert, leaf: leaf.cert };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure(label, make) {
  const first = await make(); // warm-up, and a check that both make the same thing: a leaf its CA signed
  const ca = new X509Certificate(first.ca);
  const leaf = new X509Certificate(first.leaf);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey) || leaf.publicKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error(`${label}: not a P-256 leaf signed by its CA`);
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await make();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const ours = await measure("pki-provision", withProvision);
const theirs = await measure("selfsigned", withSelfsigned);
console.log(`\nIn memory, a CA + one P-256 server certificate (median of ${RUNS}):`);
console.log(`  pki-provision createPki  ${ours.toFixed(2)} ms`);
console.log(`  selfsigned ${JSON.parse((await import("node:fs")).readFileSync(path.join(ROOT, "node_modules/selfsigned/package.json"), "utf8")).version.padEnd(12)}  ${theirs.toFixed(2)} ms`);
console.log(`  ratio                    ${(ours / theirs).toFixed(2)}x`);
