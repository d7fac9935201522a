import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyPki, loadPki } from "../../src/api.js";
import { codeFingerprint } from "../../src/config/cache.js";
import { parseStateCached, rememberWrittenState } from "../../src/store/state-cache.js";
import { parseState } from "../../src/store/state-parse.js";
import { ROOT } from "../helpers/cli.js";
import { TEST_SECRETS } from "../helpers/secrets.js";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every kind of value state.json records: constraints, typed alt names, an encrypted key, a client, a retired root. */
const yaml = (rootValidity: string) => `version: 1
cas:
  root: { validity: ${rootValidity}, nameConstraints: { permitted: [.test, 10.0.0.0/8, "::1/128", example.test], excluded: [bad.test] } }
  int: { issuer: root, pathLength: 0, passphraseEnv: INT_PASS }
servers:
  web: { issuer: int, altNames: [web.test, 10.1.2.3, "::1", "spiffe://example.test/web", ops@example.test] }
clients:
  alice: { issuer: int, altNames: [alice@example.test] }
`;

// First in the file: the validating code's hash is computed once per process (a memo), so Stryker's per-test
// coverage credits its code to the first test that computes a key, and only that test is run against its mutants.
// This block is the one that checks the key exactly.
describe("the state.json cache's key and entries", () => {
  /** The key of a text: the validating code (config/'s fingerprint, then state-cache, state-file and state-parse), the output folder, the text. */
  function expectedKey(out: string, text: string): string {
    const code = createHash("sha256").update(codeFingerprint());
    for (const name of ["state-cache.ts", "state-file.ts", "state-parse.ts"]) code.update(name).update(readFileSync(path.join(ROOT, "src/store", name)));
    return createHash("sha256").update(`${code.digest("hex")}\0${out}\0${text}`).digest("hex");
  }

  it("one entry per output folder, named by the folder's hash, keyed by the validating code, the folder and the text; a text serializeState wrote is remembered as written", async () => {
    const { out, text, env, folder } = await written();
    const name = `${createHash("sha256").update(out).digest("hex").slice(0, 32)}.json`;
    rmSync(folder, { recursive: true });
    await parseStateCached(env, out, text);
    expect(readdirSync(folder)).toEqual([name]);
    expect(JSON.parse(readFileSync(path.join(folder, name), "utf8"))).toEqual({ key: expectedKey(out, text), written: true });
  });

  it("an entry marked written is trusted for its exact text: the state is read from the text, not validated again; any other mark is not", async () => {
    const { out, text, env, folder } = await written();
    const file = path.join(folder, readdirOne(folder));
    // A text that does not validate, which only a cache entry can make pass.
    const edited = text.replace(/"certSha256":"[0-9a-f]{64}"/, '"certSha256":"not-a-hash"');
    expect(parseState(edited).problems).not.toEqual([]);
    writeFileSync(file, JSON.stringify({ key: expectedKey(out, edited), written: true }));
    const trusted = await parseStateCached(env, out, edited);
    expect(trusted.problems).toEqual([]);
    expect([...trusted.state.identities.values()].map((r) => r.certSha256)).toContain("not-a-hash");
    for (const written of [false, "true", 1]) {
      writeFileSync(file, JSON.stringify({ key: expectedKey(out, edited), written }));
      expect({ written, problems: (await parseStateCached(env, out, edited)).problems }).toEqual({ written, problems: parseState(edited).problems });
    }
  });

  it("a valid state.json in another layout is remembered in full, revoked names included", async () => {
    const { out, text, env, folder } = await written();
    const json = JSON.parse(text) as Record<string, unknown>;
    json.revokedNames = { gone: { kind: "server", at: "2026-01-02T03:04:05Z" } };
    const indented = JSON.stringify(json, null, 2);
    rmSync(folder, { recursive: true });
    const first = await parseStateCached(env, out, indented);
    expect(first.problems).toEqual([]);
    expect([...first.state.revokedNames]).toEqual([["gone", { kind: "server", at: "2026-01-02T03:04:05Z" }]]);
    const entry = JSON.parse(readFileSync(path.join(folder, readdirOne(folder)), "utf8")) as { key: string; revokedNames: unknown };
    expect(entry.key).toBe(expectedKey(out, indented));
    expect(entry.revokedNames).toEqual([["gone", { kind: "server", at: "2026-01-02T03:04:05Z" }]]);
    expect(await parseStateCached(env, out, indented)).toEqual(first);
  });
});

describe("the state.json cache", () => {
  it("holds exactly what parseState makes of the state.json apply wrote, and is used for that text only", async () => {
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-state-cache-")));
    const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache"), INT_PASS: TEST_SECRETS.primary };
    writeFileSync(path.join(dir, "pki.yaml"), yaml("10y"));
    await applyPki((await loadPki("pki.yaml", { cwd: dir, env })).config, { env });
    writeFileSync(path.join(dir, "pki.yaml"), yaml("9y")); // the root is re-issued: its old certificate is retired
    await applyPki((await loadPki("pki.yaml", { cwd: dir, env })).config, { env });

    const out = path.join(dir, "pki");
    const text = readFileSync(path.join(out, "state.json"), "utf8");
    const parsed = parseState(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.state.retired.get("root")).toHaveLength(1);
    expect(parsed.state.identities.get("int")!.keyKdf).toMatch(/^pbkdf2/);
    // Remembered by apply as written (the entry holds only the text's key: the state is read from the text
    // itself); the same text read back through the cache gives the same state.
    const folder = path.join(dir, "cache/provision/state");
    const entry = JSON.parse(readFileSync(path.join(folder, readdirOne(folder)), "utf8")) as Record<string, unknown>;
    expect(entry).toEqual({ key: expect.stringMatching(/^[0-9a-f]{64}$/), written: true });
    expect(await parseStateCached(env, out, text)).toEqual(parsed);

    // Failing twin: an edited state.json is validated again, whatever the cache holds.
    const edited = text.replace(/"certSha256":"[0-9a-f]{64}"/, '"certSha256":"not-a-hash"');
    expect(edited).not.toBe(text);
    const reparsed = await parseStateCached(env, out, edited);
    expect(reparsed.problems.join()).toMatch(/certSha256/);
    expect(reparsed.state.identities.size).toBe(3);

    // A valid state.json in another layout (indented by hand): remembered as parsed, since it is not what
    // serializeState writes, and read back the same.
    const indented = JSON.stringify(JSON.parse(text), null, 2);
    const first = await parseStateCached(env, out, indented);
    expect(first).toEqual(parsed);
    const full = JSON.parse(readFileSync(path.join(folder, readdirOne(folder)), "utf8")) as { written?: boolean; identities: [string, unknown][] };
    expect(full.written).toBeUndefined();
    expect(new Map(full.identities)).toEqual(parsed.state.identities);
    expect(await parseStateCached(env, out, indented)).toEqual(parsed);
  });
});

