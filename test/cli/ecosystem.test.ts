import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { pkiJsonSchema } from "../../src/config/json-schema.js";
import { starterLinks, starterYaml } from "../../src/cli/commands/init.js";
import { project, provision, ROOT, squirrelsYaml } from "../helpers/cli.js";
import { execaLogged, execaReadingKeys } from "../helpers/spawn.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { opensslVerify, publicKeysOf, verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

const blocks = (text: string, label: string) => (text.match(new RegExp(`-----BEGIN ${label}-----`, "g")) ?? []).length;

describe("output formats", () => {
  it("der, p12 and combined are readable by openssl and keytool, and written only when needed", async () => {
    requireTool("keytool", "default-jre-headless"); requireTool("openssl", "openssl");
    const yaml = squirrelsYaml().replace("    validity: 30d\n", "    validity: 30d\n    formats: [pem, der, p12, combined]\n    p12PassphraseEnv: P12_PASSWORD\n");
    const p = project(yaml);
    const env = { P12_PASSWORD: TEST_SECRETS.p12 };
    const run = await provision([], { cwd: p.dir, env });
    expect(run.code, run.stderr).toBe(0);
    const dir = path.join(p.out, "servers/secret-server");

    const fromDer = await execaLogged("openssl", ["x509", "-inform", "DER", "-in", path.join(dir, "cert.der")]);
    expect(fromDer.stdout.trim()).toBe(readFileSync(path.join(dir, "cert.pem"), "utf8").trim());
    const keyDer = await execaLogged("openssl", ["pkey", "-inform", "DER", "-in", path.join(dir, "key.der"), "-pubout"]);
    expect(keyDer.stdout).toBe((await publicKeysOf(path.join(dir, "cert.pem"), path.join(dir, "key.pem"))).fromKey);

    const p12 = await execaReadingKeys("openssl", ["pkcs12", "-in", path.join(dir, "identity.p12"), "-passin", "env:P12_PASSWORD", "-nodes"], { env });
    expect(blocks(p12.stdout, "CERTIFICATE")).toBe(3);
    expect(blocks(p12.stdout, "PRIVATE KEY")).toBe(1);
    expect(p12.stdout).toMatch(/friendlyName: secret-server/);
    const wrong = await execaLogged("openssl", ["pkcs12", "-in", path.join(dir, "identity.p12"), "-passin", "pass:nope", "-noout"], { reject: false });
    expect(wrong.exitCode).not.toBe(0);
    const keytool = await execaLogged("keytool", ["-list", "-storetype", "PKCS12", "-keystore", path.join(dir, "identity.p12"), "-storepass", env.P12_PASSWORD]);
    expect(keytool.stdout).toMatch(/secret-server, .*PrivateKeyEntry/);

    const combined = readFileSync(path.join(dir, "combined.pem"), "utf8");
    expect(blocks(combined, "CERTIFICATE")).toBe(2);
    expect(blocks(combined, "PRIVATE KEY")).toBe(1);
    const { statSync } = await import("node:fs");
    for (const f of ["identity.p12", "combined.pem", "key.der"]) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);

    const p12Before = readFileSync(path.join(dir, "identity.p12"));
    expect((await provision(["plan"], { cwd: p.dir, env })).code).toBe(0);
    expect((await provision([], { cwd: p.dir, env })).stdout).toMatch(/nothing to do/);
    expect(readFileSync(path.join(dir, "identity.p12")).equals(p12Before)).toBe(true);
    rmSync(path.join(dir, "identity.p12"));
    const plan = await provision(["plan"], { cwd: p.dir, env });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/refresh servers\/secret-server\/identity\.p12/);
    expect((await provision([], { cwd: p.dir, env })).code).toBe(0);
    expect(existsSync(path.join(dir, "identity.p12"))).toBe(true);
    const missingPassword = await provision(["--rotate-ca-key", "intermediate"], { cwd: p.dir, env: { P12_PASSWORD: undefined } });
    expect(missingPassword.code).toBe(1);
    expect(missingPassword.stderr).toMatch(/P12_PASSWORD is not set: it holds the password of secret-server's identity\.p12/);
  });
});

