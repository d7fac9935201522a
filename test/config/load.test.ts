// Reading pki.yaml and the per-machine config cache (src/config/load.ts, src/config/cache.ts), in process, against
// real files in a temporary folder: the errors a user sees for a missing or invalid file, a cache hit that skips
// the parse, every reason an entry is not used, and the incremental re-read of an edited file.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cacheKey, codeFingerprint, readConfigCache, rememberedSource, userCacheDir, writeConfigCache } from "../../src/config/cache.js";
import { loadConfig, loadConfigText } from "../../src/config/load.js";
import { ProvisionError } from "../../src/errors.js";

const VALID = "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test], validity: 4m, renewBefore: 1m }\n";
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
/** A project folder holding pki.yaml, and a cache folder of its own. */
function setup(text = VALID) {
  const dir = mkdtempSync(path.join(tmpdir(), "provision-load-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "pki.yaml"), text);
  const env = { XDG_CACHE_HOME: path.join(dir, "cache") };
  const cacheDir = path.join(dir, "cache", "provision");
  const entries = () => readdirSync(cacheDir).filter((f) => f.endsWith(".json"));
  const entryFile = () => path.join(cacheDir, entries()[0]!);
  return { dir, env, cacheDir, entries, entryFile, file: path.join(dir, "pki.yaml") };
}
async function thrown(promise: Promise<unknown>): Promise<ProvisionError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    return error as ProvisionError;
  }
  throw new Error("did not throw");
}

