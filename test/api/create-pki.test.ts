import { existsSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { createPki, ProvisionError } from "../../src/api.js";
import { inspectCertificate } from "../../src/x509/inspect.js";
import type { CertificateFacts } from "../../src/x509/spec.js";
import { project, provision } from "../helpers/cli.js";
import { opensslVerify } from "../helpers/openssl.js";

const NOW = new Date("2027-03-01T09:00:00Z");

const YAML = `version: 1
defaults: { subject: { organization: Api Test } }
cas:
  root: { commonName: Api Root, validity: 2y, nameConstraints: { permitted: [localhost, .test, 127.0.0.0/8] } }
  intermediate: { issuer: root, commonName: Api Intermediate, pathLength: 0, validity: 1y }
servers:
  web: { issuer: intermediate, altNames: [localhost, web.test, 127.0.0.1], validity: 30d }
clients:
  alice: { issuer: intermediate, altNames: [alice@web.test] }
`;

/** GET https://localhost:port/ over a real TLS connection, trusting only `ca`; resolves to the body. */
function get(port: number, options: { ca: string; cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", servername: "localhost", port, path: "/", ...options }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** What must be equal between two issuances of the same spec at the same time (keys and serials differ). */
function profile(facts: CertificateFacts) {
  const { serial: _s, fingerprint: _f, subjectKeyId: _k, authorityKeyId: _a, ...rest } = facts;
  return rest;
}

describe("createPki (in memory)", () => {
  it("issues a chain a real TLS client and server accept, mutual TLS included", async () => {
    const pki = await createPki(YAML, { now: new Date() });
    const web = pki.get("web");
    const alice = pki.get("alice");
    const server = https.createServer({ key: web.key, cert: web.fullchain, ca: pki.caBundle + pki.get("intermediate").cert, requestCert: true, rejectUnauthorized: true }, (_q, r) => r.end("hello"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    expect(await get(port, { ca: pki.caBundle, cert: alice.fullchain, key: alice.key })).toBe("hello");
    // The twin: a client trusting another root is refused.
    const other = await createPki(YAML, { now: new Date() });
    await expect(get(port, { ca: other.caBundle, cert: alice.fullchain, key: alice.key })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it("openssl verify -x509_strict accepts the server under the bundle, with chain as untrusted", async () => {
    const pki = await createPki(YAML, { now: new Date() });
    const dir = project("version: 1\n").dir;
    const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const args = ["-purpose", "sslserver", "-CAfile", file("bundle.pem", pki.caBundle), "-untrusted", file("chain.pem", pki.get("web").chain)];
    expect((await opensslVerify(file("web.pem", pki.get("web").cert), args)).ok).toBe(true);
    expect((await opensslVerify(file("alice.pem", pki.get("alice").cert), args)).ok).toBe(false);
  });

  it("makes the same certificates as provision does from the same pki.yaml (profiles, names, validity)", async () => {
    const p = project(YAML);
    expect((await provision(["--now", NOW.toISOString()], { cwd: p.dir })).code).toBe(0);
    const pki = await createPki(YAML, { now: NOW });
    for (const [name, kind] of [["root", "cas"], ["intermediate", "cas"], ["web", "servers"], ["alice", "clients"]] as const) {
      const onDisk = inspectCertificate(readFileSync(path.join(p.out, kind, name, "cert.pem"), "utf8")).facts;
      expect(profile(inspectCertificate(pki.get(name).cert).facts), name).toEqual(profile(onDisk));
    }
    expect(pki.get("web").chain).toBe(pki.get("intermediate").cert + pki.get("root").cert);
    expect(pki.plan.actions.every((a) => a.action === "create")).toBe(true);
  });

  // The CLI writes cas/<ca>/crl.pem and crl-bundle.pem; createPki returned no CRL, so a test server checking
  // revocation (Node's crl option checks every CA of the chain) refused every client.
  it("returns each CA's CRL and the CRL bundle: a server checking revocation accepts the client with them, and refuses it without the intermediate's", async () => {
    const pki = await createPki(YAML, { now: new Date() });
    expect(pki.get("web").crl).toBeNull();
    for (const ca of ["root", "intermediate"]) {
      const text = (await execa("openssl", ["crl", "-noout", "-text"], { input: pki.get(ca).crl! })).stdout;
      const ski = (await execa("openssl", ["x509", "-noout", "-ext", "subjectKeyIdentifier"], { input: pki.get(ca).cert })).stdout.split("\n")[1]!.trim();
      expect(text).toContain(`Issuer: O = Api Test, CN = Api ${ca === "root" ? "Root" : "Intermediate"}`);
      expect(text).toMatch(new RegExp(`Authority Key Identifier: *\\n *${ski}\\n`));
      expect(text).toMatch(/No Revoked Certificates/);
    }
    expect(pki.crls).toEqual([pki.get("root").crl!, pki.get("intermediate").crl!]);
    expect(pki.crlBundle).toBe(pki.crls.join(""));

    const dir = project("version: 1\n").dir;
    const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const verify = (crls: string) => opensslVerify(file("alice.pem", pki.get("alice").cert), ["-crl_check_all", "-CAfile", file("bundle.pem", pki.caBundle), "-untrusted", file("chain.pem", pki.get("alice").chain), "-CRLfile", file("crls.pem", crls)]);
    expect((await verify(pki.crlBundle)).ok).toBe(true);
    expect((await verify(pki.get("root").crl!)).output).toMatch(/unable to get certificate CRL/);

    const serve = async (crl: string | string[]) => {
      const web = pki.get("web");
      const server = https.createServer({ key: web.key, cert: web.fullchain, ca: pki.caBundle + pki.get("intermediate").cert, crl, requestCert: true, rejectUnauthorized: true }, (_q, r) => r.end("hello"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return (server.address() as AddressInfo).port;
    };
    const alice = pki.get("alice");
    expect(await get(await serve(pki.crls), { ca: pki.caBundle, cert: alice.fullchain, key: alice.key })).toBe("hello");
    await expect(get(await serve(pki.get("root").crl!), { ca: pki.caBundle, cert: alice.fullchain, key: alice.key })).rejects.toThrow();
    // Node reads only the first CRL of a string, so the bundle as one text locks the client out too (README).
    await expect(get(await serve(pki.crlBundle), { ca: pki.caBundle, cert: alice.fullchain, key: alice.key })).rejects.toThrow();
  });

  it("signs the CRLs as provision does: same issuer, number, lifetime and entries", async () => {
    const p = project(YAML);
    expect((await provision(["--now", NOW.toISOString()], { cwd: p.dir })).code).toBe(0);
    const pki = await createPki(YAML, { now: NOW });
    const fields = async (pem: string) => (await execa("openssl", ["crl", "-noout", "-text"], { input: pem })).stdout.replace(/Signature Value:[\s\S]*$/, "").replace(/Identifier: *\n *[0-9A-F:]+/, "Identifier: (the CA's key)");
    for (const ca of ["root", "intermediate"]) {
      expect(await fields(pki.get(ca).crl!), ca).toBe(await fields(readFileSync(path.join(p.out, "cas", ca, "crl.pem"), "utf8")));
    }
  });

  it("refuses an external CA with a plain error (it reads no file); the same PKI with the CA in the spec is made", async () => {
    const external = "version: 1\ncas:\n  int:\n    external: { cert: ./ca/int.pem, key: ./ca/int-key.pem }\nservers:\n  web: { issuer: int, altNames: [web.test] }\n";
    const error = await createPki(external).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).code).toBe("external-ca");
    expect((error as ProvisionError).message).toBe("createPki reads no file, so it cannot use external CA int (its certificate and key are files)");
    const inSpec = await createPki(external.replace("external: { cert: ./ca/int.pem, key: ./ca/int-key.pem }", "commonName: Int"));
    expect(inSpec.get("web").chain).toBe(inSpec.get("int").cert);
  });

  it("takes the object pki.yaml describes, and writes nothing (not even its output folder)", async () => {
    const p = project("version: 1\n");
    const pki = await createPki({
      version: 1,
      output: path.join(p.dir, "must-not-exist"),
      cas: { root: { commonName: "Object Root" } },
      servers: { api: { issuer: "root", altNames: ["api.test"], formats: ["p12"], passphraseEnv: "NOT_SET_ANYWHERE" } },
    });
    expect(pki.get("api").key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(inspectCertificate(pki.get("api").cert).facts.altNames).toEqual([{ type: "dns", value: "api.test" }]);
    expect(existsSync(path.join(p.dir, "must-not-exist"))).toBe(false);
  });

  it("validates as pki.yaml is validated: every problem, with its path", async () => {
    const error = await createPki({ version: 1, cas: { root: { commonName: "R", key: "rsa-1024" } }, servers: { web: { issuer: "root", altNames: "web.test" as unknown as string[] } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).code).toBe("invalid-config");
    const paths = (error as ProvisionError).diagnostics.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["cas.root.key", "servers.web.altNames"]));
    await expect(createPki(YAML).then((pki) => pki.get("nobody"))).rejects.toThrow(/no identity named "nobody"; there are root, intermediate, web, alice/);
  });

  it("issues as of the given time, with the skew allowance", async () => {
    const pki = await createPki(YAML, { now: NOW });
    const facts = inspectCertificate(pki.get("web").cert).facts;
    expect(facts.notBefore).toBe("2027-03-01T08:55:00.000Z");
    expect(facts.notAfter).toBe("2027-03-31T09:00:00.000Z");
  });
});
