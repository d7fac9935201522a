import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { calculateJwkThumbprint, FlattenedSign } from "jose";
import { describe, expect, it, onTestFinished } from "vitest";
import { startAcme, type RunningAcme } from "../../src/acme/run.js";
import { loadConfig } from "../../src/config/load.js";
import { createCertificationRequest } from "../../src/x509/csr.js";
import { generateKey } from "../../src/x509/keys.js";
import { provision } from "../helpers/cli.js";
import { freePort } from "../helpers/process.js";
import { requireTool } from "../helpers/require-tool.js";
import { execaLogged } from "../helpers/spawn.js";
import { TestAcmeClient } from "./client.js";

const HMAC = randomBytes(32).toString("base64url");

/** A PKI with an acme: block in a temp folder, and a way to start (and restart) its endpoint in-process. */
async function setup(extra = "") {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-acme-accounts-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const http = await freePort();
  const port = await freePort();
  writeFileSync(path.join(dir, "pki.yaml"), `version: 1
cas:
  root: { nameConstraints: { permitted: [.test, 127.0.0.0/8] } }
  intermediate: { issuer: root }
acme:
  ca: intermediate
  listen: 127.0.0.1:${port}
  allow: [.squirrels.test]
  challenges: [http-01]
  httpPort: ${http}
  resolve: { "*.squirrels.test": 127.0.0.1 }
${extra}`);
  const env = { ...process.env, PROVISION_NO_CACHE: "1", ACME_EAB_HMAC: HMAC };
  const made = await provision(["-f", "pki.yaml"], { cwd: dir, env });
  expect(made.code, made.stderr).toBe(0);
  const { config } = await loadConfig("pki.yaml", { cwd: dir, env });
  const ca = readFileSync(path.join(dir, "pki/ca-bundle.pem"), "utf8");
  const log: string[] = [];
  let running: RunningAcme | null = null;
  const start = async () => {
    running = await startAcme(config, config.acme!, { env, log: (line) => log.push(line), publishRevocation: () => Promise.reject(new Error("this test revokes nothing")) });
    return running;
  };
  onTestFinished(async () => {
    await running?.close();
  });
  const stop = async () => {
    await running?.close();
    running = null;
  };
  return { dir, ca, http, log, env, start, stop, restart: async () => { await stop(); return start(); } };
}

async function answerHttp01(port: number, token: string, keyAuthorization: string) {
  const server = createServer((req, res) => res.end(req.url === `/.well-known/acme-challenge/${token}` ? keyAuthorization : ""));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return () => new Promise((resolve) => server.close(resolve));
}

async function csrDer(name: string): Promise<string> {
  const key = await generateKey("ecdsa-p256");
  const pem = createCertificationRequest({ commonName: name }, [{ type: "dns", value: name }], key.privateKey, "ecdsa-p256");
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64").toString("base64url");
}

describe("provision acme state across restarts", () => {
  it("a restarted endpoint continues a pending order: same account, challenge answered after the restart, certificate issued", async () => {
    const pki = await setup();
    await pki.start();
    const acme = await pki.start().catch(() => null);
    expect(acme, "a second endpoint on the same output folder is refused (lock)").toBeNull();
    const directoryUrl = `https://127.0.0.1:${new URL((await pki.restart()).directoryUrl).port}/directory`;
    const client = await TestAcmeClient.create(directoryUrl, pki.ca);
    await client.register();
    const order = await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "later.squirrels.test" }] });
    const orderUrl = order.headers.location as string;
    const authzUrl = (order.json.authorizations as string[])[0]!;
    await pki.restart();
    const authz = await client.post(authzUrl, "");
    expect(authz.json.status).toBe("pending");
    const challenge = (authz.json.challenges as { type: string; url: string; token: string }[])[0]!;
    const close = await answerHttp01(pki.http, challenge.token, `${challenge.token}.${await calculateJwkThumbprint(client.jwk)}`);
    try {
      expect((await client.post(challenge.url, {})).json.status).toBe("valid");
    } finally {
      await close();
    }
    const done = await client.post(`${orderUrl}/finalize`, { csr: await csrDer("later.squirrels.test") });
    expect(done.json.status, done.body).toBe("valid");
    const base = new URL(directoryUrl).origin;
    const orderPath = new URL(orderUrl).pathname;
    // The twin: a request by an account the restarted endpoint does not know is refused.
    const stranger = await TestAcmeClient.create(directoryUrl, pki.ca);
    stranger.kid = `${base}/acme/acct/AAAAAAAAAAAAAAAAAAAAAA`;
    expect((await stranger.post(base + orderPath, "")).json.type).toBe("urn:ietf:params:acme:error:accountDoesNotExist");
  });

  it("reads its state as untrusted input: a tampered order file is ignored and named, the rest still loads", async () => {
    const pki = await setup();
    const acme = await pki.start();
    const client = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    await client.register();
    await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "a.squirrels.test" }] });
    await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "b.squirrels.test" }] });
    await pki.stop();
    const ordersDir = path.join(pki.dir, "pki/acme/orders");
    const [first] = readdirSync(ordersDir).sort();
    const tampered = JSON.parse(readFileSync(path.join(ordersDir, first!), "utf8"));
    tampered.accountId = "../../../../etc/passwd";
    writeFileSync(path.join(ordersDir, first!), JSON.stringify(tampered));
    const restarted = await pki.start();
    expect(restarted.state.orders.size).toBe(1);
    expect(restarted.state.accounts.size).toBe(1);
    expect(pki.log.join("\n")).toContain(`acme/orders/${first} does not fit (accountId`);
  });
});

