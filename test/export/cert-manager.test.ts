import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { appendFileSync, existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { main } from "../../src/cli/main.js";
import type { Deps } from "../../src/deps.js";
import { altNameKey } from "../../src/config/alt-names.js";
import { renewalWindowSeconds } from "../../src/config/duration.js";
import { loadConfig } from "../../src/config/load.js";
import { sanFor } from "../../src/config/san.js";
import { exportCertManager, goDuration } from "../../src/export/cert-manager.js";
import { kubernetesName } from "../../src/export/kubernetes.js";
import { inspectCertificate } from "../../src/x509/inspect.js";
import { pemBlocks } from "../../src/x509/pem.js";
import { project, provision } from "../helpers/cli.js";
import { OUTPUT_LOG } from "../helpers/output-log.js";
import { opensslVerify } from "../helpers/openssl.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { checkCertManagerRules, checkDocuments, parseGoDuration, parseYamlDocuments } from "./k8s/check.js";
import { requireTool } from "../helpers/require-tool.js";

const PASS = TEST_SECRETS.exportCa;

const YAML = `version: 1
output: ./pki
defaults:
  subject: { country: "NO", state: Oslo, locality: Oslo, organization: Secret Squirrels, organizationalUnit: Web }
cas:
  root:
    commonName: Squirrels Root
    key: ecdsa-p384
    nameConstraints: { permitted: [localhost, .test, squirrels.test, 127.0.0.0/8, "::1/128", "@squirrels.test"] }
  intermediate:
    issuer: root
    commonName: Squirrels Intermediate
    validity: 2y
    passphraseEnv: EXPORT_TEST_PASS
  other:
    issuer: root
    commonName: Other CA
    validity: 1y
servers:
  web_site:
    issuer: intermediate
    commonName: www.squirrels.test
    altNames: [localhost, 127.0.0.1, "::1", "*.squirrels.test", "spiffe://squirrels.test/web"]
    validity: 30d
    renewBefore: 1/4
    formats: [combined, der, p12]
    serve: { port: 8443 }
  api:
    issuer: intermediate
    key: rsa-2048
    altNames: [api.squirrels.test]
    renewBefore: 10d
    rotateKey: never
    passphraseEnv: EXPORT_TEST_PASS
clients:
  alice:
    issuer: intermediate
    altNames: [alice@squirrels.test]
  elsewhere:
    issuer: other
    altNames: [else@squirrels.test]
`;

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string>; type?: string };

/**
 * Runs `provision export` in-process. Only stderr goes to the suite's output log (which is checked for key
 * material at the end): stdout holds the CA key on purpose.
 */
async function runExport(args: string[], cwd: string, env: NodeJS.ProcessEnv = { EXPORT_TEST_PASS: PASS }, deps?: Partial<Deps>) {
  let stdout = "";
  let stderr = "";
  const code = await main(["export", "cert-manager", ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { ...process.env, ...env }, cwd, deps });
  appendFileSync(OUTPUT_LOG, `${stderr}\n`);
  return { code, stdout, stderr, docs: code === 0 && stdout ? (parseYamlDocuments(stdout) as Doc[]) : [] };
}

async function provisioned(yaml = YAML) {
  const p = project(yaml);
  const run = await provision([], { cwd: p.dir, env: { EXPORT_TEST_PASS: PASS } });
  expect(run.code, run.stderr).toBe(0);
  const { config } = await loadConfig("pki.yaml", { cwd: p.dir });
  return { ...p, config, byName: new Map(config.identities.map((id) => [id.name, id] as const)) };
}

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
const spki = (key: KeyObject) => (key.type === "public" ? key : createPublicKey(key)).export({ type: "spki", format: "der" }).toString("base64");
const certsOf = (pem: string) => pemBlocks(pem).filter((b) => b.label === "CERTIFICATE").map((b) => new X509Certificate(b.pem));
const of = (docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind);

