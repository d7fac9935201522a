import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, beforeAll } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";
import { certText } from "../helpers/openssl.js";
import { certtoolVerify, goVerify, opensslChain } from "../helpers/verifiers.js";
import { requireTool } from "../helpers/require-tool.js";

const CONSTRAINED = `version: 1
cas:
  root: { nameConstraints: { permitted: [localhost, .test, 127.0.0.0/8, "::1/128", "@example.test"] } }
  intermediate: { issuer: root, validity: 1y }
`;

/** Signs a client certificate with the intermediate's key by the openssl CLI, bypassing provision's checks. */
async function forgeClient(dir: string, out: string, subject: string, san: string | null): Promise<{ leaf: string; chain: string }> {
  const base = path.join(dir, subject.replace(/\W/g, "_"));
  writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n${san ? `subjectAltName=${san}\n` : ""}`);
  await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", subject]);
  await execa("openssl", ["x509", "-req", "-in", `${base}.csr`, "-CA", path.join(out, "cas/intermediate/cert.pem"), "-CAkey", path.join(out, "cas/intermediate/key.pem"), "-days", "30", "-extfile", `${base}.ext`, "-out", `${base}.pem`]);
  writeFileSync(`${base}.chain.pem`, readFileSync(`${base}.pem`, "utf8") + readFileSync(path.join(out, "cas/intermediate/cert.pem"), "utf8"));
  return { leaf: `${base}.pem`, chain: `${base}.chain.pem` };
}

describe("a commonName cannot escape name constraints", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("certtool", "gnutls-bin"); requireTool("go", "golang-go"); });
  it("a client's host-like or email commonName outside the constraints is a located error; display names are fine", async () => {
    const p = project(`${CONSTRAINED}clients:
  bob.corp.example.com: { issuer: intermediate }
  carol: { issuer: intermediate, commonName: carol.evil.com }
  erin: { issuer: intermediate, commonName: erin@evil.com }
  ip: { issuer: intermediate, commonName: 10.1.2.3 }
  dave: { issuer: intermediate, commonName: Dave Smith }
  under_score.evil.com: { issuer: intermediate }
`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    const outside = (what: string, why: string) => new RegExp(`commonName "${what}" \\(verifiers hold a commonName that reads as a host, IP or email to the constraints too\\) is outside the name constraints of CA root \\(cas\\.root\\.nameConstraints, line 3\\): ${why}`);
    expect(run.stderr).toMatch(/^pki\.yaml:6:3 clients\["bob\.corp\.example\.com"\]\.commonName: /m);
    expect(run.stderr).toMatch(outside("bob\\.corp\\.example\\.com", "not within the permitted DNS names"));
    expect(run.stderr).toMatch(/^pki\.yaml:7:46 clients\.carol\.commonName: /m);
    expect(run.stderr).toMatch(outside("carol\\.evil\\.com", "not within the permitted DNS names"));
    expect(run.stderr).toMatch(outside("erin@evil\\.com", "not within the permitted email domains"));
    expect(run.stderr).toMatch(outside("10\\.1\\.2\\.3", "not within the permitted IP ranges"));
    // OpenSSL reads a CN with `_` as a host name too, although it is not a valid one.
    expect(run.stderr).toMatch(outside("under_score\\.evil\\.com", "not within the permitted DNS names"));
    expect(run.stderr).not.toMatch(/dave|Dave/);
    expect(run.stderr).toMatch(/is not valid \(5 problems\)/);
    expect(snapshotTree(p.out)).toEqual({});
  });

  it("openssl, GnuTLS and Go accept a client whose commonName is inside; openssl refuses a forged twin outside, the others check SANs only", async () => {
    const p = project(`${CONSTRAINED}clients:
  bob.test: { issuer: intermediate }
  dave: { issuer: intermediate, commonName: Dave Smith, altNames: [dave@example.test] }
`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const bundle = path.join(p.out, "ca-bundle.pem");
    const intermediate = path.join(p.out, "cas/intermediate/cert.pem");
    for (const name of ["bob.test", "dave"]) {
      const dir = path.join(p.out, "clients", name);
      const leaf = path.join(dir, "cert.pem");
      expect((await opensslChain(bundle, intermediate, leaf, ["-purpose", "sslclient"])).ok, name).toBe(true);
      expect((await certtoolVerify(bundle, path.join(dir, "fullchain.pem"))).ok, name).toBe(true);
      expect((await goVerify(bundle, intermediate, leaf)).output.trim(), name).toBe("OK");
    }

    const cnTwin = await forgeClient(p.dir, p.out, "/CN=carol.evil.com", null);
    const cnOpenssl = await opensslChain(bundle, intermediate, cnTwin.leaf, ["-purpose", "sslclient"]);
    expect(cnOpenssl.ok).toBe(false);
    expect(cnOpenssl.output).toMatch(/permitted subtree violation/);
    // GnuTLS (3.7) and Go check name constraints on the SAN only: the commonName twin passes there.
    // OpenSSL, and so Node and curl, refuse it: provision follows the strictest verifier.
    expect((await certtoolVerify(bundle, cnTwin.chain)).ok).toBe(true);
    expect((await goVerify(bundle, intermediate, cnTwin.leaf)).ok).toBe(true);

    const sanTwin = await forgeClient(p.dir, p.out, "/CN=Mallory", "DNS:mallory.evil.com");
    expect((await opensslChain(bundle, intermediate, sanTwin.leaf, ["-purpose", "sslclient"])).ok).toBe(false);
    expect((await certtoolVerify(bundle, sanTwin.chain)).ok).toBe(false);
    const goSan = await goVerify(bundle, intermediate, sanTwin.leaf);
    expect(goSan.ok).toBe(false);
    expect(goSan.output).toMatch(/not permitted/);
  });

  it("sign --csr refuses a request whose commonName is outside the constraints, and signs one inside", async () => {
    const p = project(CONSTRAINED);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const request = async (cn: string) => {
      const file = path.join(p.dir, `${cn}.csr`);
      await execa("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(p.dir, `${cn}.key`), "-out", file, "-subj", `/CN=${cn}`]);
      return file;
    };
    const bad = await provision(["sign", "--csr", await request("www.bank.com"), "--issuer", "intermediate", "--profile", "client"], { cwd: p.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/www\.bank\.com\.csr: the commonName "www\.bank\.com" \(verifiers hold .*\) is outside the name constraints of CA root: not within the permitted DNS names/);
    const badServer = await provision(["sign", "--csr", await request("a-.test"), "--issuer", "intermediate", "--profile", "server"], { cwd: p.dir });
    expect(badServer.code).toBe(1);
    expect(badServer.stderr).toMatch(/commonName "a-\.test" looks like a host name but is not a valid one/);

    const out = path.join(p.dir, "signed.pem");
    const good = await provision(["sign", "--csr", await request("www.bank.test"), "--issuer", "intermediate", "--profile", "client", "--out", out], { cwd: p.dir });
    expect(good.code, good.stderr).toBe(0);
    const bundle = path.join(p.out, "ca-bundle.pem");
    const intermediate = path.join(p.out, "cas/intermediate/cert.pem");
    expect((await opensslChain(bundle, intermediate, out, ["-purpose", "sslclient"])).ok).toBe(true);
    writeFileSync(path.join(p.dir, "signed-chain.pem"), readFileSync(out, "utf8") + readFileSync(intermediate, "utf8"));
    expect((await certtoolVerify(bundle, path.join(p.dir, "signed-chain.pem"))).ok).toBe(true);
    expect((await goVerify(bundle, intermediate, out)).ok).toBe(true);
  });
});

describe("a server's commonName is a host name like its alt names", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("an IP commonName becomes an IP SAN, not DNS:127.0.0.1; re-running changes nothing", async () => {
    const p = project(`version: 1
cas:
  root: { nameConstraints: { permitted: [.test, 127.0.0.0/8] } }
servers:
  web: { issuer: root, commonName: 127.0.0.1, altNames: [web.test] }
`);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    const cert = new X509Certificate(readFileSync(path.join(p.out, "servers/web/cert.pem")));
    expect(cert.subjectAltName).toBe("IP Address:127.0.0.1, DNS:web.test");
    const bundle = path.join(p.out, "ca-bundle.pem");
    const leaf = path.join(p.out, "servers/web/cert.pem");
    expect((await opensslChain(bundle, bundle, leaf, ["-verify_ip", "127.0.0.1"])).ok).toBe(true);
    expect((await provision(["plan"], { cwd: p.dir })).code).toBe(0);
  });
});

const TIMES = `version: 1
cas:
  root: { validity: 1000y }
servers:
  web: { issuer: root, altNames: [web.test], validity: 30d }
`;

/** The ASN.1 time types of notBefore and notAfter, as openssl asn1parse prints them. */
async function timeFields(certFile: string): Promise<string[]> {
  const parsed = (await execa("openssl", ["asn1parse", "-in", certFile])).stdout;
  return [...parsed.matchAll(/prim: (UTCTIME|GENERALIZEDTIME)\s*:(\S+)/g)].slice(0, 2).map((m) => `${m[1]}:${m[2]}`);
}

describe("times at the edges of X.509", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("certtool", "gnutls-bin"); requireTool("go", "golang-go"); });
  it("encodes UTCTime for 1950-2049 and GeneralizedTime otherwise; openssl, GnuTLS and Go read every one; re-runs change nothing", async () => {
    const p = project(TIMES);
    expect((await provision(["--now", "1950-01-01T00:00:00Z"], { cwd: p.dir })).code).toBe(0);
    const root = path.join(p.out, "cas/root/cert.pem");
    const web = path.join(p.out, "servers/web/cert.pem");
    // notBefore is backdated 5 minutes into 1949: GeneralizedTime, not a UTCTime that reads as 2049.
    expect(await timeFields(web)).toEqual(["GENERALIZEDTIME:19491231235500Z", "UTCTIME:500131000000Z"]);
    expect(await timeFields(root)).toEqual(["GENERALIZEDTIME:19491231235500Z", "GENERALIZEDTIME:29490503000000Z"]);
    expect(new X509Certificate(readFileSync(web)).validFrom).toBe("Dec 31 23:55:00 1949 GMT");
    const at1950 = Date.UTC(1950, 0, 2) / 1000;
    expect((await opensslChain(root, root, web, ["-attime", String(at1950)])).ok).toBe(true);
    expect((await goVerify(root, root, web, at1950)).ok).toBe(true);
    expect((await provision(["plan", "--now", "1950-01-02T00:00:00Z"], { cwd: p.dir })).code).toBe(0);

    // The last moment --now allows: a 1000y root then ends in May 9999, inside what GeneralizedTime can carry.
    const q = project(TIMES);
    expect((await provision(["--now", "8999-12-31T23:59:59Z"], { cwd: q.dir })).code).toBe(0);
    const lateRoot = path.join(q.out, "cas/root/cert.pem");
    expect(await timeFields(lateRoot)).toEqual(["GENERALIZEDTIME:89991231235459Z", "GENERALIZEDTIME:99990503235959Z"]);
    const at9000 = Date.UTC(9000, 0, 2) / 1000;
    expect((await opensslChain(lateRoot, lateRoot, path.join(q.out, "servers/web/cert.pem"), ["-attime", String(at9000)])).ok).toBe(true);
    expect((await goVerify(lateRoot, lateRoot, path.join(q.out, "servers/web/cert.pem"), at9000)).ok).toBe(true);
    expect(await certText(lateRoot)).toMatch(/Not After : May  3 23:59:59 9999 GMT/);
    expect((await provision(["plan", "--now", "8999-12-31T23:59:59Z"], { cwd: q.dir })).code).toBe(0);
    // Today: UTCTime until 2049, GeneralizedTime after (the root's 1000 years).
    const r = project(TIMES);
    expect((await provision([], { cwd: r.dir })).code).toBe(0);
    const [notBefore, notAfter] = await timeFields(path.join(r.out, "cas/root/cert.pem"));
    expect(notBefore).toMatch(/^UTCTIME:\d{12}Z$/);
    expect(notAfter).toMatch(/^GENERALIZEDTIME:\d{14}Z$/);
  });

  it("a validity longer than 1000y is a located error, not a crash or an unreadable certificate", async () => {
    for (const validity of ["1001y", "9999y", "999999y", "999999w"]) {
      const p = project(TIMES.replace("validity: 1000y", `validity: ${validity}`));
      const run = await provision([], { cwd: p.dir });
      expect(run.code, validity).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^pki\\.yaml:3:\\d+ cas\\.root\\.validity: duration ${validity} is longer than 1000y, the longest provision accepts`, "m"));
      expect(snapshotTree(p.out)).toEqual({});
    }
  });

  it("--now takes a full ISO-8601 time with a zone between 1950 and 8999, or +duration; nothing else", async () => {
    const p = project(TIMES);
    for (const [now, why] of [
      ["0", "not a full ISO-8601 time with a zone"],
      ["1", "not a full ISO-8601 time with a zone"],
      ["2027-01-01", "not a full ISO-8601 time with a zone"],
      ["2027-01-01T00:00:00", "not a full ISO-8601 time with a zone"],
      ["2027-02-30T00:00:00Z", "not a valid date and time"],
      ["2027-01-01T24:00:00Z", "not a valid date and time"],
      ["1949-12-31T23:59:59Z", "outside the years 1950 to 8999"],
      ["9000-01-01T00:00:00Z", "outside the years 1950 to 8999"],
      ["+9999y", "longer than 1000y"],
      ["+0d", "malformed duration"],
    ] as const) {
      const run = await provision(["plan", "--now", now], { cwd: p.dir });
      expect(run.code, now).toBe(1);
      expect(run.stderr, now).toContain(`error: --now ${now}: `);
      expect(run.stderr, now).toContain(why);
    }
    expect(snapshotTree(p.out)).toEqual({});
    const clock = { now: () => new Date("2027-03-01T10:00:00Z") };
    const offset = await provision(["plan", "--json", "--now", "+30d"], { cwd: p.dir, deps: clock });
    expect(JSON.parse(offset.stdout).now).toBe("2027-03-31T10:00:00.000Z");
    const zoned = await provision(["plan", "--json", "--now", "2027-03-01T12:00:00+02:00"], { cwd: p.dir, deps: clock });
    expect(JSON.parse(zoned.stdout).now).toBe("2027-03-01T10:00:00.000Z");
  });
});

