import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPki } from "../../src/api.js";
import type { Config } from "../../src/config/types.js";
import { ProvisionError } from "../../src/errors.js";
import { nothingObserved, readCertificatePem, readDerivedFile, readKeyPem, readObservedState, unseen } from "../../src/store/read-state.js";
import { stampOf } from "../../src/store/stamp.js";
import { parseState } from "../../src/store/state-parse.js";
import { provisionBin } from "../helpers/cli.js";
import { fixtureFolder } from "../helpers/fixtures.js";
import { TEST_SECRETS } from "../helpers/secrets.js";

/**
 * readObservedState's fast path and its extra outputs, in process on copies of one real run: a tree exactly as
 * last written is trusted by its stamps (and nothing but the root's certificate is read); each difference from
 * state.json's stamps makes that identity, and the chains below it, read and checked again. Also: encrypted
 * keys (locked, wrong passphrase, weaker encryption than today's), the extra formats' files (missing, readable
 * by others), a folder a killed swap left aside, retired certificates, and the readers apply uses.
 * test/store/read-state.test.ts has the hostile-tree refusals.
 */
const YAML = `version: 1
cas:
  root: {}
  int: { issuer: root, passphraseEnv: INT_PASS }
servers:
  web: { issuer: int, altNames: [web.test], formats: [der, combined] }
clients:
  bob: { issuer: root, altNames: [bob@web.test], formats: [p12], p12PassphraseEnv: P12_PASS }
`;

let base: string;
let template: string;
const ENV = { INT_PASS: TEST_SECRETS.primary, P12_PASS: TEST_SECRETS.p12 };

let fixtures: { dir: string; drop: () => void } | undefined;

beforeAll(async () => {
  fixtures = await fixtureFolder("provision-read-trust-", YAML, async (dir) => {
    const at = path.join(dir, "template");
    mkdirSync(at);
    writeFileSync(path.join(at, "pki.yaml"), YAML);
    // The built binary in a child process: what beforeAll runs in the test process is static to Stryker.
    const run = await provisionBin([], { cwd: at, env: { ...process.env, ...ENV, XDG_CACHE_HOME: path.join(at, "cache") } });
    expect(run.code, run.stderr).toBe(0);
  });
  base = fixtures.dir;
  template = path.join(base, "template");
}, 60_000);
// The cases are removed one by one: the fixture folder they sit in may be shared (test/helpers/fixtures.ts).
const cases: string[] = [];
afterAll(() => {
  for (const dir of cases) rmSync(dir, { recursive: true, force: true });
  fixtures?.drop();
});

interface Tree {
  out: string;
  config: Config;
  env: NodeJS.ProcessEnv;
  state: () => Record<string, any>;
  writeState: (state: Record<string, any>) => void;
}

/** A copy of the template run; `restamp` runs provision over it once so that state.json's stamps are the copy's. */
async function fresh(restamp: boolean): Promise<Tree> {
  const dir = realpathSync(mkdtempSync(path.join(base, "case-")));
  cases.push(dir);
  cpSync(template, dir, { recursive: true });
  rmSync(path.join(dir, "cache"), { recursive: true, force: true });
  const env = { ...process.env, ...ENV, XDG_CACHE_HOME: path.join(dir, "cache") };
  const config = (await loadPki("pki.yaml", { cwd: dir, env })).config;
  // The built binary, not applyPki in process: a mutant of read-state.ts would otherwise shape the very record
  // (and file modes) it is then judged against, and agree with itself.
  if (restamp) {
    const run = await provisionBin([], { cwd: dir, env });
    expect(run.code, run.stderr).toBe(0);
  }
  const out = path.join(dir, "pki");
  const file = path.join(out, "state.json");
  return { out, config, env, state: () => JSON.parse(readFileSync(file, "utf8")), writeState: (s) => writeFileSync(file, JSON.stringify(s)) };
}

