import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, provision } from "../helpers/cli.js";
import { freePort, waitForPort } from "../helpers/process.js";
import { requireTool } from "../helpers/require-tool.js";
import { execaLogged, spawnLogged } from "../helpers/spawn.js";
import { createCertificationRequest } from "../../src/x509/csr.js";
import { generateKey } from "../../src/x509/keys.js";
import { TestAcmeClient } from "./client.js";

// One endpoint for the whole file (started as `provision acme`, stopped by PID), real clients against it.
let dir: string;
let ca: string;
let directoryUrl: string;
let ports: { acme: number; http: number; tls: number };
let stopAcme: () => Promise<void>;
let acmeOutput: () => string;

beforeAll(async () => {
  requireTool("openssl", "openssl");
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-acme-")));
  ports = { acme: await freePort(), http: await freePort(), tls: await freePort() };
  writeFileSync(path.join(dir, "pki.yaml"), `version: 1
cas:
  root:
    commonName: ACME Test Root
    nameConstraints:
      permitted: [localhost, .localhost, .test, 127.0.0.0/8, "::1/128"]
  intermediate:
    issuer: root
    commonName: ACME Test Intermediate
    pathLength: 0
servers:
  web:
    issuer: intermediate
    altNames: [caddy.squirrels.test]
    serve: { host: 127.0.0.1, port: ${ports.tls} }
acme:
  ca: intermediate
  listen: 127.0.0.1:${ports.acme}
  allow: [.squirrels.test, .example.com, 127.0.0.1]
  httpPort: ${ports.http}
  tlsPort: ${ports.tls}
  resolve:
    "*.squirrels.test": 127.0.0.1
    "*.example.com": 127.0.0.1
`);
  const env = { PROVISION_NO_CACHE: "1" };
  const made = await provision(["-f", "pki.yaml"], { cwd: dir, env });
  expect(made.code, made.stderr).toBe(0);
  ca = readFileSync(path.join(dir, "pki/ca-bundle.pem"), "utf8");
  const { child, output, exited } = spawnLogged("node", [BIN, "acme", "-f", "pki.yaml"], { cwd: dir, env: { ...process.env, ...env } });
  acmeOutput = output;
  stopAcme = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  await waitForPort(ports.acme);
  directoryUrl = `https://127.0.0.1:${ports.acme}/directory`;
});