describe("lifetime lint judges notAfter − notBefore as written", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); });
  it("validity 825d lives 825 days and 5 minutes: a warning, and an error with --strict; 824d passes", async () => {
    const yaml = (validity: string) => `version: 1\ncas:\n  root: { validity: 10y }\nservers:\n  web: { issuer: root, altNames: [web.test], validity: ${validity} }\n`;
    const p = project(yaml("825d"));
    const plan = await provision(["plan"], { cwd: p.dir });
    expect(plan.stderr).toMatch(/^pki\.yaml:5:56 servers\.web\.validity: warning: validity 825d makes a certificate that lives longer than 825 days \(notBefore is backdated 5 minutes for clock skew\).*use 824d or less/m);
    expect((await provision(["plan", "--strict"], { cwd: p.dir })).code).toBe(1);
    p.write(yaml("824d"));
    const ok = await provision(["--strict"], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/warning/);
    const cert = new X509Certificate(readFileSync(path.join(p.out, "servers/web/cert.pem")));
    expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBe((824 * 86_400 + 300) * 1000);
  });

  it("lint.maxLeafValidity 398d with validity 398d warns (398 days and 5 minutes); 397d does not", async () => {
    const yaml = (validity: string) => `version: 1\nlint: { maxLeafValidity: 398d }\ncas:\n  root: { validity: 10y }\nclients:\n  bot: { issuer: root, validity: ${validity} }\n`;
    const p = project(yaml("398d"));
    const plan = await provision(["plan", "--strict"], { cwd: p.dir });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/clients\.bot\.validity: warning: validity 398d makes a certificate that lives longer than lint\.maxLeafValidity 398d .*use 397d or less/);
    p.write(yaml("397d"));
    expect((await provision(["plan", "--strict"], { cwd: p.dir })).code).toBe(2);
  });
});
