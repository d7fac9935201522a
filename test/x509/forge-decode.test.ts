import { createCipheriv, createPrivateKey, createPublicKey, pbkdf2Sync, sign, verify, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bitString, explicit, integer, NULL, octetString, oid, sequence, TAG, tlv } from "../../src/x509/der.js";
import { subjectNameDer } from "../../src/x509/encode.js";
import { acmeIdentifierOf, decodeCertificate, decodeCertificationRequest, decodeCrl, decodeKeyEncryption, encodeEncryptedPrivateKeyInfo } from "../../src/x509/forge.js";
import { pemToDer, toPem } from "../../src/x509/pem.js";
import { opensslSync } from "../helpers/openssl.js";
import { fixtureFolder } from "../helpers/fixtures.js";

/**
 * The readers of x509/forge.ts on what others made: certificates openssl wrote with the forms provision never
 * writes (version 1, an explicit cA FALSE, an authority key id by issuer and serial, constraints of types it
 * does not model, CRL distribution points that are no URI), tls-alpn-01 challenge certificates, and encrypted
 * keys of every scheme openssl offers. openssl -text says what each certificate holds; the decoder must agree.
 */

/**
 * Everything openssl makes here (the scenery, not what is under test) is made once in beforeAll, into a fixture
 * folder that Stryker's runner keeps across mutants (test/helpers/fixtures.ts): a mutant's run only decodes.
 */
const CERTS: Record<string, { ext: string[]; subject?: string; utf8?: true }> = {
  ca: { ext: ["basicConstraints=critical,CA:TRUE"], subject: "/CN=Issuer CA" },
  "explicit-false": { ext: ["basicConstraints=critical,DER:3003010100"] },
  pathlen0: { ext: ["basicConstraints=critical,CA:TRUE,pathlen:0"] },
  "aki-issuer": { ext: ["authorityKeyIdentifier=issuer:always"] },
  "aki-both": { ext: ["authorityKeyIdentifier=keyid:always,issuer:always"] },
  "ku-digitalSignature": { ext: ["keyUsage=critical,digitalSignature"] },
  "ku-keyEncipherment": { ext: ["keyUsage=critical,keyEncipherment"] },
  "ku-keyCertSign": { ext: ["keyUsage=critical,keyCertSign"] },
  "ku-cRLSign": { ext: ["keyUsage=critical,cRLSign"] },
  "ku-unmodelled": { ext: ["keyUsage=critical,nonRepudiation,dataEncipherment,keyAgreement,encipherOnly,decipherOnly"] },
  "ku-mixed": { ext: ["keyUsage=critical,keyAgreement,decipherOnly,cRLSign"] },
  "nc-permitted": { ext: ["nameConstraints=critical,permitted;DNS:.a.test"] },
  "nc-excluded": { ext: ["nameConstraints=critical,excluded;IP:192.168.0.0/255.255.0.0,excluded;URI:.b.test"] },
  "nc-unmodelled": { ext: ["nameConstraints=critical,permitted;RID:1.2.3.4,excluded;otherName:1.2.3.4;UTF8:x", "subjectAltName=RID:1.2.3.4,DNS:x.test,otherName:1.2.3.4;UTF8:x"] },
  "dp-mixed": { ext: ["crlDistributionPoints=URI:http://a.test/a.crl,DNS:crl.test,URI:ldap://b.test/b"] },
  // A point naming only its CRL issuer ([2] cRLIssuer, no [0] distributionPoint): SEQUENCE { [2] { [6] "http://i.test" } }.
  "dp-issuer-only": { ext: [`crlDistributionPoints=DER:30133011a20f860d${Buffer.from("http://i.test").toString("hex")}`] },
  // A point with reasons and a CRL issuer but no distributionPoint: SEQUENCE { [1] reasons, [2] { [6] "http://i.test" } }.
  "dp-reasons-only": { ext: [`crlDistributionPoints=DER:30173015810205 60a20f860d${Buffer.from("http://i.test").toString("hex")}`.replace(" ", "")] },
  // Subject attributes provision does not model, and extensions it does not read.
  "unmodelled-subject": { subject: "/CN=o/emailAddress=a@a.test/serialNumber=5/DC=test", ext: ["certificatePolicies=1.2.3.4", "nsComment=x", "subjectAltName=DNS:a.test"] },
  "acme-critical": { ext: [`1.3.6.1.5.5.7.1.31=critical,DER:0420${"5a".repeat(32)}`] },
  "acme-plain": { ext: [`1.3.6.1.5.5.7.1.31=DER:0420${"5a".repeat(32)}`] },
  "acme-later": { ext: ["subjectAltName=DNS:a.test", "basicConstraints=critical,CA:FALSE", `1.3.6.1.5.5.7.1.31=critical,DER:0420${"5a".repeat(32)}`] },
  "acme-utf8": { ext: ["1.3.6.1.5.5.7.1.31=critical,DER:0c03616263"] },
  "acme-sequence": { ext: ["1.3.6.1.5.5.7.1.31=critical,DER:3000"] },
  "san-only": { ext: ["subjectAltName=DNS:a.test"] },
  // Every extension provision reads, in the forms openssl writes them, and a subject with every field.
  every: {
    utf8: true,
    subject: "/C=US/ST=California/L=San Francisco/O=Acme \u00dc/OU=Ops/CN=Other CA",
    ext: [
      "basicConstraints=critical,CA:TRUE,pathlen:2",
      "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign",
      "extendedKeyUsage=serverAuth,clientAuth,codeSigning",
      "subjectAltName=DNS:a.test,IP:10.1.2.3,IP:::1,email:a@a.test,URI:https://a.test/x,otherName:1.2.3.4;UTF8:x",
      "nameConstraints=critical,permitted;DNS:.test,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:2001:db8::/ffff:ffff::,excluded;email:bad.test,excluded;URI:.evil.test,excluded;RID:1.2.3.4",
      "crlDistributionPoints=URI:http://crl.test/o.crl,URI:ldap://crl.test/o",
      "authorityKeyIdentifier=keyid:always",
    ],
  },
};
/** ec's key encrypted by `openssl pkcs8 -topk8` with these options (DER). */
const KEYS: Record<string, string[]> = {
  sha512: ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512", "-iter", "1000"],
  sha1: ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-iter", "70000"],
  aes128: ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA256", "-iter", "1"],
  sha224: ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA224", "-iter", "1000"],
  pbes1: ["-v1", "PBE-SHA1-3DES", "-iter", "1000"],
  scrypt: ["-scrypt", "-scrypt_N", "1024", "-scrypt_r", "8", "-scrypt_p", "1"],
};