function readdirOne(folder: string): string {
  const names = readdirSync(folder).filter((n) => n.endsWith(".json"));
  expect(names).toHaveLength(1);
  return names[0]!;
}

/** A small state.json written by a real run, and its environment with a private cache. */
async function written(): Promise<{ out: string; text: string; env: NodeJS.ProcessEnv; folder: string }> {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-state-cache-")));
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache"), PROVISION_NO_CACHE: "" };
  writeFileSync(path.join(dir, "pki.yaml"), "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test] }\n");
  await applyPki((await loadPki("pki.yaml", { cwd: dir, env })).config, { env });
  const out = path.join(dir, "pki");
  return { out, text: readFileSync(path.join(out, "state.json"), "utf8"), env, folder: path.join(dir, "cache/provision/state") };
}

describe("the state.json cache, case by case", () => {

  it("no state.json: an empty state, and nothing remembered", async () => {
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-state-cache-")));
    const env = { XDG_CACHE_HOME: dir };
    const read = await parseStateCached(env, "/srv/pki", null);
    expect(read.problems).toEqual([]);
    expect(read.state.identities.size + read.state.retired.size + read.state.crls.size + read.state.issued.length + read.state.revokedNames.size).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("the entry is private, one per output folder, and PROVISION_NO_CACHE=1 neither reads nor writes it", async () => {
    const { out, text, env, folder } = await written();
    const file = path.join(folder, readdirOne(folder));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    rmSync(folder, { recursive: true });
    expect(await parseStateCached({ ...env, PROVISION_NO_CACHE: "1" }, out, text)).toEqual(parseState(text));
    expect(existsSync(folder)).toBe(false);
    // The same text for another output folder is parsed and remembered apart.
    await parseStateCached(env, out, text);
    await parseStateCached(env, `${out}2`, text);
    expect(readdirSync(folder)).toHaveLength(2);
  });

  it("an entry whose lists are not lists, or that is not JSON, is ignored and the text parsed again", async () => {
    const { out, text, env, folder } = await written();
    const file = path.join(folder, readdirOne(folder));
    // The entry of a state.json not in serializeState's layout (by hand, another version): the state as parsed.
    const parsed = parseState(text).state;
    const { key } = JSON.parse(readFileSync(file, "utf8")) as { key: string };
    const entry = { key, identities: [...parsed.identities], retired: [...parsed.retired], crls: [...parsed.crls], issued: parsed.issued, revokedNames: [...parsed.revokedNames] };
    // Used when intact (an empty identity list shows) ...
    writeFileSync(file, JSON.stringify({ ...entry, identities: [] }));
    expect((await parseStateCached(env, out, text)).state.identities.size).toBe(0);
    // ... and not when `written` is anything but true.
    writeFileSync(file, JSON.stringify({ ...entry, identities: [], written: "true" }));
    expect(await parseStateCached(env, out, text)).toEqual(parseState(text));
    for (const field of ["identities", "retired", "crls", "issued", "revokedNames"]) {
      writeFileSync(file, JSON.stringify({ ...entry, [field]: "x" }));
      const read = await parseStateCached(env, out, text);
      expect({ field, read }).toEqual({ field, read: parseState(text) });
    }
    writeFileSync(file, "{");
    expect(await parseStateCached(env, out, text)).toEqual(parseState(text));
    // An entry whose key is not this text's is not used either (an empty identity list would show).
    writeFileSync(file, JSON.stringify({ ...entry, key: "0".repeat(64), identities: [] }));
    expect((await parseStateCached(env, out, text)).state.identities.size).toBe(2);
  });

  it("a state.json with problems is not remembered, so its problems are reported on every run", async () => {
    const { out, text, env, folder } = await written();
    rmSync(folder, { recursive: true });
    const edited = text.replace(/"keySha256":"[0-9a-f]{64}"/, '"keySha256":"nope"');
    const first = await parseStateCached(env, out, edited);
    expect(first.problems).toHaveLength(1);
    expect(existsSync(folder)).toBe(false);
    expect((await parseStateCached(env, out, edited)).problems).toEqual(first.problems);
  });

  it("a cache that cannot be written is no error", async () => {
    const { out, text, env, folder } = await written();
    rmSync(folder, { recursive: true });
    writeFileSync(folder, "a file where the folder should be");
    expect(await parseStateCached(env, out, text)).toEqual(parseState(text));
    expect(() => rememberWrittenState(env, out, text)).not.toThrow();
  });
});