/** Replaces a file by a new one with the same content (a rename, as provision writes): only its stamp changes. */
function replaceSame(file: string): void {
  writeFileSync(`${file}.new`, readFileSync(file));
  chmodSync(`${file}.new`, 0o600);
  renameSync(`${file}.new`, file);
}

const text = (file: string) => readFileSync(file, "utf8");

describe("readObservedState's fast path", () => {
  it("a tree exactly as last written is trusted: facts and hashes from state.json, only the root's certificate read", async () => {
    const { out, config, env, state } = await fresh(true);
    const recorded = state().identities;
    const parsed = parseState(JSON.stringify(state())).state.identities;
    const observed = await readObservedState(config, env);
    expect(observed.problems).toEqual([]);
    for (const name of ["root", "int", "web", "bob"]) {
      const o = observed.identities.get(name)!;
      const r = recorded[name];
      expect({ name, trusted: o.trusted, sha: o.cert!.sha256, key: o.keySha256, facts: o.cert!.facts, stamps: o.stamps, signed: o.signedByIssuer, status: o.keyStatus, problem: o.certProblem })
        .toEqual({ name, trusted: true, sha: r.certSha256, key: r.keySha256, facts: parsed.get(name)!.facts, stamps: r.stamps, signed: true, status: "ok", problem: null });
      expect(o.chainPem).toBeUndefined();
      expect(o.fullchainPem).toBeUndefined();
      expect(o.missingFormatFiles).toEqual([]);
      expect(o.loosePrivateFiles).toEqual([]);
    }
    expect(observed.identities.get("root")!.cert!.pem).toBe(text(path.join(out, "cas/root/cert.pem")));
    for (const name of ["int", "web", "bob"]) expect(observed.identities.get(name)!.cert!.pem).toBeUndefined();
    expect(observed.identities.get("int")).toMatchObject({ keyEncrypted: true, keyEncryptionWeak: false });
    expect(observed.identities.get("web")).toMatchObject({ keyEncrypted: false, keyEncryptionWeak: false });
  });

  it("each stamp that differs from state.json's (cert, key, chain, fullchain) makes the identity read and its chains compared", async () => {
    for (const file of ["cert.pem", "key.pem", "chain.pem", "fullchain.pem"]) {
      const { out, config, env } = await fresh(true);
      replaceSame(path.join(out, "servers/web", file));
      const observed = await readObservedState(config, env);
      const web = observed.identities.get("web")!;
      expect({ file, trusted: web.trusted }).toEqual({ file, trusted: false });
      expect(web.cert!.pem).toBe(text(path.join(out, "servers/web/cert.pem")));
      expect(web.chainPem).toBe(text(path.join(out, "servers/web/chain.pem")));
      expect(web.fullchainPem).toBe(text(path.join(out, "servers/web/fullchain.pem")));
      // Its issuers' certificates are read for the comparison; bob's chain (all trusted) is not.
      expect(observed.identities.get("int")!.cert!.pem).toBe(text(path.join(out, "cas/int/cert.pem")));
      expect(observed.identities.get("bob")!.chainPem).toBeUndefined();
      expect(web).toMatchObject({ keyStatus: "ok", signedByIssuer: true, certProblem: null });
    }
  });

  it("an issuer that is not as last written makes the chains below it compared, though the leaf is", async () => {
    const { out, config, env } = await fresh(true);
    replaceSame(path.join(out, "cas/int/cert.pem"));
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("int")!.trusted).toBe(false);
    const web = observed.identities.get("web")!;
    expect(web.trusted).toBe(true);
    expect(web.chainPem).toBe(text(path.join(out, "servers/web/chain.pem")));
    expect(web.cert!.pem).toBe(text(path.join(out, "servers/web/cert.pem")));
    expect(observed.identities.get("bob")!.chainPem).toBeUndefined();
  });

  it("a record of another kind, or without stamps, vouches for nothing", async () => {
    const { config, env, state, writeState } = await fresh(true);
    const s = state();
    s.identities.web.kind = "client";
    // Its certificate's hash is right, its facts are not: a record of another kind must not lend them.
    s.identities.web.facts.altNames = ["dns:evil.test"];
    delete s.identities.bob.stamps;
    writeState(s);
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")!.trusted).toBe(false);
    expect(observed.identities.get("bob")!.trusted).toBe(false);
    expect(observed.identities.get("root")!.trusted).toBe(true);
    expect(observed.identities.get("web")!.cert!.facts.altNames).toEqual([{ type: "dns", value: "web.test" }]);
  });

  it("stamps that say a file is missing (null) never vouch for a missing certificate or key", async () => {
    const { out, config, env, state, writeState } = await fresh(true);
    const s = state();
    rmSync(path.join(out, "servers/web/cert.pem"));
    s.identities.web.stamps.cert = null;
    rmSync(path.join(out, "clients/bob/key.pem"));
    s.identities.bob.stamps.key = null;
    writeState(s);
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")).toMatchObject({ trusted: false, cert: null, certProblem: "missing" });
    expect(observed.identities.get("bob")).toMatchObject({ trusted: false, keyStatus: "missing", keySha256: null });
  });

  it("a trusted key recorded under an older encryption is read (header only) to see whether it needs re-encrypting", async () => {
    const { out, config, env, state, writeState } = await fresh(true);
    const keyFile = path.join(out, "cas/int/key.pem");
    // The same key, encrypted as provision 0.1 did (node's defaults: 2048 iterations, an 8-byte salt).
    const weak = createPrivateKey({ key: text(keyFile), passphrase: TEST_SECRETS.primary }).export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: TEST_SECRETS.primary }) as string;
    writeFileSync(keyFile, weak);
    const s = state();
    s.identities.int.stamps.key = stampOf(keyFile);
    s.identities.int.keyKdf = "pbkdf2-sha256:2048";
    writeState(s);
    const int = (await readObservedState(config, env)).identities.get("int")!;
    expect(int).toMatchObject({ trusted: true, keyEncrypted: true, keyEncryptionWeak: true });
    // Recorded as today's: not read, not weak.
    s.identities.int.keyKdf = "pbkdf2-sha256:600000";
    writeState(s);
    expect((await readObservedState(config, env)).identities.get("int")).toMatchObject({ trusted: true, keyEncryptionWeak: false });
  });

  it("a trusted key recorded under an older encryption but encrypted as today is not weak", async () => {
    const { config, env, state, writeState } = await fresh(true);
    const s = state();
    s.identities.int.keyKdf = "pbkdf2-sha256:2048";
    writeState(s);
    expect((await readObservedState(config, env)).identities.get("int")).toMatchObject({ trusted: true, keyEncrypted: true, keyEncryptionWeak: false });
  });

  it("a plain key whose record claims an older encryption (state.json edited, stamps kept) is not weakly encrypted", async () => {
    const { out, config, env, state, writeState } = await fresh(true);
    expect(text(path.join(out, "cas/root/key.pem"))).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const s = state();
    s.identities.root.passphraseEnv = "INT_PASS";
    s.identities.root.keyKdf = "pbkdf2-sha256:2048";
    writeState(s);
    // The record is believed (its stamps match) and the key's header read: it is no encrypted key, so there is
    // no weak encryption to redo.
    expect((await readObservedState(config, env)).identities.get("root")).toMatchObject({ trusted: true, keyEncrypted: true, keyEncryptionWeak: false });
  });
  it("a trusted record whose issuer fingerprint is not its issuer's current certificate's has the signature checked on the files", async () => {
    // state.json edited (or a root renewed with its key kept): the stamps still match, the recorded issuer does not.
    const { config, env, state, writeState } = await fresh(true);
    const s = state();
    s.identities.web.issuerFingerprint = s.identities.bob.facts.fingerprint;
    s.identities.int.issuerFingerprint = s.identities.int.facts.fingerprint;
    writeState(s);
    const observed = await readObservedState(config, env);
    for (const name of ["web", "int"]) expect(observed.identities.get(name)).toMatchObject({ trusted: true, signedByIssuer: true });
    // Its failing twin: the issuer's certificate on disk is another CA's.
    cpSync(path.join(config.outputDir, "cas/root/cert.pem"), path.join(config.outputDir, "cas/int/cert.pem"));
    expect((await readObservedState(config, env)).identities.get("web")).toMatchObject({ signedByIssuer: false });
  });
});

