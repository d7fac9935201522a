import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPki } from "../../src/api.js";
import type { Config } from "../../src/config/types.js";
import { InternalError, ProvisionError } from "../../src/errors.js";
import { readExternalCas } from "../../src/store/external.js";
import { readObservedState } from "../../src/store/read-state.js";
import { provisionBin } from "../helpers/cli.js";
import { fixtureFolder } from "../helpers/fixtures.js";

/**
 * readObservedState in process, against a real output tree that one run wrote and each case copies and then
 * damages: what it refuses (a symlink or a file where a folder of the tree should be), and what it reports
 * instead of trusting (a key that is not the certificate's, a cert.pem that is no certificate even when
 * state.json vouches for its hash, a key others can read, a retired file that is not the certificate state.json
 * names, an identity pki.yaml no longer has). The scenario tests (test/store/hostile.test.ts) run the CLI.
 */

const YAML = `version: 1
cas:
  root: {}
servers:
  web: { issuer: root, altNames: [web.test] }
clients:
  bob: { issuer: root, altNames: [bob@web.test] }
`;

let template: string;
let other: string;
const copies: string[] = [];

/**
 * The trees are written by the built binary in a child process: code the test process runs in beforeAll is
 * "static" to Stryker (docs/MUTATION.md), and its mutants of read-state.ts would not be measured.
 */
