import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, project, provisionBin, ROOT, squirrelsYaml } from "../helpers/cli.js";
import { requireTool, requireUwsgi } from "../helpers/require-tool.js";
import { freePort, startService, waitForPort } from "../helpers/process.js";
import { execaLogged } from "../helpers/spawn.js";
import { startHttpsServer } from "../helpers/tls.js";

const EXAMPLE = path.join(ROOT, "examples/secret-squirrels");

function servedYaml(port: number, altNames: string[], app: boolean, clientAuth: "none" | "required" = "none"): string {
  return squirrelsYaml({ serverAltNames: altNames }).replace("    validity: 30d\n", `    validity: 30d\n    serve: { host: "127.0.0.1", port: ${port}${app ? `, app: "server:app"` : ""}, clientAuth: ${clientAuth} }\n`);
}

interface ClientCertificate {
  cert: Buffer;
  key: Buffer;
}

/** One HTTPS GET on a fresh connection (a full handshake), trusting only the PKI's bundle: body and served serial. */
function get(port: number, ca: Buffer, client?: ClientCertificate): Promise<{ body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: "127.0.0.1", port, path: "/", ca, servername: "localhost", agent: false, ...client }, (response) => {
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

/** The serial of the certificate openssl s_client is served (a client other than Node's). */
async function servedSerial(port: number, caFile: string, client?: { cert: string; key: string }): Promise<string> {
  const run = await execaLogged("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-CAfile", caFile, "-verify_return_error", ...(client ? ["-cert", client.cert, "-key", client.key] : [])], { input: "", reject: false, timeout: 20_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(run.stdout)?.[0];
  if (!pem) throw new Error(`no certificate from s_client: ${run.stderr}`);
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber.toUpperCase();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("provision serve reloads its certificate without dropping requests", () => {
  // uwsgi+nginx: a server that checks client certificates runs uwsgi behind its nginx front, which
  // provision serve reloads (nginx -s reload: old workers finish their requests, the sockets stay).
  it.each(["node", "uwsgi", "uwsgi+nginx"] as const)("%s: a re-issue under a running request loop switches the served serial; every request answers", async (engine) => {
    if (engine !== "node") requireUwsgi();
    if (engine === "uwsgi+nginx") requireTool("nginx", "nginx");
    const app = engine !== "node";
    const clientAuth = engine === "uwsgi+nginx" ? "required" : "none";
    const port = await freePort();
    const p = project(servedYaml(port, ["localhost", "127.0.0.1"], app, clientAuth), app ? { "server.py": readFileSync(path.join(EXAMPLE, "server.py"), "utf8") } : {});
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    const identity = path.join(p.out, "servers/secret-server");
    const ca = readFileSync(path.join(p.out, "ca-bundle.pem"));
    const aliceFiles = { cert: path.join(p.out, "clients/alice/fullchain.pem"), key: path.join(p.out, "clients/alice/key.pem") };
    const alice = clientAuth === "required" ? { cert: readFileSync(aliceFiles.cert), key: readFileSync(aliceFiles.key) } : undefined;
    const aliceForOpenssl = clientAuth === "required" ? aliceFiles : undefined;
    const oldSerial = serialOf(path.join(identity, "cert.pem"));
    const served = startService("node", [BIN, "serve", "secret-server", "--engine", engine === "node" ? "node" : "uwsgi"], { cwd: p.dir });
    await waitForPort(port);
    expect(await servedSerial(port, path.join(p.out, "ca-bundle.pem"), aliceForOpenssl)).toBe(oldSerial);
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
          const result = await get(port, ca, alice);
          results.push(result);
          // Until 20 requests in a row got the new certificate.
          afterSwitch = result.serial === newSerial ? afterSwitch + 1 : 0;
          if (afterSwitch >= 20) return;
        } catch (error) {
          errors.push(error);
        }
      }
    })();
    while (results.length + errors.length < 20) await sleep(20);
    // Re-issue underneath: new altNames, same key, new serial.
    p.write(servedYaml(port, ["localhost", "127.0.0.1", "renewed.squirrels.test"], app, clientAuth));
    expect((await provisionBin([], { cwd: p.dir })).code).toBe(0);
    newSerial = serialOf(path.join(identity, "cert.pem"));
    expect(newSerial).not.toBe(oldSerial);
    await loop;

    expect(errors.map(String)).toEqual([]);
    expect(results.every((r) => r.body === "fluffy tail")).toBe(true);
    const serials = results.map((r) => r.serial);
    expect(serials[0]).toBe(oldSerial);
    expect(serials.at(-1)).toBe(newSerial);
    const firstNew = serials.indexOf(newSerial);
    expect(serials.slice(0, firstNew).every((s) => s === oldSerial)).toBe(true);
    if (engine === "uwsgi+nginx") {
      // nginx's reload is graceful: for a moment its old worker still accepts beside the new one, so the two
      // certificates may alternate; then only the new one is served, and nothing else ever is.
      expect(serials.every((s) => s === oldSerial || s === newSerial)).toBe(true);
      expect(serials.slice(-20).every((s) => s === newSerial), serials.slice(firstNew).join(" ")).toBe(true);
    } else {
      // Once the new certificate is served, the old one never comes back, and nothing else is served.
      expect(serials.slice(firstNew).every((s) => s === newSerial)).toBe(true);
    }

    expect(await servedSerial(port, path.join(p.out, "ca-bundle.pem"), aliceForOpenssl)).toBe(newSerial);
    const twin = await get(unwatched, ca);
    expect(twin).toEqual({ body: "fluffy tail", serial: oldSerial });
    // uwsgi reloaded through its own touch-reload, nginx through provision serve (neither was restarted).
    const reloaded = { node: /listening on 127\.0\.0\.1/, uwsgi: /fullchain\.pem has been touched\.\.\. grace them all/, "uwsgi+nginx": /nginx reloaded/ }[engine];
    expect(served.output()).toMatch(reloaded);
    if (engine === "uwsgi+nginx") expect(served.output()).not.toMatch(/grace them all/);
  }, 90_000);
});