describe("provision export cert-manager", () => {
  it("writes documents the CRDs of cert-manager v1 and trust-manager accept, and cert-manager's own rules too", async () => {
    const p = await provisioned();
    const { code, docs, stderr } = await runExport(["--namespace", "web"], p.dir);
    expect(code, stderr).toBe(0);
    expect(docs.map((d) => d.kind)).toEqual(["Secret", "Issuer", "Certificate", "Certificate", "Certificate", "Bundle"]);
    expect(checkDocuments(docs)).toEqual([]);
    expect(checkCertManagerRules(docs)).toEqual([]);

    // The checker is not a rubber stamp: each of these breaks one rule kubectl or the webhook enforces.
    const broken: [string, (d: Doc[]) => void, RegExp][] = [
      ["unknown field", (d) => void (d[2]!.spec.renewbefore = "1h"), /unknown field "renewbefore"/],
      ["enum", (d) => void (d[2]!.spec.privateKey.rotationPolicy = "always"), /one of Never, Always/],
      ["required", (d) => void delete d[2]!.spec.issuerRef, /issuerRef/],
      ["usage enum", (d) => void d[2]!.spec.usages.push("server-auth"), /must be one of/],
      ["RFC 1123 name", (d) => void (d[1]!.metadata.name = "Inter_mediate"), /must match pattern/],
      ["namespace on a cluster-scoped kind", (d) => void (d[5]!.metadata.namespace = "web"), /unknown field "namespace"/],
      ["one source kind per Bundle source", (d) => void (d[5]!.spec.sources[0].useDefaultCAs = true), /exactly one schema in oneOf/],
      ["tls Secret without a key", (d) => void delete d[0]!.data!["tls.key"], /tls\.key/],
      ["YAML 1.2 boolean", (d) => void (d[2]!.spec.subject.countries = [false]), /must be string/],
    ];
    for (const [what, mutate, message] of broken) {
      const copy = structuredClone(docs);
      mutate(copy);
      expect(checkDocuments(copy).map((f) => `${f.path}: ${f.message}`).join("\n"), what).toMatch(message);
    }
    const rules: [string, (d: Doc[]) => void, RegExp][] = [
      ["duration under 1h", (d) => void (d[2]!.spec.duration = "59m"), /minimum 1h/],
      ["renewBefore ≥ duration", (d) => void (d.find((x) => x.spec?.renewBefore)!.spec.renewBefore = "9000h"), /below the duration/],
      ["both renewal fields", (d) => void (d.find((x) => x.spec?.renewBeforePercentage)!.spec.renewBefore = "1h"), /mutually exclusive/],
      ["dangling issuerRef", (d) => void (d[2]!.spec.issuerRef.name = "nope"), /no Issuer nope/],
      ["Secret in the wrong namespace", (d) => void (d[0]!.metadata.namespace = "default"), /no Secret web\//],
      ["Go duration syntax", (d) => void (d[2]!.spec.duration = "90d"), /not a Go duration/],
    ];
    for (const [what, mutate, message] of rules) {
      const copy = structuredClone(docs);
      mutate(copy);
      expect(checkCertManagerRules(copy).map((f) => f.message).join("\n"), what).toMatch(message);
    }
  });

  it("the Secret is a working CA key pair: the key matches tls.crt, ca.crt is the root, and it issues what verifies", async () => {
    const p = await provisioned();
    const { docs } = await runExport([], p.dir);
    const [secret] = of(docs, "Secret");
    expect(secret!.type).toBe("kubernetes.io/tls");
    const tlsCrt = decode(secret!.data!["tls.crt"]!);
    const tlsKey = decode(secret!.data!["tls.key"]!);
    const caCrt = decode(secret!.data!["ca.crt"]!);
    // Encrypted on disk, decrypted for cert-manager (which reads no passphrases).
    expect(readFileSync(path.join(p.out, "cas/intermediate/key.pem"), "utf8")).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(tlsKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const [intermediate] = certsOf(tlsCrt);
    expect(spki(createPrivateKey(tlsKey))).toBe(spki(intermediate!.publicKey));
    expect(spki(createPrivateKey(readFileSync(path.join(p.out, "cas/other/key.pem"), "utf8")))).not.toBe(spki(intermediate!.publicKey));
    expect(tlsCrt).toBe(readFileSync(path.join(p.out, "cas/intermediate/cert.pem"), "utf8"));
    expect(caCrt).toBe(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8"));
    const [root] = certsOf(caCrt);
    expect(root!.verify(root!.publicKey) && intermediate!.verify(root!.publicKey)).toBe(true);

    // Do what cert-manager's CA issuer does with the Secret: sign a request, then verify the result.
    const dir = path.join(p.dir, "issuer");
    await execa("mkdir", [dir]);
    const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text, { mode: 0o600 }), path.join(dir, name));
    const [crtFile, keyFile, caFile] = [file("tls.crt", tlsCrt), file("tls.key", tlsKey), file("ca.crt", caCrt)];
    const web = of(docs, "Certificate").find((c) => c.metadata.name === "web-site")!;
    await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "leaf.key"), "-out", path.join(dir, "leaf.csr"), "-subj", `/CN=${web.spec.commonName}`]);
    file("ext.cnf", `subjectAltName=${web.spec.dnsNames.map((n: string) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n`);
    await execa("openssl", ["x509", "-req", "-in", path.join(dir, "leaf.csr"), "-CA", crtFile, "-CAkey", keyFile, "-CAcreateserial", "-days", "30", "-extfile", path.join(dir, "ext.cnf"), "-out", path.join(dir, "leaf.pem")]);
    const verified = await opensslVerify(path.join(dir, "leaf.pem"), ["-purpose", "sslserver", "-CAfile", caFile, "-untrusted", crtFile, "-verify_hostname", "www.squirrels.test"]);
    expect(verified.ok, verified.output).toBe(true);
    // Twin: the same leaf against another root fails.
    const otherRoot = await opensslVerify(path.join(dir, "leaf.pem"), ["-CAfile", path.join(p.out, "cas/other/cert.pem"), "-untrusted", crtFile]);
    expect(otherRoot.ok).toBe(false);
  });

  it("Go's standard library reads every value as cert-manager does: key pair, chain, durations, IPs, emails, URIs, roots", { timeout: 180_000 }, async () => {
    requireTool("go", "golang-go");
    const p = await provisioned();
    const { docs } = await runExport([], p.dir);
    const broken = structuredClone(docs);
    broken[0]!.data!["tls.key"] = Buffer.from(readFileSync(path.join(p.out, "cas/other/key.pem"))).toString("base64");
    of(broken, "Certificate")[0]!.spec.duration = "90d";
    of(broken, "Certificate").find((c) => c.spec.ipAddresses)!.spec.ipAddresses.push("127.0.0.256");
    const go = await execa("go", ["run", path.join(import.meta.dirname, "k8s/go-check.go")], { input: JSON.stringify([docs, broken]), env: { GO111MODULE: "off" } });
    const [good, bad] = JSON.parse(go.stdout) as { errors: string[]; certificates: Record<string, { durationSeconds: number; renewBeforeSeconds: number | null; ips: string[] }>; bundleRoots: number }[];
    expect(good!.errors).toEqual([]);
    expect(good!.bundleRoots).toBe(1);
    for (const [name, parsed] of Object.entries(good!.certificates)) {
      const id = [...p.byName.values()].find((i) => kubernetesName(i.name) === name)!;
      expect(parsed.durationSeconds).toBe(id.validitySeconds);
      if (parsed.renewBeforeSeconds !== null) expect(parsed.renewBeforeSeconds).toBe(renewalWindowSeconds(id.renewBefore, id.validitySeconds));
    }
    expect(good!.certificates["web-site"]!.ips).toEqual(["127.0.0.1", "::1"]);
    expect(bad!.errors.join("\n")).toMatch(/tls\.X509KeyPair: tls: private key does not match public key/);
    expect(bad!.errors.join("\n")).toMatch(/duration: time: unknown unit "d" in duration "90d"/);
    expect(bad!.errors.join("\n")).toMatch(/"127\.0\.0\.256" is not an IP/);
  });

  it("each Certificate says what pki.yaml says: names, lifetime, renewal window, key, rotation, usages, subject", async () => {
    const p = await provisioned();
    const { docs } = await runExport(["-n", "web"], p.dir);
    const certificates = of(docs, "Certificate");
    expect(certificates.map((c) => c.metadata.name).sort()).toEqual(["alice", "api", "web-site"]);
    for (const cert of certificates) {
      const id = [...p.byName.values()].find((i) => kubernetesName(i.name) === cert.metadata.name)!;
      const s = cert.spec;
      const onDisk = inspectCertificate(readFileSync(path.join(p.out, `${id.kind}s/${id.name}/cert.pem`), "utf8"));
      const exported = [
        ...(s.dnsNames ?? []).map((value: string) => ({ type: "dns", value })),
        ...(s.ipAddresses ?? []).map((value: string) => ({ type: "ip", value })),
        ...(s.emailAddresses ?? []).map((value: string) => ({ type: "email", value })),
        ...(s.uris ?? []).map((value: string) => ({ type: "uri", value })),
      ].map(altNameKey);
      expect(exported.sort(), id.name).toEqual(sanFor(id).map(altNameKey).sort());
      expect(exported.sort(), id.name).toEqual(onDisk.facts.altNames.map(altNameKey).sort());
      expect(s.commonName).toBe(onDisk.facts.subject.commonName);
      expect(s.subject).toEqual({ countries: ["NO"], provinces: ["Oslo"], localities: ["Oslo"], organizations: ["Secret Squirrels"], organizationalUnits: ["Web"] });
      expect(parseGoDuration(s.duration)).toBe(id.validitySeconds);
      const window = s.renewBefore !== undefined ? parseGoDuration(s.renewBefore)! : (id.validitySeconds * s.renewBeforePercentage) / 100;
      expect(Math.abs(window - renewalWindowSeconds(id.renewBefore, id.validitySeconds)), id.name).toBeLessThan(1);
      const keyType = onDisk.facts.keyType!;
      const size = { "ecdsa-p256": 256, "ecdsa-p384": 384, "rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096 }[keyType];
      expect(s.privateKey).toEqual({ algorithm: keyType.startsWith("rsa") ? "RSA" : "ECDSA", size, encoding: "PKCS8", rotationPolicy: id.rotateKey === "always" ? "Always" : "Never" });
      const names: Record<string, string> = { digitalSignature: "digital signature", keyEncipherment: "key encipherment", serverAuth: "server auth", clientAuth: "client auth" };
      expect([...s.usages].sort()).toEqual([...onDisk.keyUsage, ...onDisk.facts.extKeyUsage].map((u) => names[u] ?? u).sort());
      expect(s.secretName).toBe(`${cert.metadata.name}-tls`);
    }
    const web = certificates.find((c) => c.metadata.name === "web-site")!.spec;
    expect(web.renewBeforePercentage).toBe(25);
    expect(web.duration).toBe("720h0m0s");
    expect(web.additionalOutputFormats).toEqual([{ type: "DER" }, { type: "CombinedPEM" }]);
    expect(certificates.find((c) => c.metadata.name === "api")!.spec.renewBefore).toBe("240h0m0s");
    expect(certificates.find((c) => c.metadata.name === "alice")!.spec.renewBefore).toBe("720h0m0s");
  });

  it("reports on stderr, per identity, what cert-manager cannot say; nothing for an identity that says nothing such", async () => {
    const p = await provisioned();
    const { stderr } = await runExport([], p.dir);
    const notes = (name: string) => stderr.split("\n").filter((l) => l.startsWith(`note: ${name}: `)).join("\n");
    expect(notes("root")).toMatch(/stays with provision, offline/);
    expect(notes("root")).toMatch(/nameConstraints: kept in the CA certificate/);
    expect(notes("intermediate")).toMatch(/passphraseEnv EXPORT_TEST_PASS: the key is encrypted on disk but decrypted in the Secret/);
    expect(notes("intermediate")).toMatch(/renewing this CA stays with provision/);
    expect(notes("web_site")).toMatch(/formats der: .*key\.der/);
    expect(notes("web_site")).toMatch(/formats combined: .*tls-combined\.pem/);
    expect(notes("web_site")).toMatch(/formats p12: not exported/);
    expect(notes("web_site")).toMatch(/serve \(launch config\): not exported; mount Secret web-site-tls/);
    expect(notes("api")).toMatch(/passphraseEnv EXPORT_TEST_PASS: cert-manager keeps keys unencrypted/);
    expect(notes("elsewhere")).toMatch(/issued by other, not by intermediate: not exported \(export with --ca other\)/);
    expect(notes("other")).toMatch(/CA not exported \(export it with --ca other\)/);
    expect(notes("alice")).toBe("");
    // Grouped per identity, issuers first.
    const order = stderr.split("\n").filter((l) => l.startsWith("note: ")).map((l) => l.split(":")[1]!.trim());
    const groups = order.filter((name, i) => name !== order[i - 1]);
    expect(new Set(groups).size).toBe(groups.length);
    expect(groups.slice(0, 3)).toEqual(["root", "intermediate", "other"]);
    expect(stderr).toMatch(/warning: the output holds the private key of CA intermediate \(Secret default\/intermediate-ca-key-pair\); keep it out of git/);
  });

  it("the Bundle carries every root of ca-bundle.pem, the old one too during a root key rollover", async () => {
    const p = await provisioned();
    const bundleOf = async () => {
      const { docs } = await runExport([], p.dir);
      const [bundle] = of(docs, "Bundle");
      expect(bundle!.spec.target).toEqual({ configMap: { key: "ca-bundle.pem" } });
      expect(bundle!.spec.target.namespaceSelector).toBeUndefined();
      return { docs, pems: bundle!.spec.sources.map((s: { inLine: string }) => s.inLine) as string[] };
    };
    const before = await bundleOf();
    expect(before.pems).toEqual([readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8")]);
    const rotate = await provision(["--rotate-ca-key", "root"], { cwd: p.dir, env: { EXPORT_TEST_PASS: PASS } });
    expect(rotate.code, rotate.stderr).toBe(0);
    const after = await bundleOf();
    expect(after.pems).toHaveLength(2);
    expect(after.pems.join("")).toBe(readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8"));
    expect(after.pems).toContain(before.pems[0]);
    for (const pem of after.pems) {
      const [root] = certsOf(pem);
      expect(root!.ca && root!.verify(root!.publicKey)).toBe(true);
    }
    // The Secret names the new root as ca.crt; the old one is only in the Bundle.
    expect(decode(of(after.docs, "Secret")[0]!.data!["ca.crt"]!)).toBe(readFileSync(path.join(p.out, "cas/root/cert.pem"), "utf8"));
    expect(checkDocuments(after.docs)).toEqual([]);
  });

  it("--cluster-issuer: a ClusterIssuer, its Secret in cert-manager's namespace, Certificates pointing at it", async () => {
    const p = await provisioned();
    const { docs } = await runExport(["--cluster-issuer", "--namespace", "apps"], p.dir);
    const [issuer] = of(docs, "ClusterIssuer");
    expect(issuer!.metadata).toEqual({ name: "intermediate" });
    expect(of(docs, "Issuer")).toEqual([]);
    expect(of(docs, "Secret")[0]!.metadata).toEqual({ name: "intermediate-ca-key-pair", namespace: "cert-manager" });
    for (const c of of(docs, "Certificate")) {
      expect(c.metadata.namespace).toBe("apps");
      expect(c.spec.issuerRef).toEqual({ name: "intermediate", kind: "ClusterIssuer", group: "cert-manager.io" });
    }
    expect(checkDocuments(docs)).toEqual([]);
    expect(checkCertManagerRules(docs)).toEqual([]);
    expect(checkCertManagerRules(docs, "cert-manager-other")).not.toEqual([]);
  });

  it("never a root's key unless --ca names the root and --include-root-key confirms it", async () => {
    const p = await provisioned(YAML.replace("  web_site:\n    issuer: intermediate", "  web_site:\n    issuer: root").replace("  api:\n    issuer: intermediate", "  api:\n    issuer: root").replace("  alice:\n    issuer: intermediate", "  alice:\n    issuer: root"));
    const out = path.join(p.dir, "cm.yaml");
    for (const args of [[], ["--ca", "root"], ["--out", out]]) {
      const run = await runExport(args, p.dir);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/root is a root CA: exporting it would put the root's private key into the cluster/);
    }
    expect(existsSync(out)).toBe(false);
    const misuse = await runExport(["--ca", "intermediate", "--include-root-key"], p.dir);
    expect(misuse.stderr).toMatch(/--include-root-key: intermediate is not a root/);
    expect(misuse.code).toBe(1);
    const ok = await runExport(["--ca", "root", "--include-root-key"], p.dir);
    expect(ok.code, ok.stderr).toBe(0);
    const secret = of(ok.docs, "Secret")[0]!;
    expect(spki(createPrivateKey(decode(secret.data!["tls.key"]!)))).toBe(spki(new X509Certificate(readFileSync(path.join(p.out, "cas/root/cert.pem"))).publicKey));
    expect(decode(secret.data!["tls.crt"]!)).toBe(decode(secret.data!["ca.crt"]!));
    expect(ok.stderr).toMatch(/note: root: this is a root: its private key is in the output/);
    expect(of(ok.docs, "Certificate").map((c) => c.metadata.name).sort()).toEqual(["alice", "api", "web-site"]);
    expect(checkDocuments(ok.docs)).toEqual([]);
  });

  it("an encrypted CA key needs its passphrase; without it: exit 1, nothing written", async () => {
    const p = await provisioned();
    const out = path.join(p.dir, "cm.yaml");
    const run = await runExport(["--out", out], p.dir, { EXPORT_TEST_PASS: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/key\.pem is encrypted and no passphrase is available/);
    expect(run.stderr).toMatch(/hint: set the environment variable EXPORT_TEST_PASS/);
    expect(existsSync(out)).toBe(false);
    const wrong = await runExport([], p.dir, { EXPORT_TEST_PASS: TEST_SECRETS.wrong });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe("");
  });

  it("--out writes the same YAML to a 0600 file, atomically, and refuses a symlink", async () => {
    const p = await provisioned();
    const printed = await runExport([], p.dir);
    const written = await runExport(["--out", "cm.yaml"], p.dir);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe("");
    expect(written.stderr).toMatch(/wrote 6 documents to cm\.yaml \(mode 0600\): it holds the private key of CA intermediate/);
    const file = path.join(p.dir, "cm.yaml");
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe(printed.stdout);
    symlinkSync(path.join(p.dir, "elsewhere.yaml"), path.join(p.dir, "link.yaml"));
    const link = await runExport(["--out", "link.yaml"], p.dir);
    expect(link.code).toBe(1);
    expect(link.stderr).toMatch(/it is a symlink/);
    expect(existsSync(path.join(p.dir, "elsewhere.yaml"))).toBe(false);
  });

  it("files that no longer fit together are refused, not exported: an expired CA, a foreign key, a stale bundle", async () => {
    const p = await provisioned();
    const threeYears = new Date(Date.now() + 3 * 365 * 86_400_000);
    const expired = await runExport([], p.dir, undefined, { now: () => threeYears });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/the certificate of CA intermediate expired on .*\nhint: run provision to renew it, then export again/);
    expect((await runExport([], p.dir, undefined, { now: () => new Date(Date.now() + 365 * 86_400_000) })).code).toBe(0);

    const bundle = path.join(p.out, "ca-bundle.pem");
    const bundlePem = readFileSync(bundle, "utf8");
    writeFileSync(bundle, readFileSync(path.join(p.out, "cas/other/cert.pem")));
    const stale = await runExport([], p.dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/ca-bundle\.pem does not hold the current certificate of root root/);
    writeFileSync(bundle, bundlePem);

    writeFileSync(path.join(p.out, "cas/intermediate/key.pem"), readFileSync(path.join(p.out, "cas/other/key.pem")), { mode: 0o600 });
    const foreign = await runExport([], p.dir);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/intermediate\/key\.pem does not belong to the certificate of CA intermediate/);
    expect(foreign.stdout).toBe("");
  });

  it("before provision has run: a clear error, no output", async () => {
    const p = project(YAML);
    const run = await runExport([], p.dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read the certificate of CA intermediate .*no such file/);
    expect(run.stderr).toMatch(/hint: run provision first, then export/);
  });

  it("usage: the target is required, options are checked, --help explains", async () => {
    const p = project(YAML);
    const bare = await provision(["export"], { cwd: p.dir });
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/export what\?/);
    expect((await provision(["export", "vault"], { cwd: p.dir })).stderr).toMatch(/cannot export to "vault"/);
    expect((await provision(["export", "cert-manager", "--namespace", "Web_NS"], { cwd: p.dir })).stderr).toMatch(/--namespace Web_NS: not a Kubernetes namespace name/);
    expect((await provision(["export", "cert-manager", "--prune"], { cwd: p.dir })).stderr).toMatch(/--prune does not apply to provision export/);
    const help = await provision(["export", "--help"], { cwd: p.dir });
    expect(help.stdout).toMatch(/--include-root-key/);
    expect(help.stdout).toMatch(/ConfigMap provision-ca-bundle/);
    expect((await provision(["--help"], { cwd: p.dir })).stdout).toMatch(/provision export cert-manager/);
  });
});