describe("provision acme accounts", () => {
  it("a deactivated account can no longer order", async () => {
    const pki = await setup();
    const acme = await pki.start();
    const client = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    await client.register();
    const before = await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "x.squirrels.test" }] });
    expect(before.status).toBe(201);
    const deactivated = await client.post(client.kid!, { status: "deactivated" });
    expect(deactivated.json.status).toBe("deactivated");
    const after = await client.post(client.directory.newOrder!, { identifiers: [{ type: "dns", value: "x.squirrels.test" }] });
    expect(after.json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    // Its pending authorization went with it (RFC 8555 §7.3.6).
    expect([...acme.state.orders.values()][0]!.authorizations[0]!.status).toBe("deactivated");
  });

  it("updates an account's contact, and refuses one that is not a mailto: URL", async () => {
    const pki = await setup();
    const acme = await pki.start();
    const client = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    await client.register();
    expect((await client.post(client.kid!, { contact: ["mailto:ops@squirrels.test"] })).json.contact).toEqual(["mailto:ops@squirrels.test"]);
    expect((await client.post(client.kid!, { contact: ["tel:+1555"] })).json.type).toBe("urn:ietf:params:acme:error:invalidContact");
  });
});

describe("provision acme key rollover (keyChange; no client installed here does it, so the test's own)", () => {
  async function keyChange(account: TestAcmeClient, next: TestAcmeClient, oldKey = account.jwk) {
    const url = account.directory.keyChange!;
    const inner = await new FlattenedSign(new TextEncoder().encode(JSON.stringify({ account: account.kid, oldKey })))
      .setProtectedHeader({ alg: "ES256", jwk: next.jwk, url })
      .sign(next.key);
    return account.post(url, inner);
  }

  it("replaces the account's key: the new key signs for the account, the old one no longer does", async () => {
    const pki = await setup();
    const acme = await pki.start();
    const account = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    await account.register();
    const next = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    const stranger = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    // Twins first: an inner JWS naming another old key, and a new key another account already holds.
    expect((await keyChange(account, next, stranger.jwk)).json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    await stranger.register();
    expect((await keyChange(account, stranger)).status).toBe(409);
    const changed = await keyChange(account, next);
    expect(changed.status, changed.body).toBe(200);
    next.kid = account.kid;
    const order = { identifiers: [{ type: "dns", value: "rolled.squirrels.test" }] };
    expect((await next.post(next.directory.newOrder!, order)).status).toBe(201);
    expect((await account.post(account.directory.newOrder!, order)).json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    // The change survives a restart (it is in the account's file).
    await pki.restart();
    expect((await next.post(next.directory.newOrder!, order)).status).toBe(201);
  });
});

describe("provision acme external account binding", () => {
  const eab = "  externalAccountBinding: { kid-1: ACME_EAB_HMAC }\n";

  async function bound(client: TestAcmeClient, keyId: string, hmac: string) {
    const url = client.directory.newAccount!;
    const inner = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(client.jwk))).setProtectedHeader({ alg: "HS256", kid: keyId, url }).sign(Buffer.from(hmac, "base64url"));
    return client.post(url, { termsOfServiceAgreed: true, externalAccountBinding: inner }, { useJwk: true });
  }

  it("registers lego with --eab and the key id's HMAC key", async () => {
    requireTool("lego", "lego");
    const pki = await setup(eab);
    const acme = await pki.start();
    const run = await execaLogged("lego", ["--server", acme.directoryUrl, "--accept-tos", "--email", "dev@squirrels.test", "--path", path.join(pki.dir, "lego"), "--eab", "--kid", "kid-1", "--hmac", HMAC, "-d", "eab.squirrels.test", "--http", "--http.port", `127.0.0.1:${pki.http}`, "run"], {
      env: { LEGO_CA_CERTIFICATES: path.join(pki.dir, "pki/ca-bundle.pem") },
      reject: false,
    });
    expect(run.exitCode, String(run.all)).toBe(0);
    expect([...acme.state.accounts.values()].map((a) => a.eabKeyId)).toEqual(["kid-1"]);
  });

  it("refuses a registration without a binding, with another HMAC key, or with an unknown key id", async () => {
    const pki = await setup(eab);
    const acme = await pki.start();
    const client = await TestAcmeClient.create(acme.directoryUrl, pki.ca);
    expect(client.directory.meta).toEqual({ externalAccountRequired: true });
    expect((await client.post(client.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true })).json.type).toBe("urn:ietf:params:acme:error:externalAccountRequired");
    expect((await bound(client, "kid-1", randomBytes(32).toString("base64url"))).json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    expect((await bound(client, "kid-2", HMAC)).json.type).toBe("urn:ietf:params:acme:error:unauthorized");
    expect(acme.state.accounts.size).toBe(0);
    expect((await bound(client, "kid-1", HMAC)).status).toBe(201);
  });
});
