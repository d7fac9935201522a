import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import type { IdentitySpec } from "../../src/config/types.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { generateKey, type KeyMaterial } from "../../src/x509/keys.js";
import type { CertTemplate } from "../../src/x509/spec.js";
import { requireTool } from "../helpers/require-tool.js";

/**
 * The certificate encoder (x509/forge.ts, through issue.ts) in process, judged by openssl rather than by our own
 * decoder: a chain of a P-384 root, an RSA intermediate with name constraints and a path length, and EC leaves
 * verifies with -x509_strict, and `openssl x509 -text` / `asn1parse` show each extension and time as RFC 5280
 * wants it. Each passing verification has a failing twin (wrong purpose, a name outside the constraints).
 */

const YAML = `version: 1
cas:
  root: { key: ecdsa-p384, subject: { country: DE, organization: "Grüße & Co" }, commonName: Root }
  int: { issuer: root, key: rsa-2048, commonName: Int, pathLength: 0, nameConstraints: { permitted: [.test, 10.0.0.0/8, "2001:db8::/32", "@example.test"], excluded: [bad.test] } }
servers:
  web: { issuer: int, altNames: [web.test, "*.web.test", 10.0.0.1, "2001:db8::1", "spiffe://web.test/api", ops@example.test] }
clients:
  bob: { issuer: int, key: rsa-2048, altNames: [bob@example.test] }
`;

let dir: string;
const ids = new Map<string, IdentitySpec>();
const keys = new Map<string, KeyMaterial>();
const NOW = new Date("2027-02-03T04:05:06.789Z");
const LATER = new Date("2029-02-03T04:05:06Z");