describe("cert-manager mapping (pure)", () => {
  const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const material = { certPem: "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n", issuerCertPems: [ROOT_PEM], keyPem: "k" };
  async function mapped(servers: string) {
    const p = project(`version: 1
cas:
  root: {}
  ca: { issuer: root }
servers:
${servers}`);
    const { config } = await loadConfig("pki.yaml", { cwd: p.dir });
    return { config, result: () => exportCertManager(config, config.identities.find((i) => i.name === "ca")!, material, ROOT_PEM, { namespace: "default", clusterIssuer: false }) };
  }
  const spec = (r: ReturnType<typeof exportCertManager>, name: string) => r.documents.find((d) => d.kind === "Certificate" && d.metadata.name === name)!.spec as Record<string, unknown>;

  it("renewal: a whole percentage stays relative, other fractions become the window for that lifetime, at least 5m", async () => {
    const { result } = await mapped(`  a: { issuer: ca, altNames: [a.test], validity: 90d }
  b: { issuer: ca, altNames: [b.test], validity: 90d, renewBefore: 1/2 }
  c: { issuer: ca, altNames: [c.test], validity: 90d, renewBefore: 2/3 }
  d: { issuer: ca, altNames: [d.test], validity: 1h, renewBefore: 1/50 }
  e: { issuer: ca, altNames: [e.test], validity: 7h, renewBefore: 1/3 }
  f: { issuer: ca, altNames: [f.test], validity: 247m, renewBefore: 49/50 }
  g: { issuer: ca, altNames: [g.test], validity: 30m, afterChange: "systemctl reload nginx" }
`);
    const r = result();
    expect(spec(r, "a")).toMatchObject({ duration: "2160h0m0s", renewBefore: "720h0m0s" });
    expect(spec(r, "b")).toMatchObject({ renewBeforePercentage: 50 });
    expect(spec(r, "c")).toMatchObject({ renewBefore: "1440h0m0s" });
    expect(spec(r, "d")).toMatchObject({ duration: "1h0m0s", renewBefore: "5m0s" });
    expect(r.notes).toContainEqual({ identity: "d", message: expect.stringMatching(/renewBefore 1\/50 is 1m12s, below cert-manager's minimum: exported as renewBefore 5m0s/) });
    expect(spec(r, "e")).toMatchObject({ renewBefore: "2h20m0s" });
    // 98% of 247m: cert-manager's webhook computes 2% (4m56s) and refuses it, so the window is fixed instead.
    expect(spec(r, "f")).toMatchObject({ duration: "4h7m0s", renewBefore: "4h2m3s" });
    expect(spec(r, "f").renewBeforePercentage).toBeUndefined();
    // Below cert-manager's minimum lifetime of 1h: raised, said, and the fraction applies to what is exported.
    expect(spec(r, "g")).toMatchObject({ duration: "1h0m0s", renewBefore: "20m0s" });
    expect(r.notes.filter((n) => n.identity === "g").map((n) => n.message)).toEqual([
      expect.stringMatching(/afterChange: not exported; cert-manager updates the Secret in place/),
      "validity 30m0s is below cert-manager's minimum duration: exported as duration 1h0m0s",
    ]);
    expect(r.notes.filter((n) => n.identity === "a")).toEqual([]);
    expect(checkCertManagerRules(r.documents)).toEqual([]);
  });

  it("the default CA is the one that issues the servers (else the clients); several: choose with --ca", async () => {
    const { chooseExportCa } = await import("../../src/export/cert-manager.js");
    const load = async (yaml: string) => (await loadConfig("pki.yaml", { cwd: project(yaml).dir })).config;
    const cas = "version: 1\ncas:\n  root: {}\n  a: { issuer: root }\n  b: { issuer: root }\n";
    expect(chooseExportCa(await load(`${cas}servers:\n  s: { issuer: a, altNames: [s.test] }\nclients:\n  c: { issuer: b }\n`), null, false).name).toBe("a");
    expect(chooseExportCa(await load(`${cas}clients:\n  c: { issuer: b }\n`), null, false).name).toBe("b");
    const two = await load(`${cas}servers:\n  s: { issuer: a, altNames: [s.test] }\n  t: { issuer: b, altNames: [t.test] }\n`);
    expect(() => chooseExportCa(two, null, false)).toThrow(/the servers are issued by several CAs \(a, b\)/);
    expect(chooseExportCa(two, "b", false).name).toBe("b");
    expect(() => chooseExportCa(two, "zz", false)).toThrow(/no CA named "zz"/);
    // An external CA has no files in the output folder: said so, not "is a root CA" (an external intermediate
    // has no issuer in pki.yaml); the twin, a provision CA under it, is the one exported.
    const spec = { version: 1, cas: { int: { external: { cert: "./int.pem", key: "./int-key.pem" } }, k8s: { issuer: "int" } }, servers: { s: { issuer: "int", altNames: ["s.test"] } } } as const;
    const parsed = (await import("../../src/config/parse.js")).parseConfig(JSON.stringify(spec), "pki.yaml");
    expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const config = parsed.config!;
    expect(() => chooseExportCa(config, null, false)).toThrow(/^int is an external CA: export reads a CA's certificate and key from the output folder, where an external CA has none$/);
    expect(() => chooseExportCa(config, "int", true)).toThrow(/int is an external CA/);
    expect(chooseExportCa(config, "k8s", false).name).toBe("k8s");
  });

  it("goDuration writes what time.ParseDuration reads back", () => {
    expect([7_776_000, 1200, 45, 0, 3601].map(goDuration)).toEqual(["2160h0m0s", "20m0s", "45s", "0s", "1h0m1s"]);
    for (const s of [7_776_000, 1200, 45, 3601, 8400]) expect(parseGoDuration(goDuration(s))).toBe(s);
    expect(parseGoDuration("90d")).toBeUndefined();
  });

  it("names: mapped to RFC 1123 (lowercase, _ as -), refused when they cannot be, refused when two collide", async () => {
    expect(kubernetesName("Web_Site.EU")).toBe("web-site.eu");
    expect(() => kubernetesName("web-")).toThrow(/"web-" cannot be a Kubernetes object name/);
    expect(() => kubernetesName("a..b")).toThrow(/RFC 1123/);
    const { result } = await mapped(`  a_b: { issuer: ca, altNames: [a.test] }
  a-b: { issuer: ca, altNames: [b.test] }
`);
    expect(result).toThrow(/"a-b" and "a_b" both become the Kubernetes name a-b|"a_b" and "a-b" both become/);
  });

  it("country NO survives kubectl's YAML 1.1 reading; rendered as YAML 1.2 it would not", async () => {
    const { renderDocuments } = await import("../../src/export/kubernetes.js");
    const doc = { apiVersion: "v1", kind: "Secret", metadata: { name: "x" }, stringData: { country: "NO", on: "yes" } };
    expect(parseYamlDocuments(renderDocuments([doc], " header"))).toEqual([doc]);
    expect(parseYamlDocuments(stringify(doc))).not.toEqual([doc]);
  });
});
