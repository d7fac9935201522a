import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyPki, loadPki } from "../../src/api.js";
import { parseStateCached } from "../../src/store/state-cache.js";
import { parseState } from "../../src/store/state-parse.js";
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
    // Remembered by apply as written; the same text read back through the cache gives the same state.
    const folder = path.join(dir, "cache/provision/state");
    const entry = JSON.parse(readFileSync(path.join(folder, readdirOne(folder)), "utf8")) as { identities: [string, unknown][]; retired: [string, unknown][] };
    expect(new Map(entry.identities)).toEqual(parsed.state.identities);
    expect(new Map(entry.retired)).toEqual(parsed.state.retired);
    expect(await parseStateCached(env, out, text)).toEqual(parsed);

    // Failing twin: an edited state.json is validated again, whatever the cache holds.
    const edited = text.replace(/"certSha256":"[0-9a-f]{64}"/, '"certSha256":"not-a-hash"');
    expect(edited).not.toBe(text);
    const reparsed = await parseStateCached(env, out, edited);
    expect(reparsed.problems.join()).toMatch(/certSha256/);
    expect(reparsed.state.identities.size).toBe(3);
  });
});

function readdirOne(folder: string): string {
  const names = readdirSync(folder).filter((n) => n.endsWith(".json"));
  expect(names).toHaveLength(1);
  return names[0]!;
}
