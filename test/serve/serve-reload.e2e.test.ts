import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, project, provisionBin, squirrelsYaml } from "../helpers/cli.js";
import { freePort, startService, waitForPort } from "../helpers/process.js";
import { startHttpsServer } from "../helpers/tls.js";

function servedYaml(port: number, altNames: string[]): string {
  return squirrelsYaml({ serverAltNames: altNames }).replace("    validity: 30d\n", `    validity: 30d\n    serve: { host: "127.0.0.1", port: ${port} }\n`);
}

/** One HTTPS GET on a fresh connection (a full handshake), trusting only the PKI's bundle: body and served serial. */
function get(port: number, ca: Buffer): Promise<{ body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: "127.0.0.1", port, path: "/", ca, servername: "localhost", agent: false }, (response) => {
      const serial = (response.socket as import("node:tls").TLSSocket).getPeerCertificate().serialNumber.toUpperCase();
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ body, serial }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.setTimeout(5000, () => request.destroy(new Error("request timed out")));
  });
}

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber.toUpperCase();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("provision serve reloads its certificate without dropping requests", () => {
  it("node engine: a re-issue under a running request loop switches the served serial; every request answers", async () => {
    const port = await freePort();
    const p = project(servedYaml(port, ["localhost", "127.0.0.1"]));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    const identity = path.join(p.out, "servers/secret-server");
    const ca = readFileSync(path.join(p.out, "ca-bundle.pem"));
    const oldSerial = serialOf(path.join(identity, "cert.pem"));
    const served = startService("node", [BIN, "serve", "secret-server", "--engine", "node"], { cwd: p.dir });
    await waitForPort(port);
    // Failing twin: a server that read the same files once and does not watch them.
    const unwatched = await startHttpsServer(identity);

    const results: { body: string; serial: string }[] = [];
    const errors: unknown[] = [];
    let newSerial: string | undefined;
    let afterSwitch = 0;
    // Bounded by count and time (a slow machine's provision run can outlast a few hundred loopback requests).
    const deadline = Date.now() + 40_000;
    const loop = (async () => {
      for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
        try {
          const result = await get(port, ca);
          results.push(result);
          if (result.serial === newSerial && ++afterSwitch >= 20) return;
        } catch (error) {
          errors.push(error);
        }
      }
    })();
    while (results.length + errors.length < 20) await sleep(20);
    // Re-issue underneath: new altNames, same key, new serial.
    p.write(servedYaml(port, ["localhost", "127.0.0.1", "renewed.squirrels.test"]));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    newSerial = serialOf(path.join(identity, "cert.pem"));
    expect(newSerial).not.toBe(oldSerial);
    await loop;

    expect(errors.map(String)).toEqual([]);
    expect(results.every((r) => r.body === "fluffy tail")).toBe(true);
    const serials = results.map((r) => r.serial);
    expect(serials[0]).toBe(oldSerial);
    expect(serials.at(-1)).toBe(newSerial);
    // Once the new certificate is served, the old one never comes back, and nothing else is served.
    const firstNew = serials.indexOf(newSerial);
    expect(serials.slice(0, firstNew).every((s) => s === oldSerial)).toBe(true);
    expect(serials.slice(firstNew).every((s) => s === newSerial)).toBe(true);

    const twin = await get(unwatched, ca);
    expect(twin).toEqual({ body: "fluffy tail", serial: oldSerial });
    expect(served.output()).toMatch(/listening on 127\.0\.0\.1/);
  }, 90_000);
});