async function provisionInto(dir: string, yaml: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "pki.yaml"), yaml);
  const run = await provisionBin([], { cwd: dir, env: { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache") } });
  expect(run.code, run.stderr).toBe(0);
}

let fixtures: { dir: string; drop: () => void } | undefined;

beforeAll(async () => {
  fixtures = await fixtureFolder("provision-read-state-", YAML, async (dir) => {
    await provisionInto(path.join(dir, "template"), YAML);
    await provisionInto(path.join(dir, "other"), YAML);
  });
  template = path.join(fixtures.dir, "template");
  other = path.join(fixtures.dir, "other");
}, 60_000);
afterAll(() => {
  fixtures?.drop();
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the template run; `yaml` replaces its pki.yaml. */
async function fresh(yaml = YAML): Promise<{ out: string; config: Config; env: NodeJS.ProcessEnv }> {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-read-state-case-")));
  copies.push(dir);
  cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
  rmSync(path.join(dir, "cache"), { recursive: true, force: true });
  writeFileSync(path.join(dir, "pki.yaml"), yaml);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache") };
  return { out: path.join(dir, "pki"), config: (await loadPki("pki.yaml", { cwd: dir, env })).config, env };
}

async function refusal(run: Promise<unknown>): Promise<ProvisionError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProvisionError);
  return error as ProvisionError;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("readObservedState on a copied tree", () => {
  it("an intact tree: every certificate read, every key matching, every leaf signed by its issuer", async () => {
    const { out, config, env } = await fresh();
    const observed = await readObservedState(config, env);
    expect(observed.problems).toEqual([]);
    for (const name of ["root", "web", "bob"]) {
      const o = observed.identities.get(name)!;
      expect({ name, cert: o.certProblem, key: o.keyStatus, signed: o.signedByIssuer, loose: o.loosePrivateFiles }).toEqual({ name, cert: null, key: "ok", signed: true, loose: [] });
    }
    expect(observed.identities.get("web")!.cert!.facts.altNames).toEqual([{ type: "dns", value: "web.test" }]);
    expect(observed.bundlePem).toBe(readFileSync(path.join(out, "ca-bundle.pem"), "utf8"));
    expect(observed.orphans).toEqual([]);
    expect(observed.crls.get("root")).toMatchObject({ problem: null, pem: readFileSync(path.join(out, "cas/root/crl.pem"), "utf8") });
  });

  it("refuses a kind folder or an identity folder that is a symlink, or a file where one should be", async () => {
    for (const [where, make, why] of [
      ["servers", (p: string) => symlinkSync(path.join(other, "pki", "servers"), p), "it is a symlink"],
      ["servers/web", (p: string) => symlinkSync(path.join(other, "pki", "servers", "web"), p), "it is a symlink"],
      ["clients", (p: string) => writeFileSync(p, "x"), "it is not a folder"],
      ["cas/root", (p: string) => writeFileSync(p, "x"), "it is not a folder"],
    ] as const) {
      const { out, config, env } = await fresh();
      const target = path.join(out, where);
      rmSync(target, { recursive: true });
      make(target);
      const e = await refusal(readObservedState(config, env));
      expect(e.code, where).toBe("unsafe-path");
      expect(e.message, where).toBe(`refusing to read ${target}: ${why}`);
      expect(e.hint, where).toBe(why === "it is a symlink" ? "provision never follows a symlink inside the output folder (the output folder itself may be one); remove the link and run again" : "remove what stands there and run again");
    }
  });

  it("refuses an output folder that is a file, or lies below one; a missing one is simply empty", async () => {
    const { out, config, env } = await fresh();
    rmSync(out, { recursive: true });
    const empty = await readObservedState(config, env);
    expect([...empty.identities.values()].map((o) => o.certProblem)).toEqual(["missing", "missing", "missing"]);
    writeFileSync(out, "x");
    const e = await refusal(readObservedState(config, env));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`the output folder ${out} is not a folder (a file stands on its path)`);
    expect(e.hint).toBe("point output: in pki.yaml at a folder");
    const below = await fresh(YAML.replace("version: 1", "version: 1\noutput: pki/file/deeper/out"));
    writeFileSync(path.join(below.out, "file"), "x");
    expect((await refusal(readObservedState(below.config, below.env))).message).toMatch(/is not a folder \(a file stands on its path\)/);
    // Right below the file (the file is the first thing found on the way up).
    const under = await fresh(YAML.replace("version: 1", "version: 1\noutput: pki/file/out"));
    writeFileSync(path.join(under.out, "file"), "x");
    expect((await refusal(readObservedState(under.config, under.env))).message).toBe(`the output folder ${path.join(under.out, "file/out")} is not a folder (a file stands on its path)`);
  });

  it("an output folder whose parents do not exist yet is empty; one on a path through a symlink loop is an error naming it", async () => {
    const missing = await fresh(YAML.replace("version: 1", "version: 1\noutput: not/yet/there/pki"));
    const empty = await readObservedState(missing.config, missing.env);
    expect([...empty.identities.values()].map((o) => o.certProblem)).toEqual(["missing", "missing", "missing"]);
    const looped = await fresh(YAML.replace("version: 1", "version: 1\noutput: loop/pki"));
    const loop = path.join(path.dirname(looped.out), "loop");
    symlinkSync("loop", loop);
    const e = await refusal(readObservedState(looped.config, looped.env));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(new RegExp(`^cannot read ${path.join(loop, "pki")}: `));
  });

  it("an external CA is observed from the files loadExternalCas read, never from the output folder; not read first is a bug", async () => {
    const { out, env } = await fresh();
    const dir = path.dirname(out);
    writeFileSync(path.join(dir, "ext.pem"), readFileSync(path.join(other, "pki/cas/root/cert.pem")));
    writeFileSync(path.join(dir, "pki.yaml"), "version: 1\ncas:\n  root:\n    external: { cert: ./ext.pem }\n  own: {}\nservers:\n  web: { issuer: root, altNames: [web.test] }\nclients:\n  bob: { issuer: own, altNames: [bob@web.test] }\n");
    const config = (await loadPki("pki.yaml", { cwd: dir, env })).config;
    await expect(readObservedState(config, env)).rejects.toThrow(new InternalError("external CA root was not read (call loadExternalCas first)"));
    const observed = await readObservedState(config, env, readExternalCas(config));
    // The output folder holds another root of that name: its certificate and key are not the external CA's.
    expect(observed.identities.get("root")).toMatchObject({ cert: { pem: readFileSync(path.join(dir, "ext.pem"), "utf8") }, keyStatus: "missing", certProblem: null });
    expect(observed.identities.get("web")!.signedByIssuer).toBe(false);
    // The CRL there is judged against the external CA's certificate, not the other root's cert.pem beside it.
    expect(observed.crls.get("root")).toMatchObject({ problem: "not signed by the CA's current key", entries: [] });
    expect(observed.crls.get("own")).toMatchObject({ problem: "missing", pem: null });
    // Only below a keyless external CA can a renewal request be pending (provision csr's next-key.pem).
    expect(observed.identities.get("web")!.pendingKey).toBeUndefined();
    writeFileSync(path.join(out, "servers/web/next-key.pem"), "x", { mode: 0o600 });
    writeFileSync(path.join(out, "clients/bob/next-key.pem"), "x", { mode: 0o600 });
    const pending = await readObservedState(config, env, readExternalCas(config));
    expect(pending.identities.get("web")!.pendingKey).toBe(path.join(out, "servers/web/next-key.pem"));
    expect(pending.identities.get("bob")!.pendingKey).toBeUndefined();
    expect(pending.identities.get("own")!.pendingKey).toBeUndefined();
  });

  it("a certificate replaced while its key stays as recorded: the key is checked against the new certificate", async () => {
    const { out, config, env } = await fresh();
    writeFileSync(path.join(out, "servers/web/cert.pem"), readFileSync(path.join(out, "clients/bob/cert.pem")));
    const web = (await readObservedState(config, env)).identities.get("web")!;
    expect(web).toMatchObject({ keyStatus: "mismatch", keyDetail: "the key does not belong to the certificate" });
  });

  it("an output folder that is a symlink the user made is read through", async () => {
    const { out, config, env } = await fresh();
    const real = `${out}-real`;
    cpSync(out, real, { recursive: true });
    rmSync(out, { recursive: true });
    symlinkSync(real, out);
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")!.keyStatus).toBe("ok");
  });

  it("a key that is not the certificate's is a mismatch; a cert.pem that is no certificate is unreadable", async () => {
    const { out, config, env } = await fresh();
    writeFileSync(path.join(out, "servers/web/key.pem"), readFileSync(path.join(out, "clients/bob/key.pem")));
    writeFileSync(path.join(out, "clients/bob/cert.pem"), "not a certificate\n");
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")).toMatchObject({ keyStatus: "mismatch", keyDetail: "the key does not belong to the certificate" });
    expect(observed.identities.get("bob")).toMatchObject({ cert: null, certProblem: "unreadable (not a valid PEM certificate)" });
  });

  it("state.json vouching for the hash of a cert.pem that is not one certificate is not believed", async () => {
    const { out, config, env } = await fresh();
    const state = JSON.parse(readFileSync(path.join(out, "state.json"), "utf8"));
    const forged = readFileSync(path.join(out, "cas/root/key.pem"), "utf8");
    writeFileSync(path.join(out, "servers/web/cert.pem"), forged);
    state.identities.web.certSha256 = sha256(forged);
    writeFileSync(path.join(out, "state.json"), JSON.stringify(state));
    const web = (await readObservedState(config, env)).identities.get("web")!;
    expect(web.cert).toBeNull();
    expect(web.certProblem).toBe("unreadable (not a valid PEM certificate)");
  });

  it("a leaf whose issuer's certificate is another CA's is not signed by its issuer", async () => {
    const { out, config, env } = await fresh();
    writeFileSync(path.join(out, "cas/root/cert.pem"), readFileSync(path.join(other, "pki/cas/root/cert.pem")));
    writeFileSync(path.join(out, "cas/root/key.pem"), readFileSync(path.join(other, "pki/cas/root/key.pem")));
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("root")!.signedByIssuer).toBe(true);
    expect(observed.identities.get("web")!.signedByIssuer).toBe(false);
    expect(observed.identities.get("bob")!.signedByIssuer).toBe(false);
  });

  it("a CA renamed with its key kept: a leaf it signed before is not signed by it (the issuer name must match, not only the signature)", async () => {
    const { out, config, env } = await fresh();
    const root = path.join(out, "cas/root");
    execFileSync("openssl", ["req", "-x509", "-new", "-key", path.join(root, "key.pem"), "-subj", "/CN=Renamed root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", path.join(root, "cert.pem")], { stdio: "ignore" });
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("root")!.signedByIssuer).toBe(true);
    // web's signature still verifies with the root's public key; only its issuer name is no longer the root's subject.
    expect(new X509Certificate(readFileSync(path.join(out, "servers/web/cert.pem"))).verify(new X509Certificate(readFileSync(path.join(root, "cert.pem"))).publicKey)).toBe(true);
    expect(observed.identities.get("web")!.signedByIssuer).toBe(false);
    expect(observed.identities.get("bob")!.signedByIssuer).toBe(false);
  });

  it("a private key group or others can read is reported with its mode (0644, 0640); 0600 is not", async () => {
    const { out, config, env } = await fresh();
    chmodSync(path.join(out, "servers/web/key.pem"), 0o644);
    chmodSync(path.join(out, "clients/bob/key.pem"), 0o640);
    const observed = await readObservedState(config, env);
    expect(observed.identities.get("web")!.loosePrivateFiles).toEqual([{ file: path.join(out, "servers/web/key.pem"), mode: 0o644 }]);
    expect(observed.identities.get("bob")!.loosePrivateFiles).toEqual([{ file: path.join(out, "clients/bob/key.pem"), mode: 0o640 }]);
    expect(observed.identities.get("root")!.loosePrivateFiles).toEqual([]);
  });

  it("a retired root whose file is not the certificate state.json names is dropped, with the reason", async () => {
    const { out, config, env } = await fresh();
    const state = JSON.parse(readFileSync(path.join(out, "state.json"), "utf8"));
    const fingerprint = "ab".repeat(32);
    state.retired = { root: [{ fingerprint, notAfter: "2099-01-01T00:00:00Z", until: "2099-01-01T00:00:00Z" }] };
    writeFileSync(path.join(out, "state.json"), JSON.stringify(state));
    mkdirSync(path.join(out, "cas/root/retired"));
    const file = path.join(out, "cas/root/retired", `${fingerprint.slice(0, 16)}.pem`);
    writeFileSync(file, readFileSync(path.join(out, "cas/root/cert.pem")));
    const observed = await readObservedState(config, env);
    expect(observed.retired).toEqual([{ ca: "root", fingerprint, notAfter: "2099-01-01T00:00:00Z", until: "2099-01-01T00:00:00Z", pem: null }]);
    expect(observed.problems).toEqual([`${file} is not the certificate state.json lists (${fingerprint.slice(0, 16)}…); it is dropped from ca-bundle.pem`]);
  });

  it("an identity pki.yaml no longer names, or names under another kind, is an orphan", async () => {
    const moved = YAML.replace("clients:\n  bob: { issuer: root, altNames: [bob@web.test] }\n", "").replace("servers:\n", "servers:\n  bob: { issuer: root, altNames: [bob.web.test] }\n").replace("  web: { issuer: root, altNames: [web.test] }\n", "");
    const { config, env } = await fresh(moved);
    const observed = await readObservedState(config, env);
    expect(observed.orphans).toEqual([
      { name: "bob", kind: "client", notAfter: expect.stringMatching(/^\d{4}-/) },
      { name: "web", kind: "server", notAfter: expect.stringMatching(/^\d{4}-/) },
    ]);
  });

  it("orphans are listed by name, then kind, whether state.json or the folders found them", async () => {
    // web is now a CA and aaa a client: state.json finds web (a server) and bob; the folders add servers/aaa and
    // clients/web, which pki.yaml names under other kinds, after them.
    const { out, config, env } = await fresh("version: 1\ncas:\n  root: {}\n  web: { issuer: root }\nclients:\n  aaa: { issuer: root, altNames: [aaa@web.test] }\n");
    cpSync(path.join(out, "servers/web"), path.join(out, "servers/aaa"), { recursive: true });
    cpSync(path.join(out, "clients/bob"), path.join(out, "clients/web"), { recursive: true });
    const observed = await readObservedState(config, env);
    expect(observed.orphans.map((o) => `${o.name}/${o.kind}`)).toEqual(["aaa/server", "bob/client", "web/client", "web/server"]);
  });

  it("an orphan found last that sorts last by name but first by kind still comes last", async () => {
    // pki.yaml keeps only root and a client zed: state.json finds bob (client) and web (server); the folder scan
    // then finds cas/zed, which pki.yaml names as a client. Its kind sorts before theirs, its name after.
    const { out, config, env } = await fresh("version: 1\ncas:\n  root: {}\nclients:\n  zed: { issuer: root, altNames: [zed@web.test] }\n");
    cpSync(path.join(out, "cas/root"), path.join(out, "cas/zed"), { recursive: true });
    const observed = await readObservedState(config, env);
    expect(observed.orphans.map((o) => `${o.name}/${o.kind}`)).toEqual(["bob/client", "web/server", "zed/ca"]);
  });
});
