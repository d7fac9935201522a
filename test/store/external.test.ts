import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPki } from "../../src/api.js";
import type { Config } from "../../src/config/types.js";
import { ProvisionError } from "../../src/errors.js";
import { loadExternalCas, observeExternal, readExternalCas } from "../../src/store/external.js";
import { requireTool } from "../helpers/require-tool.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { fixtureFolder } from "../helpers/fixtures.js";
import { execaLogged } from "../helpers/spawn.js";
import { execa } from "execa";

/**
 * External CAs in process (store/external.ts), against certificates and keys openssl made: the walk up to a
 * self-signed root through the files pki.yaml names, what ca-bundle.pem would publish, the limits handed to
 * config/, each refusal with its message, and the key checked against the certificate. The CLI scenarios are
 * test/e2e/external-ca.e2e.test.ts.
 */
let dir: string;

async function openssl(...args: string[]): Promise<void> {
  await execaLogged("openssl", args, { cwd: dir, env: { ...process.env, PASS: TEST_SECRETS.companyCa } });
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

let fixtures: { dir: string; drop: () => void } | undefined;

beforeAll(async () => {
  requireTool("openssl", "openssl");
  fixtures = await fixtureFolder("provision-external-", "external.test.ts", async (building) => {
    dir = building;
    // root (pathlen 1, constrained to .test) → int, and → a CA certificate without keyCertSign; another root.
    await openssl("req", "-x509", ...ec, "-keyout", "root-key.pem", "-out", "root.pem", "-days", "30", "-subj", "/CN=Ext Root/O=Ext", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "nameConstraints=critical,permitted;DNS:.test");
    await openssl("req", "-x509", ...ec, "-keyout", "other-key.pem", "-out", "other.pem", "-days", "30", "-subj", "/CN=Other Root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    await openssl("req", "-x509", ...ec, "-keyout", "nousage-key.pem", "-out", "nousage.pem", "-days", "30", "-subj", "/CN=No Usage", "-addext", "basicConstraints=critical,CA:TRUE");
    await openssl("req", "-new", ...ec, "-keyout", "int-key.pem", "-out", "int.csr", "-subj", "/CN=Ext Int");
    writeFileSync(path.join(dir, "int.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
    await openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root-key.pem", "-CAcreateserial", "-days", "20", "-extfile", "int.ext", "-out", "int.pem");
    await openssl("req", "-new", ...ec, "-keyout", "nosign-key.pem", "-out", "nosign.csr", "-subj", "/CN=No Sign");
    writeFileSync(path.join(dir, "nosign.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n");
    await openssl("x509", "-req", "-in", "nosign.csr", "-CA", "root.pem", "-CAkey", "root-key.pem", "-CAcreateserial", "-days", "20", "-extfile", "nosign.ext", "-out", "nosign.pem");
    // A self-signed CA whose keyUsage lacks keyCertSign, its twin (same key and name) with it, and a leaf signed by
    // each; a root without keyCertSign that signed an intermediate anyway.
    await openssl("req", "-x509", ...ec, "-keyout", "selfnosign-key.pem", "-out", "selfnosign.pem", "-days", "30", "-subj", "/CN=Self/O=Ext", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,cRLSign");
    await openssl("req", "-x509", "-key", "selfnosign-key.pem", "-out", "selftwin.pem", "-days", "30", "-subj", "/CN=Self/O=Ext", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    await openssl("req", "-new", ...ec, "-keyout", "leaf-key.pem", "-out", "leaf.csr", "-subj", "/CN=leaf.test");
    writeFileSync(path.join(dir, "leaf.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:leaf.test\n");
    for (const ca of ["selfnosign", "selftwin"]) {
      await openssl("x509", "-req", "-in", "leaf.csr", "-CA", `${ca}.pem`, "-CAkey", "selfnosign-key.pem", "-CAcreateserial", "-days", "5", "-extfile", "leaf.ext", "-out", `leaf-of-${ca}.pem`);
    }
    await openssl("req", "-new", "-key", "int-key.pem", "-out", "int2.csr", "-subj", "/CN=Under Self");
    await openssl("x509", "-req", "-in", "int2.csr", "-CA", "selfnosign.pem", "-CAkey", "selfnosign-key.pem", "-CAcreateserial", "-days", "20", "-extfile", "int.ext", "-out", "under-selfnosign.pem");
    await openssl("req", "-x509", ...ec, "-keyout", "selftwin-other-key.pem", "-out", "selftwin-other.pem", "-days", "30", "-subj", "/CN=Self/O=Ext", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,cRLSign");
    await openssl("pkcs8", "-topk8", "-in", "root-key.pem", "-out", "root-key-encrypted.pem", "-v2", "aes-256-cbc", "-passout", "env:PASS");
    const read = (name: string) => readFileSync(path.join(dir, name), "utf8");
    // A certificate of selfnosign's key under another name and without keyCertSign: not the issuer of what that key signed.
    await openssl("req", "-x509", "-key", "selfnosign-key.pem", "-out", "alias.pem", "-days", "30", "-subj", "/CN=Alias", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature");
    // A line of eleven CAs, each signing the next: deep0 (the root) → deep1 → … → deep10.
    await openssl("req", "-x509", ...ec, "-keyout", "deep0-key.pem", "-out", "deep0.pem", "-days", "30", "-subj", "/CN=Deep 0", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    writeFileSync(path.join(dir, "deep.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    for (let i = 1; i <= 10; i++) {
      await openssl("req", "-new", ...ec, "-keyout", `deep${i}-key.pem`, "-out", `deep${i}.csr`, "-subj", `/CN=Deep ${i}`);
      await openssl("x509", "-req", "-in", `deep${i}.csr`, "-CA", `deep${i - 1}.pem`, "-CAkey", `deep${i - 1}-key.pem`, "-CAcreateserial", "-days", "20", "-extfile", "deep.ext", "-out", `deep${i}.pem`);
    }
    writeFileSync(path.join(dir, "deep-chain.pem"), Array.from({ length: 10 }, (_, i) => read(`deep${i}.pem`)).join(""));
    // The intermediate with the root in the same file, in CRLF; a bundle holding both roots (one twice), a CA that is
    // no root (int) and one Node does not count as a CA (nosign: its keyUsage lacks keyCertSign).
    writeFileSync(path.join(dir, "int-and-root.pem"), `${read("int.pem")}${read("root.pem")}`.replace(/\n/g, "\r\n"));
    writeFileSync(path.join(dir, "bundle.pem"), `${read("other.pem")}${read("nosign.pem")}${read("int.pem")}${read("root.pem")}${read("root.pem")}`);
    writeFileSync(path.join(dir, "empty.pem"), "no certificate here\n");
    writeFileSync(path.join(dir, "broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    writeFileSync(path.join(dir, "garbage-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  });
  dir = fixtures.dir;
}, 60_000);
// The cases are removed one by one: the fixture folder they sit in may be shared (test/helpers/fixtures.ts).
const cases: string[] = [];
afterAll(() => {
  for (const dir of cases) rmSync(dir, { recursive: true, force: true });
  fixtures?.drop();
});

/** A config with one external CA `ext` (its external block as YAML), and optionally more below. */
async function configWith(external: string, more = "", passphraseEnv = ""): Promise<Config> {
  const sub = realpathSync(mkdtempSync(path.join(dir, "case-")));
  cases.push(sub);
  writeFileSync(path.join(sub, "pki.yaml"), `version: 1\ncas:\n  ext:\n    external: ${external}\n${passphraseEnv}${more}`);
  return (await loadPki("pki.yaml", { cwd: sub, env: { ...process.env, XDG_CACHE_HOME: path.join(sub, "cache") } })).config;
}

const text = (name: string) => readFileSync(path.join(dir, name), "utf8");

async function refusal(run: () => unknown): Promise<ProvisionError> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ProvisionError);
  return error as ProvisionError;
}

describe("readExternalCas", () => {
  it("a self-signed root with its key: no upstream, itself as the root, its limits from its certificate", async () => {
    const config = await configWith("{ cert: ../root.pem, key: ../root-key.pem }");
    const ext = readExternalCas(config).get("ext")!;
    expect(ext.certFile).toBe(path.join(dir, "root.pem"));
    expect(ext.keyFile).toBe(path.join(dir, "root-key.pem"));
    expect(ext.certPem).toBe(text("root.pem"));
    expect(ext.keyPem).toBe(text("root-key.pem"));
    expect(ext.upstream).toEqual([]);
    expect(ext.roots).toEqual([text("root.pem")]);
    expect(ext.facts.subject).toEqual({ commonName: "Ext Root", organization: "Ext" });
    expect(ext.limits).toMatchObject({ subject: ext.facts.subject, keyType: "ecdsa-p256", isCa: true, canSign: true, pathLength: 1, upstream: [], certFile: "../root.pem" });
    expect(ext.limits.nameConstraints).toEqual(ext.facts.nameConstraints);
    expect(ext.limits.nameConstraints?.permitted).toHaveLength(1);
    expect(ext.limits.lifetimeSeconds).toBe(30 * 86400);
  });

  it("an intermediate: walked up by signature to its root through cert and chain, CRLF read as LF, every self-signed CA of the chain published once", async () => {
    const config = await configWith("{ cert: ../int-and-root.pem, chain: ../bundle.pem }");
    const ext = readExternalCas(config).get("ext")!;
    expect(ext.keyFile).toBeNull();
    expect(ext.keyPem).toBeNull();
    expect(ext.certPem).toBe(text("int.pem"));
    expect(ext.upstream).toEqual([text("root.pem")]);
    expect(ext.roots).toEqual([text("root.pem"), text("other.pem")]);
    expect(ext.limits.pathLength).toBe(0);
    expect(ext.limits.lifetimeSeconds).toBe(20 * 86400);
    expect(ext.limits.upstream).toEqual([{ subject: "CN=Ext Root, O=Ext", pathLength: 1, nameConstraints: ext.limits.upstream[0]!.nameConstraints, file: "../int-and-root.pem" }]);
    expect(ext.limits.upstream[0]!.nameConstraints?.permitted).toHaveLength(1);
  });

  it("a CA certificate whose key usage lacks keyCertSign cannot sign; one without key usage can", async () => {
    const nosign = readExternalCas(await configWith("{ cert: ../nosign.pem, chain: ../root.pem }")).get("ext")!.limits;
    expect(nosign.canSign).toBe(false);
    expect(nosign.upstream.map((u) => u.file)).toEqual(["../root.pem"]);
    expect(readExternalCas(await configWith("{ cert: ../nousage.pem }")).get("ext")!.limits.canSign).toBe(true);
  });

  it("an intermediate without its issuer in the files: refused, naming both and the files looked in", async () => {
    const alone = await refusal(async () => readExternalCas(await configWith("{ cert: ../int.pem }")));
    expect(alone.code).toBe("external-ca");
    expect(alone.message).toBe("external CA ext: the issuer of CN=Ext Int (CN=Ext Root, O=Ext) is not in ../int.pem");
    expect(alone.hint).toMatch(/^give the certificates above it, up to the self-signed root, with external\.chain/);
    const wrongChain = await refusal(async () => readExternalCas(await configWith("{ cert: ../int.pem, chain: ../other.pem }")));
    expect(wrongChain.message).toBe("external CA ext: the issuer of CN=Ext Int (CN=Ext Root, O=Ext) is not in ../int.pem or ../other.pem");
  });

  it("a self-signed CA whose keyUsage lacks keyCertSign: refused for that (as openssl verify refuses what it signs), not as an issuer missing; its twin with keyCertSign is read", async () => {
    const nosign = await refusal(async () => readExternalCas(await configWith("{ cert: ../selfnosign.pem, key: ../selfnosign-key.pem }")));
    expect(nosign.code).toBe("external-ca");
    expect(nosign.message).toBe("external CA ext: CN=Self, O=Ext (in ../selfnosign.pem) is self-signed, but its keyUsage lacks keyCertSign, so verifiers will not accept it as a CA");
    expect(nosign.hint).toBe("make that certificate again with keyCertSign in its keyUsage (openssl: -addext keyUsage=critical,keyCertSign,cRLSign), with the same key");
    const twin = readExternalCas(await configWith("{ cert: ../selftwin.pem, key: ../selfnosign-key.pem }")).get("ext")!;
    expect(twin.upstream).toEqual([]);
    expect(twin.roots).toEqual([text("selftwin.pem")]);
    expect(twin.limits.canSign).toBe(true);
    // What verifiers say of a leaf each signed: the refusal above is theirs.
    const verify = (ca: string) => execa("openssl", ["verify", "-x509_strict", "-CAfile", path.join(dir, `${ca}.pem`), path.join(dir, `leaf-of-${ca}.pem`)], { reject: false });
    const refused = await verify("selfnosign");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/key usage does not include certificate signing/);
    expect((await verify("selftwin")).exitCode).toBe(0);
  });

  it("an intermediate signed by a root whose keyUsage lacks keyCertSign: refused naming that root and the file it is in", async () => {
    const inChain = await refusal(async () => readExternalCas(await configWith("{ cert: ../under-selfnosign.pem, chain: ../selfnosign.pem }")));
    expect(inChain.code).toBe("external-ca");
    expect(inChain.message).toBe("external CA ext: CN=Self, O=Ext (in ../selfnosign.pem) signs CN=Under Self, but its keyUsage lacks keyCertSign, so verifiers will not accept it as a CA");
    writeFileSync(path.join(dir, "under-and-root.pem"), `${text("under-selfnosign.pem")}${text("selfnosign.pem")}`);
    const inCert = await refusal(async () => readExternalCas(await configWith("{ cert: ../under-and-root.pem, chain: ../other.pem }")));
    expect(inCert.message).toBe("external CA ext: CN=Self, O=Ext (in ../under-and-root.pem) signs CN=Under Self, but its keyUsage lacks keyCertSign, so verifiers will not accept it as a CA");
    // Another CA of the same name, whose key did not sign it, is no such issuer: the issuer is missing.
    const stranger = await refusal(async () => readExternalCas(await configWith("{ cert: ../under-selfnosign.pem, chain: ../selftwin-other.pem }")));
    expect(stranger.message).toBe("external CA ext: the issuer of CN=Under Self (CN=Self, O=Ext) is not in ../under-selfnosign.pem or ../selftwin-other.pem");
  });

  it("a certificate file holding other PEM blocks too (a key before the certificate): the certificates are read, the rest ignored", async () => {
    writeFileSync(path.join(dir, "key-and-root.pem"), `${text("root-key.pem")}${text("root.pem")}`);
    const ext = readExternalCas(await configWith("{ cert: ../key-and-root.pem }")).get("ext")!;
    expect(ext.certPem).toBe(text("root.pem"));
    expect(ext.roots).toEqual([text("root.pem")]);
  });

  it("a certificate of the signing key under another name, without keyCertSign, is not taken for the issuer: the issuer is missing", async () => {
    const alias = await refusal(async () => readExternalCas(await configWith("{ cert: ../under-selfnosign.pem, chain: ../alias.pem }")));
    expect(alias.message).toBe("external CA ext: the issuer of CN=Under Self (CN=Self, O=Ext) is not in ../under-selfnosign.pem or ../alias.pem");
  });

  it("at most nine certificates above the CA: a chain of nine is walked to its root, one of ten is refused", async () => {
    const nine = readExternalCas(await configWith("{ cert: ../deep9.pem, chain: ../deep-chain.pem }")).get("ext")!;
    expect(nine.upstream).toEqual(Array.from({ length: 9 }, (_, i) => text(`deep${8 - i}.pem`)));
    expect(nine.roots).toEqual([text("deep0.pem")]);
    const ten = await refusal(async () => readExternalCas(await configWith("{ cert: ../deep10.pem, chain: ../deep-chain.pem }")));
    expect(ten.code).toBe("external-ca");
    expect(ten.message).toBe("external CA ext: more than 9 certificates above CN=Deep 10 in ../deep10.pem or ../deep-chain.pem before a self-signed root");
    expect(ten.hint).toBe("provision follows at most 9 CA certificates up to the root; use a CA nearer its root");
  });

  it("files that are missing, hold no certificate, or a certificate that does not parse: refused with the file named", async () => {
    const missing = await refusal(async () => readExternalCas(await configWith("{ cert: ../nope.pem }")));
    expect(missing.code).toBe("external-ca");
    expect(missing.message).toMatch(/^the certificate of external CA ext: .*nope\.pem/);
    expect(missing.hint).toBe("external paths are relative to the folder holding pki.yaml");
    const chain = await refusal(async () => readExternalCas(await configWith("{ cert: ../int.pem, chain: ../nope.pem }")));
    expect(chain.message).toMatch(/^the chain of external CA ext: /);
    const key = await refusal(async () => readExternalCas(await configWith("{ cert: ../root.pem, key: ../nope.pem }")));
    expect(key.message).toMatch(/^the key of external CA ext: /);
    const empty = await refusal(async () => readExternalCas(await configWith("{ cert: ../empty.pem }")));
    expect(empty.code).toBe("external-ca");
    expect(empty.message).toBe("../empty.pem (external CA ext) holds no PEM certificate");
    expect(empty.hint).toBe("expected -----BEGIN CERTIFICATE----- blocks");
    const broken = await refusal(async () => readExternalCas(await configWith("{ cert: ../broken.pem }")));
    expect(broken.code).toBe("external-ca");
    expect(broken.message).toBe("../broken.pem (external CA ext) holds a certificate that does not parse");
    const brokenChain = await refusal(async () => readExternalCas(await configWith("{ cert: ../int.pem, chain: ../empty.pem }")));
    expect(brokenChain.message).toBe("../empty.pem (external CA ext) holds no PEM certificate");
  });
});

describe("loadExternalCas", () => {
  it("a config without external CAs is returned as is", async () => {
    const sub = realpathSync(mkdtempSync(path.join(dir, "case-")));
    cases.push(sub);
    writeFileSync(path.join(sub, "pki.yaml"), "version: 1\ncas:\n  root: {}\n");
    const config = (await loadPki("pki.yaml", { cwd: sub })).config;
    const loaded = loadExternalCas(config);
    expect(loaded.config).toBe(config);
    expect(loaded.externals.size).toBe(0);
  });

  it("fills the external CA's spec from its certificate, and refuses what it cannot issue, counting the problems", async () => {
    const config = await configWith("{ cert: ../root.pem, key: ../root-key.pem }", "servers:\n  web: { issuer: ext, altNames: [web.test] }\n");
    const loaded = loadExternalCas(config);
    expect(loaded.externals.get("ext")!.certPem).toBe(text("root.pem"));
    expect(loaded.config.identities.find((i) => i.name === "ext")!.subject.commonName).toBe("Ext Root");
    const one = await refusal(async () => loadExternalCas(await configWith("{ cert: ../root.pem, key: ../root-key.pem }", "servers:\n  web: { issuer: ext, altNames: [web.example.com] }\n")));
    expect(one.code).toBe("invalid-config");
    expect(one.message).toMatch(/asks for what its external CAs cannot issue \(1 problem\)$/);
    expect(one.diagnostics).toHaveLength(1);
    expect(one.hint).toBe("change pki.yaml, or use a CA whose certificate allows it; nothing was written");
    const two = await refusal(async () => loadExternalCas(await configWith("{ cert: ../root.pem, key: ../root-key.pem }", "servers:\n  web: { issuer: ext, altNames: [web.example.com, x.example.org] }\n")));
    expect(two.message).toMatch(/\(2 problems\)$/);
  });
});

describe("observeExternal", () => {
  async function observed(external: string, env: NodeJS.ProcessEnv = {}, passphraseEnv = "") {
    const config = await configWith(external, "", passphraseEnv);
    const { config: resolved, externals } = loadExternalCas(config);
    const id = resolved.identities.find((i) => i.name === "ext")!;
    return observeExternal(id, externals.get("ext")!, env);
  }

  it("without a key: the certificate as given, the key missing", async () => {
    const o = await observed("{ cert: ../root.pem }");
    expect(o.cert!.pem).toBe(text("root.pem"));
    expect(o.cert!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(o.cert!.facts.subject.commonName).toBe("Ext Root");
    expect(o).toMatchObject({ certProblem: null, keySha256: null, keyEncrypted: false, keyStatus: "missing", keyDetail: null, name: "ext", kind: "ca" });
  });

  it("its own key is ok; another CA's key is a mismatch naming both files; a key that does not parse is unreadable", async () => {
    const own = await observed("{ cert: ../root.pem, key: ../root-key.pem }");
    expect(own).toMatchObject({ keyStatus: "ok", keyDetail: null, keyEncrypted: false });
    expect(own.keySha256).toMatch(/^[0-9a-f]{64}$/);
    const other = await observed("{ cert: ../root.pem, key: ../other-key.pem }");
    expect(other.keyStatus).toBe("mismatch");
    expect(other.keyDetail).toBe(`${path.join(dir, "other-key.pem")} is not the key of ${path.join(dir, "root.pem")}`);
    const garbage = await observed("{ cert: ../root.pem, key: ../garbage-key.pem }");
    expect(garbage.keyStatus).toBe("unreadable");
    expect(garbage.keyDetail).not.toBeNull();
  });

  it("an encrypted key: locked without its variable or with the wrong passphrase, ok with the right one", async () => {
    const key = "{ cert: ../root.pem, key: ../root-key-encrypted.pem }";
    const variable = "    passphraseEnv: EXT_PASS\n";
    const none = await observed(key, {}, variable);
    expect(none).toMatchObject({ keyEncrypted: true, keyStatus: "locked", keyDetail: "encrypted, and no passphrase variable is set" });
    const wrong = await observed(key, { EXT_PASS: TEST_SECRETS.wrong }, variable);
    expect(wrong.keyStatus).toBe("locked");
    expect(wrong.keyDetail).toMatch(/EXT_PASS/);
    const right = await observed(key, { EXT_PASS: TEST_SECRETS.companyCa }, variable);
    expect(right).toMatchObject({ keyEncrypted: true, keyStatus: "ok", keyDetail: null });
  });
});