afterAll(async () => {
  await stopAcme?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function lego(args: string[], legoDir: string) {
  requireTool("lego", "lego");
  return execaLogged("lego", ["--server", directoryUrl, "--accept-tos", "--email", "dev@squirrels.test", "--path", legoDir, ...args, "run"], {
    cwd: dir,
    env: { LEGO_CA_CERTIFICATES: path.join(dir, "pki/ca-bundle.pem") },
    reject: false,
    timeout: 60_000,
  });
}

async function opensslVerify(cert: string, chain: string) {
  return execaLogged("openssl", ["verify", "-x509_strict", "-CAfile", path.join(dir, "pki/ca-bundle.pem"), "-untrusted", chain, cert], { reject: false });
}

describe("provision acme with lego", () => {
  it("issues over http-01 a chain that openssl verify -x509_strict accepts against ca-bundle.pem", async () => {
    const legoDir = path.join(dir, "lego-http");
    const run = await lego(["-d", "web.squirrels.test", "--http", "--http.port", `127.0.0.1:${ports.http}`], legoDir);
    expect(run.exitCode, String(run.all)).toBe(0);
    const cert = path.join(legoDir, "certificates/web.squirrels.test.crt");
    const verified = await opensslVerify(cert, path.join(legoDir, "certificates/web.squirrels.test.issuer.crt"));
    expect(verified.stdout).toContain(": OK");
    const text = await execaLogged("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName", "-issuer", "-subject"]);
    expect(text.stdout).toContain("DNS:web.squirrels.test");
    expect(text.stdout).toContain("ACME Test Intermediate");
    expect(text.stdout).toMatch(/subject=CN\s*=\s*web\.squirrels\.test\s*$/m);
    // The twin: the same chain against a bundle without our root does not verify.
    const foreign = path.join(dir, "foreign.pem");
    writeFileSync(foreign, readFileSync(path.join(legoDir, "certificates/web.squirrels.test.issuer.crt")));
    const refused = await execaLogged("openssl", ["verify", "-x509_strict", "-CAfile", foreign, cert], { reject: false });
    expect(refused.exitCode).not.toBe(0);
  });

  it("issues over tls-alpn-01 (RFC 8737)", async () => {
    const legoDir = path.join(dir, "lego-alpn");
    const run = await lego(["-d", "alpn.squirrels.test", "--tls", "--tls.port", `127.0.0.1:${ports.tls}`], legoDir);
    expect(run.exitCode, String(run.all)).toBe(0);
    const verified = await opensslVerify(path.join(legoDir, "certificates/alpn.squirrels.test.crt"), path.join(legoDir, "certificates/alpn.squirrels.test.issuer.crt"));
    expect(verified.stdout).toContain(": OK");
  });

  it("refuses a name outside acme.allow with rejectedIdentifier, and issues nothing", async () => {
    const legoDir = path.join(dir, "lego-outside");
    const run = await lego(["-d", "web.elsewhere.test", "--http", "--http.port", `127.0.0.1:${ports.http}`], legoDir);
    expect(run.exitCode).not.toBe(0);
    expect(String(run.all)).toContain("urn:ietf:params:acme:error:rejectedIdentifier");
    expect(String(run.all)).toContain("not in the acme allow list");
    expect(existsSync(path.join(legoDir, "certificates/web.elsewhere.test.crt"))).toBe(false);
  });

  it("refuses a name that acme.allow lists but the CA's name constraints exclude", async () => {
    const legoDir = path.join(dir, "lego-constraints");
    const run = await lego(["-d", "shop.example.com", "--http", "--http.port", `127.0.0.1:${ports.http}`], legoDir);
    expect(run.exitCode).not.toBe(0);
    expect(String(run.all)).toContain("urn:ietf:params:acme:error:rejectedIdentifier");
    expect(String(run.all)).toContain("outside the name constraints of CA root");
    expect(existsSync(path.join(legoDir, "certificates/shop.example.com.crt"))).toBe(false);
  });
});

describe("provision acme with certbot", () => {
  it("issues to certbot certonly --standalone over http-01", async () => {
    requireTool("certbot", "certbot");
    const work = path.join(dir, "certbot");
    const run = await execaLogged(
      "certbot",
      ["certonly", "--standalone", "--non-interactive", "--agree-tos", "-m", "dev@squirrels.test", "--server", directoryUrl, "--config-dir", `${work}/config`, "--work-dir", `${work}/work`, "--logs-dir", `${work}/logs`, "--http-01-address", "127.0.0.1", "--http-01-port", String(ports.http), "-d", "certbot.squirrels.test"],
      { env: { REQUESTS_CA_BUNDLE: path.join(dir, "pki/ca-bundle.pem") }, reject: false, timeout: 120_000 },
    );
    expect(run.exitCode, String(run.all)).toBe(0);
    const live = path.join(work, "config/live/certbot.squirrels.test");
    const verified = await opensslVerify(path.join(live, "cert.pem"), path.join(live, "chain.pem"));
    expect(verified.stdout).toContain(": OK");
  }, 180_000);
});

describe("provision acme with Caddy", () => {
  it("Caddy run with the launch config's Caddyfile gets its certificate over ACME and serves the secret with it", async () => {
    requireTool("caddy", "caddy");
    requireTool("curl", "curl");
    const home = path.join(dir, "caddy-home");
    const caddy = spawnLogged("caddy", ["run", "--adapter", "caddyfile", "--config", path.join(dir, "pki/launch/web/Caddyfile")], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: path.join(home, "data"), XDG_CONFIG_HOME: path.join(home, "config") },
    });
    try {
      const curl = ["--silent", "--show-error", "--resolve", `caddy.squirrels.test:${ports.tls}:127.0.0.1`, "--cacert", path.join(dir, "pki/ca-bundle.pem"), `https://caddy.squirrels.test:${ports.tls}/`];
      let answer = "";
      for (let attempt = 0; attempt < 60 && answer !== "fluffy tail"; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        answer = (await execaLogged("curl", curl, { reject: false })).stdout;
      }
      expect(answer, caddy.output()).toBe("fluffy tail");
      // The certificate Caddy serves is the one provision acme issued (its serial is in the endpoint's log).
      const shown = await execaLogged("openssl", ["s_client", "-connect", `127.0.0.1:${ports.tls}`, "-servername", "caddy.squirrels.test", "-showcerts"], { input: "", reject: false });
      const [leaf, ...above] = shown.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
      writeFileSync(path.join(dir, "caddy-leaf.pem"), leaf ?? "");
      writeFileSync(path.join(dir, "caddy-chain.pem"), above.join(""));
      expect((await opensslVerify(path.join(dir, "caddy-leaf.pem"), path.join(dir, "caddy-chain.pem"))).stdout).toContain(": OK");
      const serial = (await execaLogged("openssl", ["x509", "-in", path.join(dir, "caddy-leaf.pem"), "-noout", "-serial"])).stdout.replace(/^serial=/, "").trim().toLowerCase();
      expect(acmeOutput()).toContain(`acme: issued caddy.squirrels.test (serial ${serial},`);
    } finally {
      caddy.child.kill("SIGTERM");
      await caddy.exited;
    }
  }, 90_000);
});

