import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import { request } from "node:http";
import { isIP } from "node:net";
import { connect } from "node:tls";
import { resolveOverride, type AcmeSpec } from "../config/acme.js";
import { acmeIdentifierOf } from "../x509/forge.js";
import { problemOf, type ProblemDocument } from "./problem.js";

const TIMEOUT_MS = 10_000;
const MAX_BODY = 8 * 1024;

export interface Target {
  identifier: { type: "dns" | "ip"; value: string };
  token: string;
  keyAuthorization: string;
}

/** The address validation connects to: `resolve` in pki.yaml first, then the system resolver. */
export async function addressOf(identifier: Target["identifier"], resolve: AcmeSpec["resolve"]): Promise<string> {
  if (identifier.type === "ip") return identifier.value;
  const override = resolveOverride(identifier.value, resolve);
  if (override) return override;
  return (await lookup(identifier.value)).address;
}

async function addressOrProblem(target: Target, resolve: AcmeSpec["resolve"]): Promise<string | ProblemDocument> {
  try {
    return await addressOf(target.identifier, resolve);
  } catch (error) {
    return problemOf("dns", `cannot resolve ${target.identifier.value}: ${(error as Error).message}`);
  }
}

/** RFC 8555 §8.3: GET http://<name>:<httpPort>/.well-known/acme-challenge/<token> must return the key authorization. */
export async function validateHttp01(target: Target, spec: Pick<AcmeSpec, "httpPort" | "resolve">): Promise<ProblemDocument | null> {
  const address = await addressOrProblem(target, spec.resolve);
  if (typeof address !== "string") return address;
  const host = target.identifier.type === "ip" && isIP(target.identifier.value) === 6 ? `[${target.identifier.value}]` : target.identifier.value;
  const url = `http://${host}:${spec.httpPort}/.well-known/acme-challenge/${target.token}`;
  return new Promise((resolvePromise) => {
    const req = request({ host: address, port: spec.httpPort, path: `/.well-known/acme-challenge/${target.token}`, headers: { host: `${host}:${spec.httpPort}`, "user-agent": "provision-acme" }, timeout: TIMEOUT_MS }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
        if (body.length > MAX_BODY) req.destroy(new Error("response too large"));
      });
      res.on("end", () => {
        if (res.statusCode !== 200) return resolvePromise(problemOf("unauthorized", `${url} answered HTTP ${res.statusCode}`));
        // RFC 8555 §8.3: trailing whitespace is allowed.
        if (body.replace(/[\s]+$/, "") !== target.keyAuthorization) return resolvePromise(problemOf("incorrectResponse", `${url} did not return the key authorization`));
        resolvePromise(null);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
    req.on("error", (error) => resolvePromise(problemOf("connection", `cannot fetch ${url} (${address}): ${error.message}`)));
    req.end();
  });
}

/** The SNI name for an identifier: the name itself, or an IP's reverse-DNS name (RFC 8738 §6). */
function serverNameOf(identifier: Target["identifier"]): string {
  if (identifier.type === "dns") return identifier.value;
  if (isIP(identifier.value) === 4) return `${identifier.value.split(".").reverse().join(".")}.in-addr.arpa`;
  return "";
}

/**
 * RFC 8737: a TLS handshake with ALPN acme-tls/1 and SNI set to the name must present a certificate whose only
 * SAN is that name and whose critical acmeIdentifier extension holds SHA-256 of the key authorization.
 */
export async function validateTlsAlpn01(target: Target, spec: Pick<AcmeSpec, "tlsPort" | "resolve">): Promise<ProblemDocument | null> {
  const address = await addressOrProblem(target, spec.resolve);
  if (typeof address !== "string") return address;
  const where = `${target.identifier.value} (${address}:${spec.tlsPort})`;
  const expected = createHash("sha256").update(target.keyAuthorization).digest();
  const servername = serverNameOf(target.identifier);
  return new Promise((resolvePromise) => {
    const socket = connect({ host: address, port: spec.tlsPort, ...(servername ? { servername } : {}), ALPNProtocols: ["acme-tls/1"], rejectUnauthorized: false, timeout: TIMEOUT_MS }, () => {
      const result = (() => {
        if (socket.alpnProtocol !== "acme-tls/1") return problemOf("tls", `${where} did not negotiate ALPN acme-tls/1`);
        const cert = socket.getPeerX509Certificate();
        if (!cert) return problemOf("tls", `${where} presented no certificate`);
        const want = target.identifier.type === "dns" ? `DNS:${target.identifier.value}` : `IP Address:${target.identifier.value}`;
        const sans = (cert.subjectAltName ?? "").split(", ").filter(Boolean);
        if (sans.length !== 1 || sans[0]!.toLowerCase() !== want.toLowerCase()) return problemOf("unauthorized", `${where} presented a certificate for ${sans.join(", ") || "no name"}, not only ${want}`);
        const ext = acmeIdentifierOf(cert.raw);
        if (!ext) return problemOf("unauthorized", `${where} presented a certificate without the acmeIdentifier extension`);
        if (!ext.critical) return problemOf("unauthorized", `${where}: the acmeIdentifier extension is not critical`);
        if (!ext.value.equals(expected)) return problemOf("incorrectResponse", `${where}: the acmeIdentifier does not match the key authorization`);
        return null;
      })();
      socket.destroy();
      resolvePromise(result);
    });
    socket.on("timeout", () => socket.destroy(new Error(`no handshake within ${TIMEOUT_MS / 1000}s`)));
    socket.on("error", (error) => resolvePromise(problemOf("connection", `cannot complete a TLS handshake with ${where}: ${error.message}`)));
  });
}