describe("readObservedState's slow path: keys", () => {
  it("without state.json every key is checked: an encrypted key is locked without its variable or with a wrong passphrase", async () => {
    const { out, config, env } = await fresh(false);
    rmSync(path.join(out, "state.json"));
    const right = await readObservedState(config, env);
    expect(right.identities.get("int")).toMatchObject({ trusted: false, keyEncrypted: true, keyEncryptionWeak: false, keyStatus: "ok", keyDetail: null });
    const none = await readObservedState(config, { ...env, INT_PASS: undefined });
    expect(none.identities.get("int")).toMatchObject({ keyStatus: "locked", keyDetail: "encrypted, and no passphrase variable is set" });
    const wrong = await readObservedState(config, { ...env, INT_PASS: TEST_SECRETS.wrong });
    expect(wrong.identities.get("int")!.keyStatus).toBe("locked");
    expect(wrong.identities.get("int")!.keyDetail).toMatch(/INT_PASS/);
    expect(wrong.identities.get("web")!.keyStatus).toBe("ok");
  });

  it("a key that does not parse is unreadable; a key without a certificate is still read; a weakly encrypted one is weak", async () => {
    const { out, config, env } = await fresh(false);
    rmSync(path.join(out, "state.json"));
    writeFileSync(path.join(out, "servers/web/key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    rmSync(path.join(out, "clients/bob/cert.pem"));
    writeFileSync(path.join(out, "clients/bob/key.pem"), "garbage");
    const keyFile = path.join(out, "cas/int/key.pem");
    writeFileSync(keyFile, createPrivateKey({ key: text(keyFile), passphrase: TEST_SECRETS.primary }).export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: TEST_SECRETS.primary }) as string);
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")!.keyStatus).toBe("unreadable");
    expect(observed.identities.get("web")!.keyDetail).toMatch(/key\.pem/);
    expect(observed.identities.get("bob")).toMatchObject({ cert: null, certProblem: "missing", keyStatus: "unreadable" });
    expect(observed.identities.get("bob")!.keySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(observed.identities.get("int")).toMatchObject({ keyEncrypted: true, keyEncryptionWeak: true, keyStatus: "ok" });
  });

  it("state.json vouching for a certificate and key by their hashes skips the key check; another key hash does not", async () => {
    const { out, config, env, state, writeState } = await fresh(false);
    // Not trusted by stamps (a copy), but the hashes match: the encrypted key is not even decrypted.
    const noPass = { ...env, INT_PASS: undefined };
    expect((await readObservedState(config, noPass)).identities.get("int")).toMatchObject({ trusted: false, keyStatus: "ok" });
    const s = state();
    s.identities.int.keySha256 = "0".repeat(64);
    writeState(s);
    expect((await readObservedState(config, noPass)).identities.get("int")!.keyStatus).toBe("locked");
    expect(out).toBeTruthy();
  });

  it("a missing key is missing; a missing certificate is missing", async () => {
    const { out, config, env } = await fresh(false);
    rmSync(path.join(out, "servers/web/key.pem"));
    rmSync(path.join(out, "clients/bob/cert.pem"));
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")).toMatchObject({ keyStatus: "missing", keySha256: null, keyEncrypted: false, certProblem: null });
    expect(observed.identities.get("bob")).toMatchObject({ cert: null, certProblem: "missing", keyStatus: "ok", signedByIssuer: null });
  });
});

describe("readObservedState: extra formats, a folder set aside, retired certificates", () => {
  it("a missing format file is listed; key.der, identity.p12 and combined.pem that others may read are loose, cert.der is not", async () => {
    const { out, config, env } = await fresh(false);
    rmSync(path.join(out, "servers/web/cert.der"));
    chmodSync(path.join(out, "servers/web/key.der"), 0o640);
    chmodSync(path.join(out, "servers/web/combined.pem"), 0o604);
    chmodSync(path.join(out, "clients/bob/identity.p12"), 0o644);
    const observed = await readObservedState(config, env);
    const web = observed.identities.get("web")!;
    expect(web.missingFormatFiles).toEqual([path.join(out, "servers/web/cert.der")]);
    expect(web.loosePrivateFiles).toEqual([
      { file: path.join(out, "servers/web/key.der"), mode: 0o640 },
      { file: path.join(out, "servers/web/combined.pem"), mode: 0o604 },
    ]);
    expect(observed.identities.get("bob")!.loosePrivateFiles).toEqual([{ file: path.join(out, "clients/bob/identity.p12"), mode: 0o644 }]);
    expect(observed.identities.get("bob")!.missingFormatFiles).toEqual([]);
    // A public cert.der is fine; so is a key.der of mode 0600.
    rmSync(path.join(out, "servers/web/key.der"));
    const again = (await readObservedState(config, env)).identities.get("web")!;
    expect(again.missingFormatFiles).toEqual([path.join(out, "servers/web/cert.der"), path.join(out, "servers/web/key.der")]);
  });

  it("a folder a killed swap left aside (its own folder missing) is named, and only then", async () => {
    const { out, config, env } = await fresh(false);
    renameSync(path.join(out, "servers/web"), path.join(out, "servers/.web.0123456789ab.old"));
    mkdirSync(path.join(out, "clients/.bob.0123456789ab.old"));
    mkdirSync(path.join(out, "servers/.api.0123456789ab.old"));
    mkdirSync(path.join(out, "cas/.root.0123456789ab.new"));
    mkdirSync(path.join(out, "clients/.web.0123456789ab.old"));
    const observed = await readObservedState(config, env);
    expect([...observed.aside!]).toEqual(["web"]);
    expect(observed.problems).toEqual(["servers/web was moved aside by an interrupted run (servers/.web.0123456789ab.old): the next provision run puts it back"]);
  });

  it("orphan folders are listed by name, then kind", async () => {
    const { out, config, env } = await fresh(false);
    for (const folder of ["clients/web", "cas/web", "cas/bob", "servers/.hidden", "servers/zed"]) mkdirSync(path.join(out, folder));
    const observed = await readObservedState(config, env);
    expect(observed.orphans).toEqual([
      { name: "bob", kind: "ca", notAfter: null },
      { name: "web", kind: "ca", notAfter: null },
      { name: "web", kind: "client", notAfter: null },
    ]);
  });

  it("a retired certificate that is the one state.json names is kept; a missing one is null without a note; a symlink is dropped with a note", async () => {
    const { out, config, env, state, writeState } = await fresh(false);
    const old = text(path.join(out, "clients/bob/cert.pem"));
    const fingerprint = new X509Certificate(old).fingerprint256.replaceAll(":", "").toLowerCase();
    const gone = "cd".repeat(32);
    const linked = "ef".repeat(32);
    const s = state();
    s.retired = { root: [{ fingerprint, notAfter: "2099-01-01T00:00:00Z" }, { fingerprint: gone, notAfter: "2098-01-01T00:00:00Z", until: "2098-02-01T00:00:00Z" }, { fingerprint: linked, notAfter: "2097-01-01T00:00:00Z" }] };
    writeState(s);
    const dir = path.join(out, "cas/root/retired");
    mkdirSync(dir);
    writeFileSync(path.join(dir, `${fingerprint.slice(0, 16)}.pem`), old);
    symlinkSync(path.join(out, "cas/root/cert.pem"), path.join(dir, `${linked.slice(0, 16)}.pem`));
    const observed = await readObservedState(config, env);
    expect(observed.retired).toEqual([
      { ca: "root", fingerprint, notAfter: "2099-01-01T00:00:00Z", until: "2099-01-01T00:00:00Z", pem: old },
      { ca: "root", fingerprint: gone, notAfter: "2098-01-01T00:00:00Z", until: "2098-02-01T00:00:00Z", pem: null },
      { ca: "root", fingerprint: linked, notAfter: "2097-01-01T00:00:00Z", until: "2097-01-01T00:00:00Z", pem: null },
    ]);
    expect(observed.problems).toHaveLength(1);
    expect(observed.problems[0]).toMatch(new RegExp(`${linked.slice(0, 16)}\\.pem.*; the retired certificate is dropped$`));
    // The certificate followed by anything else is not one certificate.
    writeFileSync(path.join(dir, `${fingerprint.slice(0, 16)}.pem`), `${old}${old}`);
    expect((await readObservedState(config, env)).retired[0]!.pem).toBeNull();
  });

  it("retired certificates of a CA whose folder is a symlink are refused", async () => {
    const { out, config, env, state, writeState } = await fresh(false);
    const s = state();
    s.retired = { gone: [{ fingerprint: "ab".repeat(32), notAfter: "2099-01-01T00:00:00Z" }] };
    writeState(s);
    symlinkSync(path.join(out, "cas/root"), path.join(out, "cas/gone"));
    const error = await readObservedState(config, env).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toBe(`refusing to read ${path.join(out, "cas/gone")}: it is a symlink`);
  });
});

describe("the readers apply uses, and an empty observation", () => {
  it("a certificate, a key and a derived file as on disk; a missing certificate or key is an error saying to run again", async () => {
    const { out } = await fresh(false);
    expect(readCertificatePem(out, "server", "web")).toBe(text(path.join(out, "servers/web/cert.pem")));
    expect(readKeyPem(out, "client", "bob")).toBe(text(path.join(out, "clients/bob/key.pem")));
    expect(readDerivedFile(path.join(out, "servers/web/chain.pem"))).toBe(text(path.join(out, "servers/web/chain.pem")));
    expect(readDerivedFile(path.join(out, "servers/web/nope.pem"))).toBeNull();
    for (const read of [() => readCertificatePem(out, "server", "gone"), () => readKeyPem(out, "server", "gone")]) {
      let error: unknown;
      try {
        read();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProvisionError);
      expect((error as ProvisionError).code).toBe("fs-error");
      expect((error as ProvisionError).message).toMatch(new RegExp(`^cannot read ${out}/servers/gone/(cert|key)\\.pem: no such file$`));
      expect((error as ProvisionError).hint).toBe("it was there when this run started; run again");
    }
  });

  it("nothingObserved: every identity unseen, nothing recorded", async () => {
    const { config } = await fresh(false);
    const nothing = nothingObserved(config);
    expect([...nothing.identities.keys()]).toEqual(config.identities.map((i) => i.name));
    expect(nothing.identities.size).toBe(4);
    expect(nothing.identities.get("web")).toEqual(unseen({ name: "web", kind: "server" }));
    expect(unseen({ name: "web", kind: "server" })).toEqual({
      name: "web", kind: "server", cert: null, certProblem: "missing", keySha256: null, keyEncrypted: false, keyEncryptionWeak: false, keyStatus: "missing",
      keyDetail: null, signedByIssuer: null, missingFormatFiles: [], loosePrivateFiles: [], trusted: false, stamps: { cert: null, key: null },
    });
    expect({ ...nothing, identities: null, state: null }).toEqual({ identities: null, state: null, stateText: null, problems: [], bundlePem: null, retired: [], orphans: [], externals: new Map(), crls: new Map(), crlBundlePem: null });
    expect(nothing.state.identities.size).toBe(0);
  });
});