describe("inspect", () => {
  it("summarises each certificate of a file; refuses keys and garbage", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const out = await provision(["inspect", "pki/servers/secret-server/fullchain.pem"], { cwd: p.dir });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/\[1\/2\] certificate\n  subject      CN=my-site\.com, O=Secret Squirrels, L=Baltimore, ST=Maryland, C=US/);
    expect(out.stdout).toMatch(/names        DNS:my-site\.com, DNS:localhost, IP:127\.0\.0\.1, IP:::1, DNS:\*\.squirrels\.test/);
    expect(out.stdout).toMatch(/\[2\/2\] CA certificate/);
    expect(out.stdout).toMatch(/path length  0/);
    const json = JSON.parse((await provision(["inspect", "pki/cas/root/cert.pem", "--json"], { cwd: p.dir })).stdout);
    expect(json).toMatchObject({ isCa: true, selfSigned: true, keyType: "ecdsa-p256", keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"] });
    const fingerprint = (await execaLogged("openssl", ["x509", "-in", path.join(p.out, "cas/root/cert.pem"), "-noout", "-fingerprint", "-sha256"])).stdout.split("=")[1]!.replaceAll(":", "").toLowerCase();
    expect(json.fingerprint).toBe(fingerprint);
    expect((await provision(["inspect", "pki/cas/root/key.pem"], { cwd: p.dir })).stderr).toMatch(/holds no PEM certificate.*\nhint: that is a private key/);
    writeFileSync(path.join(p.dir, "junk.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    expect((await provision(["inspect", "junk.pem"], { cwd: p.dir })).stderr).toMatch(/does not parse/);
  });
});

describe("csr and sign: a member's key never leaves their machine", () => {
  it("round trip: csr on the member's side, sign on the admin's, verified by openssl; tampered or out-of-bounds requests refused", async () => {
    const teamYaml = squirrelsYaml().replace("cas:\n  root:\n", "cas:\n  root:\n    nameConstraints: { permitted: [.test, squirrels.test, localhost, my-site.com, 127.0.0.0/8, \"::1/128\", \"@squirrels.test\", \"@.squirrels.test\"] }\n");
    const admin = project(teamYaml);
    expect((await provision([], { cwd: admin.dir })).code).toBe(0);
    const member = project(teamYaml.replace("altNames: [alice@squirrels.test]", "altNames: [alice@squirrels.test, alice.test]"));
    const csr = await provision(["csr", "alice", "--out", "alice.csr"], { cwd: member.dir });
    expect(csr.code, csr.stderr).toBe(0);
    expect(csr.stderr).toMatch(/generated a new ecdsa-p256 key in pki\/clients\/alice\/key\.pem/);
    const { statSync } = await import("node:fs");
    expect(statSync(path.join(member.out, "clients/alice/key.pem")).mode & 0o777).toBe(0o600);
    const csrFile = path.join(member.dir, "alice.csr");
    expect((await execaLogged("openssl", ["req", "-in", csrFile, "-noout", "-verify"])).stderr + "").toMatch(/verify OK|Certificate request self-signature verify OK/);

    writeFileSync(path.join(admin.dir, "alice.csr"), readFileSync(csrFile));
    const signed = await provision(["sign", "--csr", "alice.csr", "--issuer", "intermediate", "--profile", "client", "--out", "alice.pem"], { cwd: admin.dir });
    expect(signed.code, signed.stderr).toBe(0);
    const cert = path.join(admin.dir, "alice.pem");
    const verified = await opensslVerify(cert, ["-purpose", "sslclient", "-CAfile", path.join(admin.out, "ca-bundle.pem"), "-untrusted", path.join(admin.out, "cas/intermediate/cert.pem"), "-verify_email", "alice@squirrels.test"]);
    expect(verified.ok, verified.output).toBe(true);
    const keys = await publicKeysOf(cert, path.join(member.out, "clients/alice/key.pem"));
    expect(keys.fromKey).toBe(keys.fromCert);

    // A CSR made by plain openssl works too, as a server.
    await execaLogged("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(admin.dir, "web.key"), "-out", path.join(admin.dir, "web.csr"), "-subj", "/CN=web.squirrels.test", "-addext", "subjectAltName=DNS:web.squirrels.test,IP:127.0.0.1"]);
    expect((await provision(["sign", "--csr", "web.csr", "--issuer", "intermediate", "--profile", "server", "--out", "web.pem"], { cwd: admin.dir })).code).toBe(0);
    const server = await opensslVerify(path.join(admin.dir, "web.pem"), ["-purpose", "sslserver", "-verify_hostname", "web.squirrels.test", "-CAfile", path.join(admin.out, "ca-bundle.pem"), "-untrusted", path.join(admin.out, "cas/intermediate/cert.pem")]);
    expect(server.ok, server.output).toBe(true);

    await execaLogged("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(admin.dir, "evil.key"), "-out", path.join(admin.dir, "evil.csr"), "-subj", "/CN=bank.example.com", "-addext", "subjectAltName=DNS:bank.example.com"]);
    const evil = await provision(["sign", "--csr", "evil.csr", "--issuer", "intermediate", "--profile", "server", "--out", "evil.pem"], { cwd: admin.dir });
    expect(evil.code).toBe(1);
    expect(evil.stderr).toMatch(/"bank\.example\.com" is outside the name constraints of CA root/);
    expect(existsSync(path.join(admin.dir, "evil.pem"))).toBe(false);

    const tampered = readFileSync(csrFile, "utf8").replace(/\n([A-Za-z0-9+/]{10})([A-Za-z0-9+/])/, (_m, a: string, b: string) => `\n${a}${b === "A" ? "B" : "A"}`);
    writeFileSync(path.join(admin.dir, "tampered.csr"), tampered);
    const bad = await provision(["sign", "--csr", "tampered.csr", "--issuer", "intermediate", "--profile", "client"], { cwd: admin.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/signature does not verify|not a readable certificate request|not valid/);
  });
});

describe("editor schema", () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(pkiJsonSchema()));

  it("the committed pki.schema.json is current (npm run schema regenerates it)", () => {
    expect(readFileSync(path.join(ROOT, "pki.schema.json"), "utf8")).toBe(pkiJsonSchema());
  });

  it("accepts every example and the init template; rejects known-bad files", () => {
    const examples = ["pki.yaml", "examples/secret-squirrels/pki.yaml", "examples/ci/pki.yaml", "examples/team/pki.yaml", "examples/team/member/pki.yaml"].map((f) => readFileSync(path.join(ROOT, f), "utf8"));
    for (const text of [...examples, starterYaml("x", "me@host")]) expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    for (const bad of ["version: 2\n", "version: 1\ncolour: red\n", "version: 1\ncas:\n  root: { key: ed25519 }\n", "version: 1\ncas:\n  root: { validity: 90days }\n", "version: 1\nservers:\n  web: { altNames: [a.test] }\n"]) {
      expect(validate(parse(bad)), bad).toBe(false);
    }
  });

  it("every bundled pki.yaml and the init template start with the yaml-language-server modeline", () => {
    for (const f of ["pki.yaml", "examples/secret-squirrels/pki.yaml", "examples/ci/pki.yaml", "examples/team/pki.yaml", "examples/team/member/pki.yaml"]) {
      const first = readFileSync(path.join(ROOT, f), "utf8").split("\n")[0]!;
      const target = first.replace("# yaml-language-server: $schema=", "");
      expect(existsSync(path.resolve(path.dirname(path.join(ROOT, f)), target)), f).toBe(true);
    }
  });

  it("init in an empty folder, then provision, works", async () => {
    const p = project("");
    rmSync(path.join(p.dir, "pki.yaml"));
    mkdirSync(path.join(p.dir, "sub"));
    const init = await provision(["init", "--dir", "sub"], { cwd: p.dir });
    expect(init.code).toBe(0);
    // A temp folder is outside this clone: the reference is the published schema of this version, and the
    // next step names the package (a bare `npx provision` would fetch npm's unrelated "provision").
    const version = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    const text = readFileSync(path.join(p.dir, "sub/pki.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe(`# yaml-language-server: $schema=https://unpkg.com/pki-provision@${version}/pki.schema.json`);
    expect(init.stdout).toContain("next: cd sub && npx pki-provision");
    expect((await provision(["-f", "sub/pki.yaml"], { cwd: p.dir })).code).toBe(0);
    expect((await verifyLeaf(path.join(p.dir, "sub/pki"), "servers", "localhost", ["-verify_hostname", "localhost"])).ok).toBe(true);
  });
});

describe("init's links to the schema and the CLI", () => {
  it("inside the project that installed the package: a relative path into node_modules, and npx provision", () => {
    const links = starterLinks("/home/me/app/config", "/home/me/app/node_modules/pki-provision", "1.2.3");
    expect(links).toEqual({ schema: "../node_modules/pki-provision/pki.schema.json", run: "npx provision" });
  });
  it("inside this clone: a relative path to its schema", () => {
    expect(starterLinks(path.join(ROOT, "examples/x"))).toEqual({ schema: "../../pki.schema.json", run: "npx provision" });
  });
  it("elsewhere (npx's cache, a global install): the versioned URL, and npx pki-provision", () => {
    for (const root of ["/root/.npm/_npx/0a1b/node_modules/pki-provision", "/usr/lib/node_modules/pki-provision", "/home/me/app/node_modules/pki-provision"]) {
      expect(starterLinks("/home/me/other", root, "1.2.3")).toEqual({ schema: "https://unpkg.com/pki-provision@1.2.3/pki.schema.json", run: "npx pki-provision" });
    }
  });
});

describe("CLI manners", () => {
  it("--help on every command, --version, exit codes in help, no colour when not a TTY", async () => {
    const p = project(squirrelsYaml());
    const help = await provision(["--help"], { cwd: p.dir });
    expect(help.stdout).toMatch(/Exit codes:\n  0 .*\n  1 .*\n  2 /);
    for (const command of ["plan", "status", "exec", "serve", "init", "inspect", "csr", "sign", "trust"]) {
      const own = await provision([command, "--help"], { cwd: p.dir });
      expect(own.code).toBe(0);
      expect(own.stdout.split("\n")[0]).toMatch(new RegExp(`^provision ${command}`));
    }
    const version = await provision(["--version"], { cwd: p.dir });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    const plain = await provision([], { cwd: p.dir });
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    expect((await provision(["bogus"], { cwd: p.dir })).stderr).toMatch(/unknown command "bogus"/);
    expect((await provision(["--bogus"], { cwd: p.dir })).code).toBe(1);
  });
});

describe("progress", () => {
  it("says so when a run generates more than a few RSA keys", async () => {
    const leaves = Array.from({ length: 4 }, (_, i) => `  s${i}: { issuer: root, key: rsa-2048, altNames: [s${i}.test] }`).join("\n");
    const p = project(`version: 1\ncas:\n  root: {}\nservers:\n${leaves}\n`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^generating 5 keys \(4 RSA; these take a moment\)…$/m);
    const few = project("version: 1\ncas:\n  root: { key: rsa-2048 }\n");
    expect((await provision([], { cwd: few.dir })).stderr).not.toMatch(/generating/);
  });
});

describe("colour", () => {
  it("colours actions on a terminal, never with NO_COLOR (a real pseudo-terminal via script(1))", async () => {
    requireTool("script", "bsdutils");
    const p = project(squirrelsYaml());
    const BIN = path.join(ROOT, "dist/cli/bin.js");
    const onTty = (env: Record<string, string>) =>
      execaLogged("script", ["-qec", `node ${BIN} plan`, "/dev/null"], { cwd: p.dir, env: { ...process.env, TERM: "xterm", ...env }, reject: false });
    const coloured = await onTty({});
    expect(coloured.stdout).toMatch(/\x1b\[32mcreate\x1b\[0m/);
    const plain = await onTty({ NO_COLOR: "1" });
    expect(plain.stdout).toMatch(/root\s+ca\s+create/);
    expect(plain.stdout).not.toMatch(/\x1b\[/);
  });
});