let fixtures: { dir: string; drop: () => void };
beforeAll(async () => {
  fixtures = await fixtureFolder("provision-forge-decode-", JSON.stringify({ CERTS, KEYS }), async (dir) => {
    const run = (args: string[], input?: string | Buffer) => {
      const made = opensslSync(args, input);
      if (!made.ok) throw new Error(`openssl ${args.join(" ")}: ${made.out}`);
      return made.stdout;
    };
    const k = path.join(dir, "k.pem");
    run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", k]);
    const save = (name: string, pem: Buffer) => {
      writeFileSync(path.join(dir, `${name}.pem`), pem);
      writeFileSync(path.join(dir, `${name}.txt`), run(["x509", "-noout", "-text"], pem));
    };
    for (const [name, c] of Object.entries(CERTS)) {
      save(name, run(["req", "-x509", "-new", "-key", k, "-subj", c.subject ?? "/CN=o", "-days", "1", ...(c.utf8 ? ["-utf8"] : []), ...c.ext.flatMap((e) => ["-addext", e])]));
    }
    // Subject strings as BMPString (UTF-16), which some Windows CAs write.
    writeFileSync(path.join(dir, "bmp.cnf"), "[req]\ndistinguished_name = dn\nstring_mask = MASK:0x800\n[dn]\n");
    save("bmp", run(["req", "-x509", "-new", "-key", k, "-config", path.join(dir, "bmp.cnf"), "-utf8", "-subj", "/O=Gr\u00fc\u00dfe/CN=Bmp CA", "-days", "1"]));
    // Version 1 (x509 -req adds no extension), self-signed and under "ca".
    save("v1", run(["x509", "-req", "-key", k, "-days", "1"], run(["req", "-new", "-key", k, "-subj", "/O=Org/CN=v1 leaf"])));
    save("leaf", run(["x509", "-req", "-CA", path.join(dir, "ca.pem"), "-CAkey", k, "-days", "1"], run(["req", "-new", "-key", k, "-subj", "/CN=Subject"])));
    // CRLs `openssl ca -gencrl` signs with "ca": version 1 (no extensions at all) and version 2 (a CRL number,
    // an authority key id, entries with and without a reason, one with an invalidity date after its reason).
    const crl = (name: string, index: string, extensions: string, args: string[] = []) => {
      writeFileSync(path.join(dir, "index.txt"), index);
      writeFileSync(path.join(dir, "crlnumber"), "1000\n");
      const cnf = `[ca]\ndefault_ca = d\n[d]\ndatabase = ${path.join(dir, "index.txt")}\ndefault_md = sha256\ndefault_crl_days = 7\n${extensions}`;
      writeFileSync(path.join(dir, "ca.cnf"), cnf);
      run(["ca", "-gencrl", "-batch", "-config", path.join(dir, "ca.cnf"), "-keyfile", k, "-cert", path.join(dir, "ca.pem"), "-out", path.join(dir, `${name}.pem`), ...args]);
      writeFileSync(path.join(dir, `${name}.txt`), run(["crl", "-in", path.join(dir, `${name}.pem`), "-noout", "-text"]));
    };
    const revoked = (serial: string, at: string, reason = "") => `R\t301231000000Z\t${at}${reason}\t${serial}\tunknown\t/CN=x\n`;
    crl("crl-v1", revoked("FF", "270102030405Z"), "");
    crl(
      "crl-v2",
      revoked("01", "270104000000Z", ",superseded") + revoked("0A", "270101000000Z", ",keyTime,20261231000000Z") + revoked("FF", "270102030405Z") + revoked("0100", "270103000000Z", ",certificateHold,holdInstructionReject") + revoked("0C", "270105000000Z", ",removeFromCRL"),
      `crlnumber = ${path.join(dir, "crlnumber")}\ncrl_extensions = crlext\n[crlext]\nauthorityKeyIdentifier = keyid:always\n`,
    );
    const v2 = (aki: string) => `crlnumber = ${path.join(dir, "crlnumber")}\ncrl_extensions = crlext\n[crlext]\nauthorityKeyIdentifier = ${aki}\n`;
    crl("crl-2050", revoked("0B", "270101000000Z"), v2("keyid:always"), ["-crl_lastupdate", "20500102030405Z", "-crl_nextupdate", "20510102030405Z"]);
    crl("crl-v2-empty", "", v2("keyid:always"));
    crl("crl-v1-empty", "", "");
    crl("crl-aki-issuer", revoked("0B", "270101000000Z"), v2("issuer:always"));
    // CRLs openssl ca does not write, signed here with the CA's key: no nextUpdate (RFC 5280 lets it out), the
    // extensions in another order, a CRL number of no bytes, a serial with redundant leading zero bytes.
    const caKey = createPrivateKey(readFileSync(k));
    const caName = subjectNameDer(new X509Certificate(readFileSync(path.join(dir, "ca.pem"))).raw);
    const ecdsaSha256 = sequence([oid("1.2.840.10045.4.3.2")]);
    const utc = (t: string) => tlv(TAG.UTCTIME, Buffer.from(t, "latin1"));
    const ext = (id: string, value: Buffer) => sequence([oid(id), octetString(value)]);
    const entry = (serialHex: string, at: string) => sequence([tlv(TAG.INTEGER, Buffer.from(serialHex, "hex")), utc(at)]);
    const signed = (name: string, tbsItems: Buffer[], label = "X509 CRL") => {
      const tbs = sequence(tbsItems);
      writeFileSync(path.join(dir, `${name}.pem`), toPem(label, sequence([tbs, ecdsaSha256, bitString(sign("sha256", tbs, caKey))])));
    };
    const numberExt = ext("2.5.29.20", tlv(TAG.INTEGER, Buffer.from([5])));
    const akiExt = ext("2.5.29.35", sequence([tlv(0x80, Buffer.from("0102030405", "hex"))]));
    signed("crl-no-next", [tlv(TAG.INTEGER, Buffer.from([1])), ecdsaSha256, caName, utc("270101000000Z"), sequence([entry("010005", "270101000000Z")]), explicit(0, [sequence([numberExt, akiExt])])]);
    writeFileSync(path.join(dir, "crl-no-next.txt"), run(["crl", "-in", path.join(dir, "crl-no-next.pem"), "-noout", "-text"]));
    signed("crl-minimal", [ecdsaSha256, caName, utc("270101000000Z")]);
    writeFileSync(path.join(dir, "crl-minimal.txt"), run(["crl", "-in", path.join(dir, "crl-minimal.pem"), "-noout", "-text"]));
    signed("crl-hostile", [tlv(TAG.INTEGER, Buffer.from([1])), ecdsaSha256, caName, utc("270101000000Z"), utc("270201000000Z"), sequence([entry("0000ff", "270101000000Z")]), explicit(0, [sequence([ext("2.5.29.20", tlv(TAG.INTEGER, Buffer.alloc(0)))])])]);
    // Requests: an attribute besides the extension request, extensions besides subjectAltName, and (made here)
    // none of the attributes field at all, which PKCS#10 requires and some encoders leave out.
    writeFileSync(path.join(dir, "challenge.cnf"), "[req]\ndistinguished_name = dn\nattributes = attrs\nprompt = no\n[dn]\nCN = c\n[attrs]\nchallengePassword = fixture-challenge\n");
    writeFileSync(path.join(dir, "csr-challenge.pem"), run(["req", "-new", "-key", k, "-config", path.join(dir, "challenge.cnf"), "-addext", "subjectAltName=DNS:c.test"]));
    writeFileSync(path.join(dir, "csr-eku.pem"), run(["req", "-new", "-key", k, "-subj", "/CN=e", "-addext", "extendedKeyUsage=serverAuth", "-addext", "basicConstraints=CA:FALSE", "-addext", "subjectAltName=DNS:e.test,IP:10.0.0.1"]));
    for (const name of ["csr-challenge", "csr-eku"]) writeFileSync(path.join(dir, `${name}.txt`), run(["req", "-in", path.join(dir, `${name}.pem`), "-noout", "-text"]));
    signed("csr-no-attributes", [tlv(TAG.INTEGER, Buffer.from([0])), caName, createPublicKey(caKey).export({ type: "spki", format: "der" })], "CERTIFICATE REQUEST");
    // PBKDF2 parameters with the optional keyLength before the PRF (RFC 8018 A.2), made here; openssl decrypts it.
    const salt = Buffer.alloc(16, 7);
    const iv = Buffer.alloc(16, 9);
    const cipher = createCipheriv("aes-256-cbc", pbkdf2Sync("fixture", salt, 1000, 32, "sha256"), iv);
    const ciphertext = Buffer.concat([cipher.update(caKey.export({ type: "pkcs8", format: "der" })), cipher.final()]);
    const kdf = sequence([oid("1.2.840.113549.1.5.12"), sequence([octetString(salt), integer(1000), integer(32), sequence([oid("1.2.840.113549.2.9"), NULL])])]);
    const keyLength = sequence([sequence([oid("1.2.840.113549.1.5.13"), sequence([kdf, sequence([oid("2.16.840.1.101.3.4.1.42"), octetString(iv)])])]), octetString(ciphertext)]);
    writeFileSync(path.join(dir, "keylength.der"), keyLength);
    run(["pkey", "-inform", "DER", "-in", path.join(dir, "keylength.der"), "-passin", "pass:fixture", "-noout"]);
    for (const [name, args] of Object.entries(KEYS)) {
      const der = run(["pkcs8", "-topk8", "-in", k, "-passout", "pass:fixture", "-outform", "DER", ...args]);
      writeFileSync(path.join(dir, `${name}.der`), der);
      writeFileSync(path.join(dir, `${name}.asn1`), run(["asn1parse", "-inform", "DER"], der));
    }
  });
}, 120_000);
afterAll(() => fixtures.drop());

