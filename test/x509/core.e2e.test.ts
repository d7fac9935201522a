import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { project, provision, squirrelsYaml } from "../helpers/cli.js";
import { certText, opensslVerify, publicKeysOf, verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

describe("a provisioned tree verifies with openssl -x509_strict", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("server certs verify for every DNS name and IP, client certs as clients, keys match", async () => {
    const p = project(squirrelsYaml());
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);

    for (const host of ["my-site.com", "localhost", "anything.squirrels.test"]) {
      const result = await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", host]);
      expect(result.ok, `${host}: ${result.output}`).toBe(true);
    }
    for (const ip of ["127.0.0.1", "::1"]) {
      const result = await verifyLeaf(p.out, "servers", "secret-server", ["-verify_ip", ip]);
      expect(result.ok, `${ip}: ${result.output}`).toBe(true);
    }
    expect((await verifyLeaf(p.out, "clients", "alice", ["-verify_email", "alice@squirrels.test"])).ok).toBe(true);

    for (const [kind, name] of [["servers", "secret-server"], ["clients", "alice"], ["cas", "intermediate"], ["cas", "root"]] as const) {
      const dir = path.join(p.out, kind, name);
      const keys = await publicKeysOf(path.join(dir, "cert.pem"), path.join(dir, "key.pem"));
      expect(keys.fromKey).toBe(keys.fromCert);
    }
  });

  it("rejects what it should: another host, another IP, a wildcard two levels deep, a client cert used as a server", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const wrongHost = await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "evil.example"]);
    expect(wrongHost.ok).toBe(false);
    expect(wrongHost.output).toMatch(/hostname mismatch/);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_ip", "10.0.0.1"])).ok).toBe(false);
    expect((await verifyLeaf(p.out, "servers", "secret-server", ["-verify_hostname", "a.b.squirrels.test"])).ok).toBe(false);
    const clientAsServer = await opensslVerify(path.join(p.out, "clients/alice/cert.pem"), [
      "-purpose", "sslserver", "-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(p.out, "clients/alice/chain.pem"),
    ]);
    expect(clientAsServer.ok).toBe(false);
    // Without the intermediate the leaf cannot be chained to the root.
    const noChain = await opensslVerify(path.join(p.out, "servers/secret-server/cert.pem"), ["-CAfile", path.join(p.out, "ca-bundle.pem")]);
    expect(noChain.ok).toBe(false);
  });

  it("writes the extensions RFC 5280 asks for", async () => {
    const p = project(squirrelsYaml());
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const root = await certText(path.join(p.out, "cas/root/cert.pem"));
    expect(root).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(root).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(root).toMatch(/Subject Key Identifier/);
    const intermediate = await certText(path.join(p.out, "cas/intermediate/cert.pem"));
    expect(intermediate).toMatch(/CA:TRUE, pathlen:0/);
    expect(intermediate).toMatch(/Authority Key Identifier/);
    const server = await certText(path.join(p.out, "servers/secret-server/cert.pem"));
    expect(server).toMatch(/Version: 3/);
    expect(server).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(server).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(server).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(server).toMatch(/DNS:my-site.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:\*.squirrels.test/);
    const serial = /Serial Number:\s+([0-9a-f:]+)/.exec(server)![1]!.replaceAll(":", "");
    expect(serial.length).toBeGreaterThanOrEqual(16 * 2 - 1);
    expect(Number.parseInt(serial[0]!, 16)).toBeLessThan(8);
    const client = await certText(path.join(p.out, "clients/alice/cert.pem"));
    expect(client).toMatch(/TLS Web Client Authentication/);
    expect(client).toMatch(/email:alice@squirrels.test/);
  });

  it("keeps keys private: 0600 files in 0700 folders, whatever the umask", async () => {
    const p = project(squirrelsYaml());
    const old = process.umask(0o000);
    try {
      expect((await provision([], { cwd: p.dir })).code).toBe(0);
    } finally {
      process.umask(old);
    }
    const { statSync } = await import("node:fs");
    for (const dir of ["cas/root", "cas/intermediate", "servers/secret-server", "clients/alice"]) {
      expect(statSync(path.join(p.out, dir)).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(p.out, dir, "key.pem")).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(p.out, dir, "cert.pem")).mode & 0o777).toBe(0o644);
    }
    const keyPem = readFileSync(path.join(p.out, "servers/secret-server/key.pem"), "utf8");
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    await execa("openssl", ["pkey", "-in", path.join(p.out, "servers/secret-server/key.pem"), "-noout"]);
  });
});

describe("every key type produces a chain that verifies", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  for (const key of ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"]) {
    it(key, async () => {
      const p = project(`version: 1
cas:
  root: { key: ${key}, validity: 1y }
  sub: { issuer: root, key: ${key}, validity: 180d }
servers:
  web: { issuer: sub, key: ${key}, altNames: [web.test], validity: 30d }
clients:
  bob: { issuer: root, key: ${key}, validity: 30d }
`);
      const run = await provision([], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      const server = await verifyLeaf(p.out, "servers", "web", ["-verify_hostname", "web.test"]);
      expect(server.ok, server.output).toBe(true);
      const client = await verifyLeaf(p.out, "clients", "bob");
      expect(client.ok, client.output).toBe(true);
      const text = await certText(path.join(p.out, "servers/web/cert.pem"));
      const expected = key === "ecdsa-p384" ? "ecdsa-with-SHA384" : key.startsWith("ecdsa") ? "ecdsa-with-SHA256" : "sha256WithRSAEncryption";
      expect(text).toContain(`Signature Algorithm: ${expected}`);
      if (key.startsWith("rsa")) expect(text).toMatch(/Digital Signature, Key Encipherment/);
    });
  }
});
