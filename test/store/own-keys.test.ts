import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readOwnCaKeys, recordOwnCaKeys } from "../../src/store/own-keys.js";

/**
 * The journal of CA keys this machine wrote (what lets a run killed between a CA's key.pem and its cert.pem be
 * finished without --adopt-ca-key), against a real cache folder: hostile or damaged journals are read as
 * "nothing recorded", never as a key to adopt.
 */
function cache(): { env: NodeJS.ProcessEnv; folder: string } {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-own-keys-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return { env: { XDG_CACHE_HOME: dir }, folder: path.join(dir, "provision", "own-ca-keys") };
}

const hash = (n: number) => createHash("sha256").update(String(n)).digest("hex");
const journalName = (out: string) => `${createHash("sha256").update(out).digest("hex").slice(0, 32)}.json`;

describe("own CA keys", () => {
  it("records hashes per output folder, in a private file in the user's cache, and reads them back", () => {
    const { env, folder } = cache();
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set());
    recordOwnCaKeys(env, "/srv/pki", [hash(1), hash(2)]);
    recordOwnCaKeys(env, "/srv/pki", [hash(2), hash(3)]);
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set([hash(1), hash(2), hash(3)]));
    expect(readOwnCaKeys(env, "/srv/other")).toEqual(new Set());
    expect(readdirSync(folder)).toEqual([journalName("/srv/pki")]);
    const file = path.join(folder, journalName("/srv/pki"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, "utf8")).toBe(`${JSON.stringify([hash(1), hash(2), hash(3)])}\n`);
  });

  it("keeps the last 256", () => {
    const { env } = cache();
    recordOwnCaKeys(env, "/srv/pki", Array.from({ length: 300 }, (_, i) => hash(i)));
    const kept = readOwnCaKeys(env, "/srv/pki");
    expect(kept.size).toBe(256);
    expect(kept.has(hash(43))).toBe(false);
    expect(kept.has(hash(44))).toBe(true);
    expect(kept.has(hash(299))).toBe(true);
  });

  it("nothing to record writes nothing", () => {
    const { env, folder } = cache();
    recordOwnCaKeys(env, "/srv/pki", []);
    expect(existsSync(folder)).toBe(false);
  });

  it("a damaged journal is read as empty, and entries that are not SHA-256 hex are dropped", () => {
    const { env, folder } = cache();
    mkdirSync(folder, { recursive: true });
    const file = path.join(folder, journalName("/srv/pki"));
    for (const text of ["not json", "{}", `{"0":"${hash(1)}"}`, "null", `"${hash(1)}"`]) {
      writeFileSync(file, text);
      expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set());
    }
    writeFileSync(file, JSON.stringify([hash(1), 7, null, hash(2).toUpperCase(), `${hash(3)}0`, `x${hash(4)}`, hash(5).slice(1), hash(6)]));
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set([hash(1), hash(6)]));
    // Recording over a damaged journal starts it afresh.
    writeFileSync(file, "garbage");
    recordOwnCaKeys(env, "/srv/pki", [hash(9)]);
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set([hash(9)]));
  });

  it("a cache that cannot be written is not an error (best effort)", () => {
    const { env, folder } = cache();
    mkdirSync(path.dirname(folder), { recursive: true });
    writeFileSync(folder, "a file where the folder should be");
    expect(() => recordOwnCaKeys(env, "/srv/pki", [hash(1)])).not.toThrow();
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set());
    rmSync(folder);
    mkdirSync(folder);
    mkdirSync(path.join(folder, journalName("/srv/pki")));
    chmodSync(folder, 0o700);
    expect(() => recordOwnCaKeys(env, "/srv/pki", [hash(1)])).not.toThrow();
    expect(readOwnCaKeys(env, "/srv/pki")).toEqual(new Set());
    // The rename onto the folder failed: the temp file written before it is not left in the user's cache.
    expect(readdirSync(folder)).toEqual([journalName("/srv/pki")]);
  });
});
