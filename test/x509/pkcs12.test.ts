import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import path from "node:path";
import { createSecureContext } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { buildPkcs12 } from "../../src/x509/pkcs12.js";
import { spkiOf } from "../../src/x509/keys.js";
import { opensslSync } from "../helpers/openssl.js";
import { configOf, filesIn, issueOf, removeFiles } from "./fixtures.js";

/**
 * x509/pkcs12.ts (and forge.ts's encodePkcs12): the identity.p12 of a leaf under an intermediate, opened by
 * `openssl pkcs12` and by Node's TLS (which hands it to OpenSSL's PKCS12_parse): the MAC, the key and the chain.
 */

const cfg = configOf(`version: 1
cas:
  root: { key: ecdsa-p384, commonName: P12 Root }
  int: { issuer: root, key: ecdsa-p256, commonName: P12 Int }
servers:
  web: { issuer: int, key: rsa-2048, altNames: [web.test] }
`);
const root = issueOf(cfg, "root", null);
const int = issueOf(cfg, "int", root);
const web = issueOf(cfg, "web", int);
afterAll(removeFiles);

const RANDOM = Buffer.from("00112233445566778899aabbccddeeff0123456789abcdef", "hex");
const p12 = (password: string) => buildPkcs12({ certDers: [web.der, int.der], key: web.key, password, friendlyName: "web", random: RANDOM });
const pkcs12 = (file: Buffer, args: string[]) => opensslSync(["pkcs12", "-in", path.join(filesIn({ "id.p12": file }), "id.p12"), ...args]);

describe("buildPkcs12, opened by openssl pkcs12", () => {
  it("the MAC is HMAC-SHA256 over 10000 iterations with the 16 salt bytes after the first 8; the key is PBES2 AES-256-CBC", () => {
    const { ok, out } = pkcs12(p12("s3cret pw"), ["-info", "-noout", "-passin", "pass:s3cret pw"]);
    expect(ok, out).toBe(true);
    expect(out).toContain("MAC: sha256, Iteration 10000");
    expect(out).toContain("MAC length: 32, salt length: 16");
    expect(out).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    const parsed = opensslSync(["asn1parse", "-inform", "DER"], p12("s3cret pw")).out;
    // The MacData's salt is random[8..24); the localKeyId of both bags is random[0..8).
    expect(parsed).toContain(`[HEX DUMP]:${RANDOM.subarray(8, 24).toString("hex").toUpperCase()}`);
    expect(parsed).toMatch(/INTEGER\s+:2710\n?\s*$/);
  });

  it("holds the leaf first with the friendly name and local key id, then the chain; the key is the leaf's", () => {
    const certs = pkcs12(p12("pw"), ["-nokeys", "-passin", "pass:pw"]);
    expect(certs.ok, certs.out).toBe(true);
    const bags = certs.out.split("Bag Attributes").slice(1);
    expect(bags).toHaveLength(2);
    expect(bags[0]).toContain("friendlyName: web");
    expect(bags[0]).toContain(`localKeyID: ${RANDOM.subarray(0, 8).toString("hex").toUpperCase().replace(/(..)(?!$)/g, "$1 ")}`);
    expect(bags[0]).toContain("subject=CN = web");
    expect(bags[1]).toContain("subject=CN = P12 Int");
    expect(bags[1]).not.toContain("friendlyName");
    const pems = [...certs.out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)].map((m) => new X509Certificate(m[0]).raw);
    expect(pems[0]!.equals(web.der)).toBe(true);
    expect(pems[1]!.equals(int.der)).toBe(true);
    // The key, decrypted by openssl with the same password, is the leaf's own (compared by public key).
    const keys = pkcs12(p12("pw"), ["-nocerts", "-nodes", "-passin", "pass:pw"]);
    expect(keys.ok, keys.out).toBe(true);
    expect(keys.out).toContain("friendlyName: web");
    const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(keys.out)![0];
    expect(createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" }).equals(spkiOf(web.key))).toBe(true);
  });

  it("a wrong password fails the MAC check", () => {
    const wrong = pkcs12(p12("right"), ["-info", "-noout", "-passin", "pass:wrong"]);
    expect(wrong.ok).toBe(false);
    expect(wrong.out).toContain("Mac verify error");
  });

  it("Node's TLS loads it with the password as a server identity, and not without", () => {
    expect(() => createSecureContext({ pfx: p12("tls pw"), passphrase: "tls pw" })).not.toThrow();
    expect(() => createSecureContext({ pfx: p12("tls pw"), passphrase: "other" })).toThrow(/mac verify failure/i);
  });
});
