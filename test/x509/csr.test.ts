import { createPublicKey, generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProvisionError } from "../../src/errors.js";
import { createCertificationRequest, readCertificationRequest } from "../../src/x509/csr.js";
import { spkiOf } from "../../src/x509/keys.js";
import { opensslSync } from "../helpers/openssl.js";
import { filesIn, keyOf, removeFiles } from "./fixtures.js";

/**
 * x509/csr.ts: requests we write are checked by `openssl req -verify`; requests openssl writes are read by us,
 * and each way a request can be wrong (no PEM, damaged, a key type provision does not issue, a bad or weak
 * signature) is refused with its own message.
 */

afterAll(removeFiles);

const p256 = keyOf("ecdsa-p256");
const p384 = keyOf("ecdsa-p384");
const rsa = keyOf("rsa-2048");

/** A request made by openssl itself with this key (PEM, unencrypted: a throwaway test key). */
function opensslRequest(key: ReturnType<typeof keyOf>, args: string[]): string {
  const dir = filesIn({ "key.pem": key.export({ type: "pkcs8", format: "pem" }) as string });
  const made = opensslSync(["req", "-new", "-key", path.join(dir, "key.pem"), ...args]);
  if (!made.ok) throw new Error(made.out);
  return made.stdout.toString("utf8");
}

function refusal(pem: string): ProvisionError {
  try {
    readCertificationRequest(pem, "req.csr");
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).code).toBe("bad-csr");
    return error as ProvisionError;
  }
  throw new Error("the request was accepted");
}

describe("createCertificationRequest, judged by openssl req -verify", () => {
  it("a P-384 key signs with ECDSA-SHA384; subject and every alt name type are in the request", () => {
    const pem = createCertificationRequest(
      { commonName: "web", organization: "Grüße & Co", country: "DE" },
      [{ type: "dns", value: "web.test" }, { type: "ip", value: "10.0.0.1" }, { type: "ip", value: "2001:db8::1" }, { type: "email", value: "ops@web.test" }, { type: "uri", value: "spiffe://web.test/api" }],
      p384,
      "ecdsa-p384",
    );
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const { ok, out } = opensslSync(["req", "-verify", "-noout", "-text", "-nameopt", "utf8,sep_comma_plus_space"], pem);
    expect(ok, out).toBe(true);
    expect(out).toMatch(/verify OK/);
    expect(out).toContain("Version: 1 (0x0)");
    expect(out).toContain("Subject: C=DE, O=Grüße & Co, CN=web");
    expect(out).toContain("Signature Algorithm: ecdsa-with-SHA384");
    expect(out).toContain("ASN1 OID: secp384r1");
    expect(out).toMatch(/Requested Extensions:\n\s+X509v3 Subject Alternative Name: \n\s+DNS:web\.test, IP Address:10\.0\.0\.1, IP Address:2001:DB8:0:0:0:0:0:1, email:ops@web\.test, URI:spiffe:\/\/web\.test\/api\n/);
    expect(readCertificationRequest(pem, "req.csr")).toEqual({
      subject: { commonName: "web", organization: "Grüße & Co", country: "DE" },
      altNames: [{ type: "dns", value: "web.test" }, { type: "ip", value: "10.0.0.1" }, { type: "ip", value: "2001:db8::1" }, { type: "email", value: "ops@web.test" }, { type: "uri", value: "spiffe://web.test/api" }],
      spki: spkiOf(p384),
      keyType: "ecdsa-p384",
    });
  });

  it("an RSA key signs with sha256WithRSAEncryption, a P-256 key with ECDSA-SHA256; no alt names, no extension request", () => {
    for (const [key, type, alg] of [[rsa, "rsa-2048", "sha256WithRSAEncryption"], [p256, "ecdsa-p256", "ecdsa-with-SHA256"]] as const) {
      const pem = createCertificationRequest({ commonName: "bob" }, [], key, type);
      const { ok, out } = opensslSync(["req", "-verify", "-noout", "-text"], pem);
      expect(ok, out).toBe(true);
      expect(out).toContain(`Signature Algorithm: ${alg}`);
      expect(out).toContain("Subject: CN = bob");
      expect(out).toMatch(/Attributes:\n\s+\(none\)/);
      expect(out).not.toContain("Subject Alternative Name");
      expect(readCertificationRequest(pem, "req.csr")).toMatchObject({ altNames: [], keyType: type });
    }
  });
});