function openssl(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Issues `name` (under `issuerName`, or self-signed) and writes it to `<dir>/<file>.pem`; returns the file. */
function issue(name: string, issuerName: string | null, options: { file?: string; edit?: (t: CertTemplate) => void; crlUrl?: string; notBefore?: Date; notAfter?: Date } = {}): string {
  const identity = ids.get(name)!;
  const issuer = issuerName === null ? null : ids.get(issuerName)!;
  const template = templateFor({
    identity,
    spki: keys.get(name)!.spki,
    serial: serialFrom(Buffer.alloc(16, name.length)),
    notBefore: options.notBefore ?? NOW,
    notAfter: options.notAfter ?? LATER,
    issuer: issuer && { subject: issuer.subject, keyType: issuer.key, subjectKeyId: subjectKeyIdOf(keys.get(issuer.name)!.spki), crlUrl: options.crlUrl ?? null },
  });
  options.edit?.(template);
  const { pem } = signCertificate(template, keys.get(issuerName ?? name)!.privateKey);
  const file = path.join(dir, `${options.file ?? name}.pem`);
  writeFileSync(file, pem);
  return file;
}

const text = (file: string) => openssl(["x509", "-in", file, "-noout", "-text", "-nameopt", "utf8,sep_comma_plus_space"]).out;
const verify = (leaf: string, purpose: "sslserver" | "sslclient") =>
  openssl(["verify", "-x509_strict", "-purpose", purpose, "-attime", String(Math.floor(NOW.getTime() / 1000) + 86_400), "-CAfile", path.join(dir, "root.pem"), "-untrusted", path.join(dir, "int.pem"), leaf]);

beforeAll(async () => {
  requireTool("openssl", "openssl");
  dir = mkdtempSync(path.join(tmpdir(), "provision-forge-"));
  const { config, diagnostics } = parseConfig(YAML, "pki.yaml", { cwd: dir });
  expect(diagnostics).toEqual([]);
  for (const id of config!.identities) {
    ids.set(id.name, id);
    keys.set(id.name, await generateKey(id.key));
  }
});
beforeEach(() => {
  // Issued per test, not once in beforeAll: Stryker activates a mutant around each test, so a chain encoded
  // before the tests would never carry the mutation.
  issue("root", null);
  issue("int", "root");
  issue("web", "int", { crlUrl: "http://crl.test/int.crl" });
  issue("bob", "int");
});
afterAll(() => { if (!process.env.KEEP_FORGE) rmSync(dir, { recursive: true, force: true }); });

describe("a chain encoded by forge, judged by openssl", () => {
  it("verifies with -x509_strict for its purpose, and not for the other one", () => {
    expect(verify(path.join(dir, "web.pem"), "sslserver")).toMatchObject({ ok: true });
    expect(verify(path.join(dir, "bob.pem"), "sslclient")).toMatchObject({ ok: true });
    expect(verify(path.join(dir, "web.pem"), "sslclient").ok).toBe(false);
    expect(verify(path.join(dir, "bob.pem"), "sslserver").ok).toBe(false);
  });

  it("the root: self-signed with ECDSA-SHA384, CA without a path length, its own key id and no authority key id", () => {
    const t = text(path.join(dir, "root.pem"));
    expect(t).toContain("Version: 3 (0x2)");
    expect(t).toContain("Signature Algorithm: ecdsa-with-SHA384");
    expect(t).toContain("Issuer: C=DE, O=Grüße & Co, CN=Root");
    expect(t).toContain("Subject: C=DE, O=Grüße & Co, CN=Root");
    expect(t).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    expect(t).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
    expect(t).not.toContain("Extended Key Usage");
    expect(t).not.toContain("Authority Key Identifier");
    expect(t).not.toContain("Subject Alternative Name");
    expect(t).not.toContain("CRL Distribution Points");
    expect(t).not.toContain("Name Constraints");
    const x = new X509Certificate(execFileSync("cat", [path.join(dir, "root.pem")]));
    expect(x.checkIssued(x)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it("the intermediate: signed with ECDSA-SHA384 by the root, pathlen 0, and its name constraints as written", () => {
    const t = text(path.join(dir, "int.pem"));
    expect(t).toContain("Signature Algorithm: ecdsa-with-SHA384");
    expect(t).toContain("Issuer: C=DE, O=Grüße & Co, CN=Root");
    expect(t).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
    expect(t).toMatch(
      /X509v3 Name Constraints: critical\n\s+Permitted:\n\s+DNS:\.test\n\s+IP:10\.0\.0\.0\/255\.0\.0\.0\n\s+IP:2001:DB8:0:0:0:0:0:0\/FFFF:FFFF:0:0:0:0:0:0\n\s+email:example\.test\n\s+Excluded:\n\s+DNS:bad\.test\n/,
    );
    const rootSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(path.join(dir, "root.pem")))![1];
    expect(t).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${rootSki}\\n`));
  });

  it("the server: RSA-SHA256 with NULL parameters, not a CA, serverAuth, every alt name type, the issuer's CRL URL", () => {
    const t = text(path.join(dir, "web.pem"));
    expect(t).toContain("Signature Algorithm: sha256WithRSAEncryption");
    expect(t).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(t).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(t).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    expect(t).toMatch(/X509v3 Subject Alternative Name: \n\s+DNS:web\.test, DNS:\*\.web\.test, IP Address:10\.0\.0\.1, IP Address:2001:DB8:0:0:0:0:0:1, URI:spiffe:\/\/web\.test\/api, email:ops@example\.test\n/);
    expect(t).toMatch(/X509v3 CRL Distribution Points: \n\s+Full Name:\n\s+URI:http:\/\/crl\.test\/int\.crl\n/);
    const parsed = openssl(["asn1parse", "-in", path.join(dir, "web.pem")]).out;
    // AlgorithmIdentifier of RSA PKCS#1 v1.5 carries NULL (RFC 4055), inside the TBS and after it.
    expect(parsed.match(/OBJECT\s+:sha256WithRSAEncryption\n.*NULL/g)).toHaveLength(2);
  });

  it("the client: an RSA key gets keyEncipherment beside digitalSignature, and clientAuth", () => {
    const t = text(path.join(dir, "bob.pem"));
    expect(t).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    expect(t).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    expect(t).toMatch(/X509v3 Subject Alternative Name: \n\s+email:bob@example\.test\n/);
    expect(t).not.toContain("CRL Distribution Points");
  });

  it("the serial and the times are as given, fractions of a second dropped", () => {
    const x = new X509Certificate(execFileSync("cat", [path.join(dir, "web.pem")]));
    expect(x.serialNumber).toBe(serialFrom(Buffer.alloc(16, 3)).toString("hex").toUpperCase());
    expect(new Date(x.validFrom).toISOString()).toBe("2027-02-03T04:05:06.000Z");
    expect(new Date(x.validTo).toISOString()).toBe("2029-02-03T04:05:06.000Z");
  });

  it("ECDSA signature algorithms carry no parameters (RFC 5758), inside the TBS and after it", () => {
    const parsed = openssl(["asn1parse", "-in", path.join(dir, "int.pem")]).out;
    expect(parsed.match(/OBJECT\s+:ecdsa-with-SHA384\n/g)).toHaveLength(2);
    expect(parsed).not.toMatch(/OBJECT\s+:ecdsa-with-SHA384\n.*NULL/);
  });

  it("constraints with excluded subtrees only: no empty permittedSubtrees is written (RFC 5280 wants at least one)", () => {
    const file = issue("int", "root", { file: "excluded-only", edit: (t) => void (t.nameConstraints = { permitted: [], excluded: [{ type: "dns", value: "bad.test" }] }) });
    const t = text(file);
    expect(t).toMatch(/X509v3 Name Constraints: critical\n\s+Excluded:\n\s+DNS:bad\.test\n/);
    expect(t).not.toContain("Permitted");
    // The extension's value, byte for byte: SEQUENCE { [1] { SEQUENCE { [2] "bad.test" } } }, with no [0] before it.
    const der = new X509Certificate(readFileSync(file)).raw;
    expect(der.includes(Buffer.concat([Buffer.from("300ea10c300a8208", "hex"), Buffer.from("bad.test")]))).toBe(true);
  });

  it("a name that is not ASCII never reaches the DER (config hands over A-labels): encoding refuses it", () => {
    for (const value of ["bücher.test", "https://s.test/€uro"]) {
      expect(() => issue("web", "int", { file: "non-ascii", edit: (t) => void (t.altNames = [{ type: value.startsWith("https") ? "uri" : "dns", value } as CertTemplate["altNames"][number]]) })).toThrow(/is not ASCII/);
    }
  });

  it("names outside the constraints, encoded all the same, are refused by openssl (the constraints are enforced as encoded)", () => {
    const outside: [string, string][] = [
      ["DNS:web.bad.test", "excluded subtree violation"],
      ["DNS:web.other", "permitted subtree violation"],
      ["IP:11.0.0.1", "permitted subtree violation"],
      ["IP:2001:db9::1", "permitted subtree violation"],
      ["email:ops@other.test", "permitted subtree violation"],
    ];
    for (const [name, why] of outside) {
      const [type, value] = name.split(/:(.*)/) as [string, string];
      const file = issue("web", "int", {
        file: "outside",
        edit: (t) => void (t.altNames = [{ type: type === "DNS" ? "dns" : type === "IP" ? "ip" : "email", value } as CertTemplate["altNames"][number]]),
      });
      const result = verify(file, "sslserver");
      expect(result.ok, name).toBe(false);
      expect(result.out, name).toContain(why);
    }
  });
});

describe("times (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050", () => {
  it("openssl reads 2049-12-31T23:59:59Z as UTCTime and 2050-01-01T00:00:00Z as GeneralizedTime, both to the second", () => {
    const file = issue("web", "int", { file: "edge", notBefore: new Date("2049-12-31T23:59:59Z"), notAfter: new Date("2050-01-01T00:00:00Z") });
    const parsed = openssl(["asn1parse", "-in", file]).out;
    expect(parsed).toMatch(/UTCTIME\s+:491231235959Z\n.*GENERALIZEDTIME\s+:20500101000000Z\n/);
    expect(openssl(["x509", "-in", file, "-noout", "-dates"]).out).toBe("notBefore=Dec 31 23:59:59 2049 GMT\nnotAfter=Jan  1 00:00:00 2050 GMT\n");
  });

  it("1950 is UTCTime 50…, and a year before it is GeneralizedTime (not UTCTime 49…, which means 2049)", () => {
    const file = issue("web", "int", { file: "old", notBefore: new Date("1949-12-31T23:59:59Z"), notAfter: new Date("1950-01-01T00:00:00Z") });
    expect(openssl(["asn1parse", "-in", file]).out).toMatch(/GENERALIZEDTIME\s+:19491231235959Z\n.*UTCTIME\s+:500101000000Z\n/);
    expect(openssl(["x509", "-in", file, "-noout", "-dates"]).out).toBe("notBefore=Dec 31 23:59:59 1949 GMT\nnotAfter=Jan  1 00:00:00 1950 GMT\n");
  });

  it("the last second RFC 5280 allows (99991231235959Z) is written as such and read back by openssl and Node", () => {
    const file = issue("web", "int", { file: "forever", notAfter: new Date("9999-12-31T23:59:59Z") });
    expect(openssl(["asn1parse", "-in", file]).out).toMatch(/GENERALIZEDTIME\s+:99991231235959Z\n/);
    const x = new X509Certificate(execFileSync("cat", [file]));
    expect(new Date(x.validTo).toISOString()).toBe("9999-12-31T23:59:59.000Z");
  });
});