describe("provision acme protocol checks", () => {
  /** A CSR for `names` with a fresh key, as DER. */
  async function csrFor(names: string[]): Promise<Buffer> {
    const key = await generateKey("ecdsa-p256");
    const pem = createCertificationRequest({ commonName: names[0]! }, names.map((value) => ({ type: "dns", value })), key.privateKey, "ecdsa-p256");
    return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  }

  async function order(client: TestAcmeClient, name: string) {
    const reply = await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: name }] });
    expect(reply.status, reply.body).toBe(201);
    const authzUrl = (reply.json.authorizations as string[])[0]!;
    const authz = await client.post(authzUrl, "");
    const http01 = (authz.json.challenges as { type: string; url: string; token: string }[]).find((c) => c.type === "http-01")!;
    return { url: reply.headers.location as string, finalize: reply.json.finalize as string, authzUrl, http01 };
  }

  it("walks the whole flow: answered challenge, finalize, download as application/pem-certificate-chain", async () => {
    const client = await TestAcmeClient.create(directoryUrl, ca);
    expect((await client.register()).status).toBe(201);
    const { url, finalize, http01 } = await order(client, "flow.squirrels.test");
    const thumbprint = (await import("jose")).calculateJwkThumbprint(client.jwk);
    const keyAuthorization = `${http01.token}.${await thumbprint}`;
    const responder = createServer((req, res) => res.end(req.url === `/.well-known/acme-challenge/${http01.token}` ? keyAuthorization : "no"));
    await new Promise<void>((resolve) => responder.listen(ports.http, "127.0.0.1", resolve));
    try {
      const answered = await client.post(http01.url, {});
      expect(answered.json.status).toBe("valid");
    } finally {
      await new Promise((resolve) => responder.close(resolve));
    }
    // The twin of the finalize below: a CSR with other names than the order's is badCSR.
    const wrong = await client.post(finalize, { csr: (await csrFor(["other.squirrels.test"])).toString("base64url") });
    expect(wrong.json.type).toBe("urn:ietf:params:acme:error:badCSR");
    const done = await client.post(finalize, { csr: (await csrFor(["flow.squirrels.test"])).toString("base64url") });
    expect(done.json.status, done.body).toBe("valid");
    const cert = await client.post(done.json.certificate as string, "");
    expect(cert.headers["content-type"]).toBe("application/pem-certificate-chain");
    expect(cert.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect((await client.post(url, "")).json.status).toBe("valid");
  });

  it("marks the authorization invalid when no challenge server answers", async () => {
    const client = await TestAcmeClient.create(directoryUrl, ca);
    await client.register();
    const { url, finalize, authzUrl, http01 } = await order(client, "nobody.squirrels.test");
    const answered = await client.post(http01.url, {});
    expect(answered.json.status).toBe("invalid");
    expect((answered.json.error as { type: string }).type).toBe("urn:ietf:params:acme:error:connection");
    expect((await client.post(authzUrl, "")).json.status).toBe("invalid");
    expect((await client.post(url, "")).json.status).toBe("invalid");
    const early = await client.post(finalize, { csr: (await csrFor(["nobody.squirrels.test"])).toString("base64url") });
    expect(early.json.type).toBe("urn:ietf:params:acme:error:orderNotReady");
  });

  it("answers a replayed nonce with badNonce", async () => {
    const client = await TestAcmeClient.create(directoryUrl, ca);
    await client.register();
    const body = await client.sign(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "replay.squirrels.test" }] });
    const first = await (await import("./client.js")).httpsCall(client.directory.newOrder!, ca, { method: "POST", body });
    expect(first.status).toBe(201);
    const again = await (await import("./client.js")).httpsCall(client.directory.newOrder!, ca, { method: "POST", body });
    expect(again.status).toBe(400);
    expect(again.json.type).toBe("urn:ietf:params:acme:error:badNonce");
    expect(again.headers["replay-nonce"]).toBeTruthy();
  });

  it("answers a request naming one account but signed by another's key with unauthorized", async () => {
    const alice = await TestAcmeClient.create(directoryUrl, ca);
    const mallory = await TestAcmeClient.create(directoryUrl, ca);
    await alice.register();
    await mallory.register();
    const forged = await alice.post(alice.directory.newOrder!, { identifiers: [{ type: "dns", value: "forged.squirrels.test" }] }, { signer: mallory });
    expect(forged.status).toBe(403);
    expect(forged.json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    // Signed properly, but for someone else's order: unauthorized too.
    const { url } = await order(alice, "mine.squirrels.test");
    const peek = await mallory.post(url, "");
    expect(peek.json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    expect((await alice.post(url, "")).json.status).toBe("pending");
  });

  it("finds an existing account with onlyReturnExisting, and refuses an unknown key", async () => {
    const client = await TestAcmeClient.create(directoryUrl, ca);
    const unknown = await client.post(client.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expect(unknown.json.type).toBe("urn:ietf:params:acme:error:accountDoesNotExist");
    const created = await client.register();
    const found = await client.post(client.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expect(found.status).toBe(200);
    expect(found.headers.location).toBe(created.headers.location);
  });

  it("provision status lists the certificates issued over ACME, and only those", async () => {
    const status = await provision(["status", "-f", "pki.yaml", "--json"], { cwd: dir, env: { PROVISION_NO_CACHE: "1" } });
    expect(status.code, status.stderr).toBe(0);
    const acme = JSON.parse(status.stdout).acme as { names: string[]; serial: string; state: string; daysLeft: number }[];
    const names = acme.map((r) => r.names.join(","));
    expect(names).toEqual(expect.arrayContaining(["web.squirrels.test", "alpn.squirrels.test", "certbot.squirrels.test", "caddy.squirrels.test", "flow.squirrels.test"]));
    expect(names).not.toContain("web.elsewhere.test");
    expect(names).not.toContain("nobody.squirrels.test");
    // 7d certificates issued moments ago (6 or 7 whole days left, depending on the second).
    expect(acme.map((r) => `${r.state} ${r.daysLeft >= 6 && r.daysLeft <= 7}`)).toEqual(acme.map(() => "valid true"));
    const table = await provision(["status", "-f", "pki.yaml"], { cwd: dir, env: { PROVISION_NO_CACHE: "1" } });
    expect(table.stdout).toMatch(/ACME CERTIFICATE\s+SERIAL\s+NOT AFTER\s+DAYS LEFT\s+STATE/);
    expect(table.stdout).toContain(acme.find((r) => r.names[0] === "web.squirrels.test")!.serial);
  });

  it("revokes over revokeCert: lego revoke by the ordering account, or a request signed with the certificate's key; others are refused", async () => {
    const legoDir = path.join(dir, "lego-http");
    const run = await execaLogged("lego", ["--server", directoryUrl, "--email", "dev@squirrels.test", "--path", legoDir, "-d", "web.squirrels.test", "revoke", "--keep"], {
      cwd: dir, env: { LEGO_CA_CERTIFICATES: path.join(dir, "pki/ca-bundle.pem") }, reject: false,
    });
    expect(run.exitCode, String(run.all)).toBe(0);
    const again = await execaLogged("lego", ["--server", directoryUrl, "--email", "dev@squirrels.test", "--path", legoDir, "-d", "web.squirrels.test", "revoke", "--keep"], {
      cwd: dir, env: { LEGO_CA_CERTIFICATES: path.join(dir, "pki/ca-bundle.pem") }, reject: false,
    });
    expect(String(again.all)).toContain("urn:ietf:params:acme:error:alreadyRevoked");
    // Another account may not revoke lego's tls-alpn certificate; its own key may.
    const certPem = readFileSync(path.join(dir, "lego-alpn/certificates/alpn.squirrels.test.crt"), "utf8");
    const certificate = Buffer.from(certPem.split("-----END CERTIFICATE-----")[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, ""), "base64").toString("base64url");
    const mallory = await TestAcmeClient.create(directoryUrl, ca);
    await mallory.register();
    expect((await mallory.post(mallory.directory.revokeCert!, { certificate })).json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    expect((await mallory.post(mallory.directory.revokeCert!, { certificate, reason: 7 })).json.type).toBe("urn:ietf:params:acme:error:badRevocationReason");
    const holder = await TestAcmeClient.withKey(directoryUrl, ca, readFileSync(path.join(dir, "lego-alpn/certificates/alpn.squirrels.test.key"), "utf8"));
    expect((await holder.post(holder.directory.revokeCert!, { certificate, reason: 1 }, { useJwk: true })).status).toBe(200);
    const status = JSON.parse((await provision(["status", "-f", "pki.yaml", "--json"], { cwd: dir, env: { PROVISION_NO_CACHE: "1" } })).stdout);
    const states = new Map((status.acme as { names: string[]; state: string }[]).map((r) => [r.names.join(","), r.state]));
    expect([states.get("web.squirrels.test"), states.get("alpn.squirrels.test"), states.get("certbot.squirrels.test")]).toEqual(["revoked", "revoked", "valid"]);
    // Published in the intermediate's CRL: openssl refuses both revoked chains and still accepts certbot's.
    const crlChecked = (cert: string, untrusted: string) =>
      execaLogged("openssl", ["verify", "-x509_strict", "-crl_check_all", "-CAfile", path.join(dir, "pki/ca-bundle.pem"), "-CRLfile", path.join(dir, "pki/crl-bundle.pem"), "-untrusted", untrusted, cert], { reject: false });
    const web = await crlChecked(path.join(dir, "lego-http/certificates/web.squirrels.test.crt"), path.join(dir, "lego-http/certificates/web.squirrels.test.issuer.crt"));
    expect(String(web.all ?? web.stdout + web.stderr)).toContain("certificate revoked");
    const alpn = await crlChecked(path.join(dir, "lego-alpn/certificates/alpn.squirrels.test.crt"), path.join(dir, "lego-alpn/certificates/alpn.squirrels.test.issuer.crt"));
    expect(String(alpn.all ?? alpn.stdout + alpn.stderr)).toContain("certificate revoked");
    const live = path.join(dir, "certbot/config/live/certbot.squirrels.test");
    const good = await crlChecked(path.join(live, "cert.pem"), path.join(live, "chain.pem"));
    expect(good.exitCode, String(good.stdout) + String(good.stderr)).toBe(0);
    const crl = await execaLogged("openssl", ["crl", "-noout", "-text", "-in", path.join(dir, "pki/cas/intermediate/crl.pem")]);
    expect(crl.stdout).toContain("Key Compromise");
  });

  it("logged what it issued and no stack traces", () => {
    expect(acmeOutput()).toContain("acme: issued web.squirrels.test");
    expect(acmeOutput()).not.toMatch(/internal error|at .*\.js:\d+/);
  });
});
