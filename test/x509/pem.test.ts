import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isEncryptedKeyPem, pemBlocks, pemToDer, toPem } from "../../src/x509/pem.js";
import { opensslSync } from "../helpers/openssl.js";
import { configOf, issueOf } from "./fixtures.js";

/** x509/pem.ts: what toPem writes openssl reads (RFC 7468 lines of 64), and what pemBlocks finds in a text. */

const cfg = configOf(`version: 1
cas:
  root: { key: ecdsa-p256, commonName: PEM Root }
`);
const root = issueOf(cfg, "root", null);

describe("toPem", () => {
  it("64 base64 characters a line, the last one shorter, and openssl reads the DER back unchanged", () => {
    const pem = toPem("CERTIFICATE", root.der);
    const lines = pem.split("\n");
    expect(lines[0]).toBe("-----BEGIN CERTIFICATE-----");
    expect(lines.at(-2)).toBe("-----END CERTIFICATE-----");
    expect(lines.at(-1)).toBe("");
    const body = lines.slice(1, -2);
    expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect(body.at(-1)!.length).toBeGreaterThan(0);
    expect(body.at(-1)!.length).toBeLessThanOrEqual(64);
    expect(body.join("")).toBe(root.der.toString("base64"));
    const back = opensslSync(["x509", "-outform", "DER"], pem);
    expect(back.ok, back.out).toBe(true);
    expect(back.stdout.equals(root.der)).toBe(true);
  });

  it("a body of exactly 64 characters is one line; an empty one is an empty line", () => {
    expect(toPem("X", randomBytes(48))).toMatch(/^-----BEGIN X-----\n[A-Za-z0-9+/]{64}\n-----END X-----\n$/);
    expect(toPem("X", Buffer.alloc(0))).toBe("-----BEGIN X-----\n\n-----END X-----\n");
  });
});

describe("pemBlocks and pemToDer", () => {
  it("every block in order, with its label, DER and own PEM text; CRLF line ends are read too", () => {
    const a = toPem("CERTIFICATE", root.der);
    const b = toPem("X509 CRL", Buffer.from("crl"));
    const c = toPem("PKCS7", Buffer.from("p7"));
    const text = `junk before\n${a}between\r\n${b.replaceAll("\n", "\r\n")}${c}`;
    const blocks = pemBlocks(text);
    expect(blocks.map((x) => x.label)).toEqual(["CERTIFICATE", "X509 CRL", "PKCS7"]);
    expect(blocks[0]!.der.equals(root.der)).toBe(true);
    expect(blocks[0]!.pem).toBe(a);
    expect(blocks[1]!.der.toString()).toBe("crl");
    expect(blocks[2]!.der.toString()).toBe("p7");
    expect(pemToDer(text, "X509 CRL")!.toString()).toBe("crl");
    expect(pemToDer(text, "PRIVATE KEY")).toBeUndefined();
  });

  it("a block whose END label differs, a lower-case label, or base64 with other characters is no block", () => {
    expect(pemBlocks("-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n")).toEqual([]);
    expect(pemBlocks("-----BEGIN certificate-----\nAAAA\n-----END certificate-----\n")).toEqual([]);
    expect(pemBlocks("-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n")).toEqual([]);
    expect(pemBlocks("-----BEGIN CERTIFICATE-----AAAA\n-----END CERTIFICATE-----\n")).toEqual([]);
    // The first END of the same label closes the block (lazy), so two blocks are two, not one.
    expect(pemBlocks(`${toPem("A", Buffer.from("1"))}${toPem("A", Buffer.from("2"))}`).map((x) => x.der.toString())).toEqual(["1", "2"]);
  });
});

describe("isEncryptedKeyPem", () => {
  it("encrypted PKCS#8 and traditional OpenSSL encryption; a plain key is not", () => {
    expect(isEncryptedKeyPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")).toBe(true);
    expect(isEncryptedKeyPem("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")).toBe(true);
    expect(isEncryptedKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")).toBe(false);
    expect(isEncryptedKeyPem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")).toBe(false);
  });
});