describe("loadConfig", () => {
  it("a missing file says how to make one; an unreadable one does not", async () => {
    const p = setup();
    const missing = await thrown(loadConfig("nope.yaml", { cwd: p.dir, env: p.env }));
    expect(missing.code).toBe("config-unreadable");
    expect(missing.message).toMatch(/^cannot read nope\.yaml: /);
    expect(missing.hint).toBe("run `provision init` to write a starter pki.yaml, or pass -f <file>");
    mkdirSync(path.join(p.dir, "folder.yaml"));
    const folder = await thrown(loadConfig("folder.yaml", { cwd: p.dir, env: p.env }));
    expect(folder.code).toBe("config-unreadable");
    expect(folder.hint).toBeUndefined();
    expect(folder.message).toMatch(/^cannot read folder\.yaml: /);
  });

  it("an invalid file: every error, counted, with the fix; warnings are not counted", async () => {
    const one = setup("version: 1\ncas:\n  root: { pathLength: x }\nclients:\n  bob: { issuer: root, validity: 2m }\n");
    const error = await thrown(loadConfig("pki.yaml", { cwd: one.dir, env: one.env }));
    expect([error.code, error.message, error.hint]).toEqual(["invalid-config", "pki.yaml is not valid (1 problem)", "fix the lines above and run again; nothing was written"]);
    expect(error.diagnostics!.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual(['3:23 expected a number, got a string ("x")']);
    const two = setup("version: 1\ncas:\n  root: { pathLength: x, key: y }\n");
    expect((await thrown(loadConfig("pki.yaml", { cwd: two.dir, env: two.env }))).message).toBe("pki.yaml is not valid (2 problems)");
    expect(readdirSync(two.dir)).toEqual(["pki.yaml"]);
  });

  it("a valid file: the config named as given, its warnings, and a cache entry only its owner reads", async () => {
    const p = setup();
    const { config, warnings } = await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    expect(config).toMatchObject({ file: "pki.yaml", baseDir: p.dir, outputDir: path.join(p.dir, "pki") });
    expect(config.identities.map((i) => i.name)).toEqual(["root", "web"]);
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.path}`)).toEqual(["5:56 servers.web.validity"]);
    expect(p.entries()).toHaveLength(1);
    expect(statSync(p.entryFile()).mode & 0o777).toBe(0o600);
    expect(statSync(p.cacheDir).mode & 0o077).toBe(0);
    const entry = JSON.parse(readFileSync(p.entryFile(), "utf8"));
    expect(entry.key).toBe(cacheKey(p.file, VALID));
    expect(entry.config).not.toHaveProperty("file");
    expect(entry.source.text).toBe(VALID);
    expect(entry.warnings).toHaveLength(1);
  });

  it("an unchanged file is taken from the cache, not parsed again", async () => {
    const p = setup();
    await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    // Mark the entry: a hit returns what it holds.
    const entry = JSON.parse(readFileSync(p.entryFile(), "utf8"));
    entry.config.identities[0].subject.commonName = "from the cache";
    entry.warnings = [];
    writeFileSync(p.entryFile(), JSON.stringify(entry));
    const { config, warnings } = await loadConfig("./pki.yaml", { cwd: p.dir, env: p.env });
    expect(config.file).toBe("./pki.yaml");
    expect(config.identities[0]!.subject.commonName).toBe("from the cache");
    expect(warnings).toEqual([]);
  });

  it("an edited file is parsed again, from the entry's remembered text, and the entry replaced", async () => {
    const p = setup();
    await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    const edited = VALID.replace("validity: 4m", "validity: 30d");
    writeFileSync(p.file, edited);
    const { config, warnings } = await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    expect(config.identities.find((i) => i.name === "web")!.validitySeconds).toBe(30 * 86_400);
    expect(warnings).toEqual([]);
    expect(JSON.parse(readFileSync(p.entryFile(), "utf8"))).toMatchObject({ key: cacheKey(p.file, edited), source: { text: edited }, warnings: [] });
    // An edit that breaks it is refused as a whole parse would refuse it.
    writeFileSync(p.file, edited.replace("validity: 30d", "validity: 30x"));
    expect((await thrown(loadConfig("pki.yaml", { cwd: p.dir, env: p.env }))).diagnostics!.map((d) => d.line)).toEqual([5]);
  });

  it("PROVISION_NO_CACHE=1 neither reads nor writes the cache", async () => {
    const p = setup();
    await loadConfig("pki.yaml", { cwd: p.dir, env: { ...p.env, PROVISION_NO_CACHE: "1" } });
    expect(readdirSync(p.dir)).toEqual(["pki.yaml"]);
    await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    const entry = JSON.parse(readFileSync(p.entryFile(), "utf8"));
    entry.config.identities[0].subject.commonName = "from the cache";
    writeFileSync(p.entryFile(), JSON.stringify(entry));
    const { config } = await loadConfig("pki.yaml", { cwd: p.dir, env: { ...p.env, PROVISION_NO_CACHE: "1" } });
    expect(config.identities[0]!.subject.commonName).toBe("root");
  });

  it("a cache folder that cannot be written costs nothing but the cache", async () => {
    const p = setup();
    writeFileSync(path.join(p.dir, "cache"), "a file where the cache folder would go");
    const { config } = await loadConfig("pki.yaml", { cwd: p.dir, env: p.env });
    expect(config.identities).toHaveLength(2);
  });

  it("loadConfigText validates text without a file or the cache", async () => {
    const { config, warnings } = await loadConfigText(VALID, "given.yaml", { cwd: "/srv" });
    expect(config).toMatchObject({ file: "given.yaml", baseDir: "/srv" });
    expect(warnings).toHaveLength(1);
    expect(config).not.toHaveProperty("layout");
    const error = await thrown(loadConfigText("version: 1\n", "given.yaml"));
    expect([error.code, error.message]).toEqual(["invalid-config", "given.yaml is not valid (1 problem)"]);
  });
});

describe("the cache entry", () => {
  const config = { baseDir: "/x", outputDir: "/x/pki", identities: [] };

  it("lives under XDG_CACHE_HOME, else HOME/.cache, else the user's home", () => {
    expect(userCacheDir({ XDG_CACHE_HOME: "/c", HOME: "/h" })).toBe("/c/provision");
    expect(userCacheDir({ XDG_CACHE_HOME: "", HOME: "/h" })).toBe("/h/.cache/provision");
    expect(userCacheDir({})).toBe(path.join(homedir(), ".cache", "provision"));
  });

  it("the key covers the code, the path and the exact text", () => {
    expect(codeFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    expect(codeFingerprint()).toBe(codeFingerprint());
    const key = cacheKey("/a/pki.yaml", "version: 1\n");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey("/a/pki.yaml", "version: 1\n")).toBe(key);
    expect(cacheKey("/b/pki.yaml", "version: 1\n")).not.toBe(key);
    expect(cacheKey("/a/pki.yaml", "version: 1\n\n")).not.toBe(key);
  });

  it("is one file per pki.yaml path, written whole and read back", () => {
    const p = setup();
    writeConfigCache(p.env, "/a/pki.yaml", { key: "k1", config, warnings: [] });
    writeConfigCache(p.env, "/b/pki.yaml", { key: "k2", config, warnings: [] });
    writeConfigCache(p.env, "/a/pki.yaml", { key: "k3", config, warnings: [] });
    expect(readdirSync(p.cacheDir).sort()).toHaveLength(2);
    // Named by the first 32 hex digits of the path's SHA-256.
    const name = (file: string) => `${createHash("sha256").update(file).digest("hex").slice(0, 32)}.json`;
    expect(readdirSync(p.cacheDir).sort()).toEqual([name("/a/pki.yaml"), name("/b/pki.yaml")].sort());
    expect(readConfigCache(p.env, "/a/pki.yaml")).toEqual({ key: "k3", config, warnings: [] });
    expect(readConfigCache(p.env, "/c/pki.yaml")).toBeUndefined();
    expect(readConfigCache({ ...p.env, PROVISION_NO_CACHE: "1" }, "/a/pki.yaml")).toBeUndefined();
    expect(readConfigCache({ ...p.env, PROVISION_NO_CACHE: "0" }, "/a/pki.yaml")).toMatchObject({ key: "k3" });
  });

  it.each([
    ["not JSON", "{"],
    ["no key", JSON.stringify({ config, warnings: [] })],
    ["a key that is no string", JSON.stringify({ key: 1, config, warnings: [] })],
    ["no identities", JSON.stringify({ key: "k", config: {}, warnings: [] })],
    ["no config", JSON.stringify({ key: "k", warnings: [] })],
    ["no warnings list", JSON.stringify({ key: "k", config, warnings: {} })],
  ])("an entry with %s is not used", (_what, content) => {
    const p = setup();
    writeConfigCache(p.env, "/a/pki.yaml", { key: "k", config, warnings: [] });
    writeFileSync(p.entryFile(), content);
    expect(readConfigCache(p.env, "/a/pki.yaml")).toBeUndefined();
  });

  it("its remembered text is used only while it still hashes to the entry's key", () => {
    const text = "version: 1\n";
    const layout = { sections: [], order: [] } as never;
    const entry = { key: cacheKey("/a/pki.yaml", text), config, warnings: [], source: { text, layout } };
    expect(rememberedSource(entry, "/a/pki.yaml")).toEqual({ text, layout });
    expect(rememberedSource(entry, "/b/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: { text: "version: 2\n", layout } }, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: { text: 5, layout } } as never, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: { text, layout: { sections: [] } } } as never, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: { text, layout: { order: [] } } } as never, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: { text } } as never, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource({ ...entry, source: undefined }, "/a/pki.yaml")).toBeUndefined();
    expect(rememberedSource(undefined, "/a/pki.yaml")).toBeUndefined();
  });
});