const read = (file: string) => readFileSync(path.join(fixtures.dir, file));
const pemOf = (name: string) => read(`${name}.pem`).toString();
const text = (name: string) => read(`${name}.txt`).toString();
const decode = (name: string) => decodeCertificate(new X509Certificate(pemOf(name)).raw);

describe("decodeCertificate on certificates openssl made", () => {
  it("every extension provision reads, and a subject with every field (UTF-8 too), as openssl -text shows them", () => {
    const t = text("every");
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(t)![1]!.replaceAll(":", "").toLowerCase();
    const subject = { country: "US", state: "California", locality: "San Francisco", organization: "Acme \u00dc", organizationalUnit: "Ops", commonName: "Other CA" };
    expect(decode("every")).toEqual({
      subject,
      issuer: subject,
      altNames: [{ type: "dns", value: "a.test" }, { type: "ip", value: "10.1.2.3" }, { type: "ip", value: "::1" }, { type: "email", value: "a@a.test" }, { type: "uri", value: "https://a.test/x" }],
      isCa: true,
      pathLength: 2,
      keyUsage: ["digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign"],
      extKeyUsage: ["serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.3"],
      subjectKeyId: ski,
      authorityKeyId: ski,
      nameConstraints: {
        permitted: [{ type: "dns", value: ".test" }, { type: "ip", value: "10.0.0.0", prefix: 8 }, { type: "ip", value: "2001:db8::", prefix: 32 }],
        excluded: [{ type: "email", value: "bad.test" }, { type: "uri", value: ".evil.test" }],
      },
      crlUrls: ["http://crl.test/o.crl", "ldap://crl.test/o"],
    });
    expect(t).toContain("Subject: C = US, ST = California, L = San Francisco, O = Acme \\C3\\9C, OU = Ops, CN = Other CA");
  });

  it("a version 1 certificate (no version field, no extensions): subject and issuer in their places, every extension absent", () => {
    expect(text("v1")).toContain("Version: 1 (0x0)");
    expect(decode("v1")).toEqual({
      subject: { organization: "Org", commonName: "v1 leaf" },
      issuer: { organization: "Org", commonName: "v1 leaf" },
      altNames: [],
      isCa: false,
      pathLength: null,
      keyUsage: [],
      extKeyUsage: [],
      subjectKeyId: null,
      authorityKeyId: null,
      nameConstraints: null,
      crlUrls: [],
    });
  });

  it("subject and issuer differ: each read from its own field", () => {
    expect(text("leaf")).toMatch(/Issuer: CN = Issuer CA\n[\s\S]*Subject: CN = Subject\n/);
    expect(decode("leaf")).toMatchObject({ subject: { commonName: "Subject" }, issuer: { commonName: "Issuer CA" } });
  });

  it("an explicit cA FALSE is no CA; a CA without a path length has none", () => {
    expect(text("explicit-false")).toMatch(/Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(decode("explicit-false")).toMatchObject({ isCa: false, pathLength: null });
    expect(text("ca")).toMatch(/CA:TRUE\n/);
    expect(decode("ca")).toMatchObject({ isCa: true, pathLength: null });
    expect(decode("pathlen0")).toMatchObject({ isCa: true, pathLength: 0 });
  });

  it("an authority key id by issuer and serial only is no key id; with a key id too, the key id", () => {
    expect(text("aki-issuer")).toMatch(/Authority Key Identifier: \n\s+DirName:\/CN=o\n\s+serial:/);
    expect(decode("aki-issuer").authorityKeyId).toBeNull();
    const keyId = /Authority Key Identifier: \n\s+(?:keyid:)?([0-9A-F:]{59})\n\s+DirName/.exec(text("aki-both"))![1]!.replaceAll(":", "").toLowerCase();
    expect(decode("aki-both").authorityKeyId).toBe(keyId);
  });

  it("key usages one at a time, and bits provision does not model (decipherOnly, in the second byte)", () => {
    for (const usage of ["digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign"]) expect(decode(`ku-${usage}`).keyUsage, usage).toEqual([usage]);
    expect(text("ku-unmodelled")).toContain("Non Repudiation, Data Encipherment, Key Agreement, Encipher Only, Decipher Only");
    expect(decode("ku-unmodelled").keyUsage).toEqual([]);
    expect(decode("ku-mixed").keyUsage).toEqual(["cRLSign"]);
  });

  it("name constraints: only permitted, only excluded, none of a type provision models (null), an alt name of an unmodelled type skipped", () => {
    expect(decode("nc-permitted").nameConstraints).toEqual({ permitted: [{ type: "dns", value: ".a.test" }], excluded: [] });
    expect(decode("nc-excluded").nameConstraints).toEqual({ permitted: [], excluded: [{ type: "ip", value: "192.168.0.0", prefix: 16 }, { type: "uri", value: ".b.test" }] });
    expect(text("nc-unmodelled")).toMatch(/X509v3 Name Constraints: critical\n\s+Permitted:\n\s+Registered ID:1\.2\.3\.4\n\s+Excluded:\n\s+othername:/);
    expect(decode("nc-unmodelled")).toMatchObject({ nameConstraints: null, altNames: [{ type: "dns", value: "x.test" }] });
  });

  it("subject attributes and extensions provision does not model are left out; BMPString text is read as the text it is", () => {
    expect(text("unmodelled-subject")).toMatch(/Subject: CN = o, emailAddress = a@a.test, serialNumber = 5, DC = test\n/);
    expect(decode("unmodelled-subject")).toEqual({
      subject: { commonName: "o" },
      issuer: { commonName: "o" },
      altNames: [{ type: "dns", value: "a.test" }],
      isCa: true,
      pathLength: null,
      keyUsage: [],
      extKeyUsage: [],
      subjectKeyId: expect.stringMatching(/^[0-9a-f]{40}$/),
      authorityKeyId: expect.stringMatching(/^[0-9a-f]{40}$/),
      nameConstraints: null,
      crlUrls: [],
    });
    expect(decode("acme-critical").crlUrls).toEqual([]);
    expect(read("bmp.pem").toString()).toMatch(/BEGIN CERTIFICATE/);
    expect(opensslSync(["asn1parse"], pemOf("bmp")).out).toMatch(/BMPSTRING/);
    expect(decode("bmp").subject).toEqual({ organization: "Gr\u00fc\u00dfe", commonName: "Bmp CA" });
  });

  it("CRL distribution points: the URIs of each full name, in order; DNS names and points without a full name are not URLs", () => {
    expect(text("dp-mixed")).toMatch(/Full Name:\n\s+URI:http:\/\/a\.test\/a\.crl\n\s+Full Name:\n\s+DNS:crl\.test\n/);
    expect(decode("dp-mixed").crlUrls).toEqual(["http://a.test/a.crl", "ldap://b.test/b"]);
    expect(text("dp-issuer-only")).toContain("CRL Issuer:");
    expect(decode("dp-issuer-only").crlUrls).toEqual([]);
    expect(text("dp-reasons-only")).toMatch(/Reasons:\n\s+Key Compromise, CA Compromise\n\s+CRL Issuer:/);
    expect(decode("dp-reasons-only").crlUrls).toEqual([]);
  });
});

describe("decodeCrl on CRLs openssl signed", () => {
  const decodeCrlOf = (name: string) => decodeCrl(pemToDer(pemOf(name), "X509 CRL")!);
  const iso = (text: string, label: string) => new Date(`${new RegExp(`${label}: (.*GMT)`).exec(text)![1]}`).toISOString();

  it("version 2: number, authority key id, times, and each entry (in openssl's order) with its serial (no leading zero byte), date and reason", () => {
    const t = text("crl-v2");
    expect(t).toContain("Version 2 (0x1)");
    const decoded = decodeCrlOf("crl-v2");
    expect(decoded).toMatchObject({
      signatureHash: "sha256",
      issuer: { commonName: "Issuer CA" },
      thisUpdate: iso(t, "Last Update"),
      nextUpdate: iso(t, "Next Update"),
      number: 0x1000,
      authorityKeyId: /Authority Key Identifier: \n\s+(?:keyid:)?([0-9A-F:]+)\n/.exec(t)![1]!.replaceAll(":", "").toLowerCase(),
      entries: [
        { serial: "01", revokedAt: "2027-01-04T00:00:00.000Z", reason: "superseded" },
        { serial: "0a", revokedAt: "2027-01-01T00:00:00.000Z", reason: "keyCompromise" },
        { serial: "0c", revokedAt: "2027-01-05T00:00:00.000Z", reason: "removeFromCRL" },
        { serial: "ff", revokedAt: "2027-01-02T03:04:05.000Z", reason: "unspecified" },
        { serial: "0100", revokedAt: "2027-01-03T00:00:00.000Z", reason: "certificateHold" },
      ],
    });
    expect(t).toMatch(/Serial Number: 0A\n.*\n.*\n.*\n\s+Key Compromise\n\s+Invalidity Date:/);
    // What is signed and by what: openssl's signature verifies over tbsDer with the CA's key.
    const ca = new X509Certificate(pemOf("ca"));
    expect(verify(decoded.signatureHash, decoded.tbsDer, ca.publicKey, decoded.signature)).toBe(true);
    expect(decoded.issuerNameDer.equals(subjectNameDer(ca.raw))).toBe(true);
  });

  it("version 1: no version field, no extensions: no number, no key id, entries without a reason are unspecified", () => {
    const t = text("crl-v1");
    expect(t).toContain("Version 1 (0x0)");
    const decoded = decodeCrlOf("crl-v1");
    expect(decoded).toMatchObject({ issuer: { commonName: "Issuer CA" }, thisUpdate: iso(t, "Last Update"), number: null, authorityKeyId: null, entries: [{ serial: "ff", revokedAt: "2027-01-02T03:04:05.000Z", reason: "unspecified" }] });
    expect(verify(decoded.signatureHash, decoded.tbsDer, new X509Certificate(pemOf("ca")).publicKey, decoded.signature)).toBe(true);
  });
});

describe("decodeCrl on CRLs in the forms openssl ca does not write", () => {
  const decodeCrlOf = (name: string) => decodeCrl(pemToDer(pemOf(name), "X509 CRL")!);
  const caKey = () => new X509Certificate(pemOf("ca")).publicKey;

  it("times from 2050 are GeneralizedTime, read as such", () => {
    expect(text("crl-2050")).toMatch(/Last Update: Jan  2 03:04:05 2050 GMT\n\s+Next Update: Jan  2 03:04:05 2051 GMT\n/);
    expect(decodeCrlOf("crl-2050")).toMatchObject({ thisUpdate: "2050-01-02T03:04:05.000Z", nextUpdate: "2051-01-02T03:04:05.000Z", number: 0x1000, entries: [{ serial: "0b", revokedAt: "2027-01-01T00:00:00.000Z" }] });
  });

  it("no entries: none read, the extensions after the times still read (v2); nothing at all after the times (v1)", () => {
    expect(text("crl-v2-empty")).toContain("No Revoked Certificates.");
    expect(decodeCrlOf("crl-v2-empty")).toMatchObject({ number: 0x1000, authorityKeyId: expect.stringMatching(/^[0-9a-f]{40}$/), entries: [] });
    expect(text("crl-v1-empty")).toMatch(/Version 1 \(0x0\)[\s\S]*No Revoked Certificates\./);
    expect(decodeCrlOf("crl-v1-empty")).toMatchObject({ nextUpdate: expect.any(String), number: null, authorityKeyId: null, entries: [] });
  });

  it("an authority key id by issuer and serial only is no key id", () => {
    expect(text("crl-aki-issuer")).toMatch(/Authority Key Identifier: \n\s+DirName:\/CN=Issuer CA\n/);
    expect(decodeCrlOf("crl-aki-issuer")).toMatchObject({ authorityKeyId: null, number: 0x1000 });
  });

  it("without nextUpdate: null, and what follows read in its place; the CRL number before the key id", () => {
    expect(text("crl-no-next")).toMatch(/Next Update: NONE\n/);
    const decoded = decodeCrlOf("crl-no-next");
    expect(decoded).toMatchObject({ thisUpdate: "2027-01-01T00:00:00.000Z", nextUpdate: null, number: 5, authorityKeyId: "0102030405", entries: [{ serial: "010005", revokedAt: "2027-01-01T00:00:00.000Z", reason: "unspecified" }] });
    expect(verify(decoded.signatureHash, decoded.tbsDer, caKey(), decoded.signature)).toBe(true);
    expect(text("crl-minimal")).toMatch(/Version 1 \(0x0\)[\s\S]*Next Update: NONE\n/);
    expect(decodeCrlOf("crl-minimal")).toMatchObject({ issuer: { commonName: "Issuer CA" }, nextUpdate: null, number: null, authorityKeyId: null, entries: [] });
  });

  it("what no verifier takes but the decoder meets: every redundant leading zero byte of a serial dropped, a CRL number of no bytes is 0", () => {
    expect(decodeCrlOf("crl-hostile")).toMatchObject({ number: 0, entries: [{ serial: "ff" }] });
  });
});

describe("decodeCertificationRequest on requests openssl made", () => {
  const decodeCsr = (name: string) => decodeCertificationRequest(pemToDer(pemOf(name), "CERTIFICATE REQUEST")!);

  it("a challengePassword attribute beside the extension request is skipped", () => {
    expect(text("csr-challenge")).toMatch(/challengePassword\s*:fixture-challenge\n[\s\S]*DNS:c\.test/);
    expect(decodeCsr("csr-challenge")).toMatchObject({ subject: { commonName: "c" }, altNames: [{ type: "dns", value: "c.test" }] });
  });

  it("extensions other than subjectAltName in the request are not read as names", () => {
    expect(text("csr-eku")).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    expect(decodeCsr("csr-eku").altNames).toEqual([{ type: "dns", value: "e.test" }, { type: "ip", value: "10.0.0.1" }]);
  });

  it("a request without the attributes field: its subject and key, no alt names", () => {
    const decoded = decodeCsr("csr-no-attributes");
    expect(decoded).toMatchObject({ subject: { commonName: "Issuer CA" }, altNames: [] });
    expect(decoded.spki.equals(new X509Certificate(pemOf("ca")).publicKey.export({ type: "spki", format: "der" }))).toBe(true);
  });
});

describe("acmeIdentifierOf (a tls-alpn-01 answer, from the network)", () => {
  const digest = Buffer.alloc(32, 0x5a);
  const raw = (name: string) => new X509Certificate(pemOf(name)).raw;

  it("reads the critical extension's OCTET STRING; a non-critical one says so; other extensions before it are skipped", () => {
    expect(text("acme-critical")).toContain("1.3.6.1.5.5.7.1.31: critical");
    expect(acmeIdentifierOf(raw("acme-critical"))).toEqual({ critical: true, value: digest });
    expect(acmeIdentifierOf(raw("acme-plain"))).toEqual({ critical: false, value: digest });
    expect(acmeIdentifierOf(raw("acme-later"))).toEqual({ critical: true, value: digest });
  });

  it("null without the extension, when it wraps something other than an OCTET STRING, and for bytes that are no certificate", () => {
    expect(acmeIdentifierOf(raw("san-only"))).toBeNull();
    expect(acmeIdentifierOf(raw("v1"))).toBeNull();
    expect(acmeIdentifierOf(raw("acme-utf8"))).toBeNull();
    expect(acmeIdentifierOf(raw("acme-sequence"))).toBeNull();
    expect(acmeIdentifierOf(Buffer.from("3003020101", "hex"))).toBeNull();
    // Forms only a hand-made certificate has (DER forbids both), read from a bare TBSCertificate's extensions:
    // an explicit critical FALSE is not critical; a constructed OCTET STRING is no digest.
    const bare = (critical: Buffer[], value: Buffer) => sequence([sequence([explicit(3, [sequence([sequence([oid("1.3.6.1.5.5.7.1.31"), ...critical, octetString(value)])])])])]);
    expect(acmeIdentifierOf(bare([Buffer.from("010100", "hex")], octetString(digest)))).toEqual({ critical: false, value: digest });
    expect(acmeIdentifierOf(bare([Buffer.from("0101ff", "hex")], octetString(digest)))).toEqual({ critical: true, value: digest });
    expect(acmeIdentifierOf(bare([Buffer.from("0101ff", "hex")], tlv(0x24, octetString(digest))))).toBeNull();
    expect(acmeIdentifierOf(Buffer.alloc(0))).toBeNull();
  });
});

describe("decodeKeyEncryption (how a key file on disk is protected)", () => {
  it("PBES2 with PBKDF2: the PRF (SHA-1 when the field is left out), the iterations, the salt's length, the cipher", () => {
    expect(decodeKeyEncryption(read("sha512.der"))).toEqual({ prf: "sha512", iterations: 1000, saltLength: 8, cipher: "aes-256-cbc" });
    expect(read("sha1.asn1").toString()).not.toContain("hmacWithSHA1");
    expect(decodeKeyEncryption(read("sha1.der"))).toEqual({ prf: "sha1", iterations: 70000, saltLength: 8, cipher: "aes-256-cbc" });
    expect(decodeKeyEncryption(read("aes128.der"))).toEqual({ prf: "sha256", iterations: 1, saltLength: 8, cipher: "2.16.840.1.101.3.4.1.2" });
    expect(decodeKeyEncryption(read("sha224.der"))?.prf).toBe("1.2.840.113549.2.8");
    // The optional keyLength INTEGER before the PRF is not taken for it (openssl decrypted this key in beforeAll).
    expect(decodeKeyEncryption(read("keylength.der"))).toEqual({ prf: "sha256", iterations: 1000, saltLength: 16, cipher: "aes-256-cbc" });
    expect(decodeKeyEncryption(encodeEncryptedPrivateKeyInfo({ salt: Buffer.alloc(20, 1), iterations: 0x1234567, iv: Buffer.alloc(16), ciphertext: Buffer.alloc(16) }))).toEqual({ prf: "sha256", iterations: 0x1234567, saltLength: 20, cipher: "aes-256-cbc" });
  });

  it("null for PBES1, for scrypt, for a plain key and for bytes that are no key", () => {
    expect(read("pbes1.asn1").toString()).toContain("pbeWithSHA1And3-KeyTripleDES-CBC");
    expect(decodeKeyEncryption(read("pbes1.der"))).toBeNull();
    expect(read("scrypt.asn1").toString()).toContain(":scrypt\n");
    expect(decodeKeyEncryption(read("scrypt.der"))).toBeNull();
    expect(decodeKeyEncryption(pemToDer(read("k.pem").toString(), "PRIVATE KEY")!)).toBeNull();
    expect(decodeKeyEncryption(Buffer.from("3003020101", "hex"))).toBeNull();
    expect(decodeKeyEncryption(Buffer.alloc(0))).toBeNull();
  });
});