describe("readCertificationRequest", () => {
  it("reads a request openssl made (SHA-512 signature, the legacy NEW CERTIFICATE REQUEST label too)", () => {
    const pem = opensslRequest(rsa, ["-sha512", "-subj", "/O=Acme/CN=api.test", "-addext", "subjectAltName=DNS:api.test,IP:10.1.2.3,email:a@api.test,URI:https://api.test/x,otherName:1.2.3.4;UTF8:x"]);
    const expected = {
      subject: { organization: "Acme", commonName: "api.test" },
      // The otherName is not a type provision issues: it is left out, not mistaken for another.
      altNames: [{ type: "dns", value: "api.test" }, { type: "ip", value: "10.1.2.3" }, { type: "email", value: "a@api.test" }, { type: "uri", value: "https://api.test/x" }],
      spki: spkiOf(rsa),
      keyType: "rsa-2048",
    };
    expect(readCertificationRequest(pem, "req.csr")).toEqual(expected);
    expect(readCertificationRequest(pem.replaceAll("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"), "req.csr")).toEqual(expected);
    expect(readCertificationRequest(opensslRequest(p256, ["-subj", "/CN=x"]), "req.csr")).toMatchObject({ keyType: "ecdsa-p256", altNames: [], subject: { commonName: "x" } });
  });

  it("a text without a request PEM, and one that does not parse, are refused naming the file", () => {
    const none = refusal("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n");
    expect(none.message).toBe("req.csr holds no PEM certificate request");
    expect(none.hint).toBe("expected -----BEGIN CERTIFICATE REQUEST-----");
    const damaged = refusal("-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n");
    expect(damaged.message).toBe("req.csr is not a readable certificate request (truncated or corrupted?)");
  });

  it("a key provision does not issue for (P-521, RSA-1024, Ed25519) is refused", () => {
    const keys = [generateKeyPairSync("ec", { namedCurve: "P-521" }).privateKey, generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey, generateKeyPairSync("ed25519").privateKey];
    for (const key of keys) {
      const e = refusal(opensslRequest(key, ["-subj", "/CN=x"]));
      expect(e.message).toBe("req.csr: the key in the request is not one provision issues for (ecdsa-p256/p384, rsa-2048/3072/4096)");
    }
  });

  it("a signature that does not verify, or made with SHA-1, is refused", () => {
    const pem = createCertificationRequest({ commonName: "web" }, [{ type: "dns", value: "web.test" }], p256, "ecdsa-p256");
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, ""), "base64");
    // The info's commonName "web" becomes "wec": the signature no longer covers what the request says.
    const at = der.indexOf(Buffer.from("web"));
    der[at + 2] = "c".charCodeAt(0);
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    const e = refusal(altered);
    expect(e.message).toBe("req.csr: the request's signature does not verify");
    expect(e.hint).toBe("the request was altered, or not signed by the key it carries");
    expect(refusal(opensslRequest(rsa, ["-sha1", "-subj", "/CN=x"])).message).toBe("req.csr: the request's signature does not verify");
    expect(refusal(opensslRequest(p256, ["-sha1", "-subj", "/CN=x"])).message).toBe("req.csr: the request's signature does not verify");
    // The public key is still read from a request whose signature fails (the key type check comes first).
    expect(createPublicKey({ key: readCertificationRequest(opensslRequest(p256, ["-subj", "/CN=y"]), "r").spki, format: "der", type: "spki" }).asymmetricKeyType).toBe("ec");
  });
});
