import { cpSync, existsSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provision, squirrelsYaml } from "../helpers/cli.js";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.js";

/**
 * Random mutations of a valid state.json and pki.yaml (fast-check, fixed seed): keys dropped, duplicated
 * and renamed, values replaced by wrong types, `..` paths, absolute paths, huge numbers. Every run must
 * end with exit 0, 1 (or 2 for plan) and a message, never a stack trace or "This is a bug", and must not
 * change anything outside the project folder. One generated PKI is copied for each run.
 */

const SEED = 20261129;
const TMPFS_MAGIC = 0x01021994;
// Thousands of runs each fsync state.json: on a tmpfs that costs nothing.
const BASE = existsSync("/dev/shm") && statfsSync("/dev/shm").type === TMPFS_MAGIC ? "/dev/shm" : tmpdir();
let template: Sandbox;
let sandbox: Sandbox;
let outsideBefore: string;
const YAML = squirrelsYaml();

beforeAll(async () => {
  template = makeSandbox(undefined, BASE);
  writeFileSync(path.join(template.dir, "pki.yaml"), YAML);
  const first = await provision([], { cwd: template.dir });
  if (first.code !== 0) throw new Error(first.stderr);
  // A retired root certificate, so the mutations have one to aim at.
  const state = JSON.parse(readFileSync(path.join(template.out, "state.json"), "utf8"));
  state.retired = { root: [{ fingerprint: state.identities.root.facts.fingerprint, notAfter: "2099-01-01T00:00:00.000Z", until: "2099-01-01T00:00:00.000Z" }] };
  writeFileSync(path.join(template.out, "state.json"), JSON.stringify(state, null, 2));
  sandbox = makeSandbox(undefined, BASE);
  outsideBefore = sandbox.outside();
}, 60_000);
afterAll(() => {
  template?.remove();
  sandbox?.remove();
});

const hostileString = fc.constantFrom(
  "", "..", "../../../victim.txt", "../victim-dir", "/proc/self/environ", "/etc/passwd", "cas/root/key.pem", "cas/../../victim.txt",
  "__proto__", "constructor", "toString", "hasOwnProperty", "ca", "server", "client", "ab".repeat(32), "zz".repeat(32),
  "2099-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "not a date", "a\0b", "x".repeat(5000), "ecdsa-p256", "rsa-1024", "-----BEGIN PRIVATE KEY-----",
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, [], {}, [null], { file: "../../victim.txt" }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const hostileName = fc.oneof(fc.constantFrom("__proto__", "constructor", "toString", "../x", "../../victim-dir", "/abs", "..", ".", "ghost", "a".repeat(70), "alice", "root", "retired", "cas"), fc.string({ maxLength: 12 }));

interface Mutation {
  picks: number[];
  op: "delete" | "set" | "rename" | "duplicate" | "wrap";
  value: unknown;
  name: string;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  picks: fc.array(fc.nat({ max: 50 }), { minLength: 0, maxLength: 5 }),
  op: fc.constantFrom("delete", "set", "rename", "duplicate", "wrap"),
  value: hostileValue,
  name: hostileName,
});

/** Applies one mutation at a node found by walking `picks` (each an index into the children, modulo their count). */
function mutate(root: unknown, m: Mutation): unknown {
  if (m.picks.length === 0) return m.op === "set" ? m.value : m.op === "wrap" ? [root] : root;
  let parent: unknown = root;
  let key: string | number | undefined;
  for (const pick of m.picks) {
    const node: unknown = key === undefined ? parent : (parent as Record<string | number, unknown>)[key];
    if (node === null || typeof node !== "object") break;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    if (key !== undefined) parent = node;
    key = keys[pick % keys.length]!;
  }
  if (key === undefined || parent === null || typeof parent !== "object") return m.op === "set" ? m.value : root;
  const container = parent as Record<string | number, unknown>;
  const current = container[key];
  switch (m.op) {
    case "delete":
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key];
      break;
    case "set":
      container[key] = m.value;
      break;
    case "wrap":
      container[key] = [current];
      break;
    case "rename":
    case "duplicate":
      if (Array.isArray(container)) container.push(structuredClone(current));
      else {
        Object.defineProperty(container, m.name, { value: structuredClone(current), enumerable: true, writable: true, configurable: true });
        if (m.op === "rename" && m.name !== key) delete container[key];
      }
  }
  return root;
}

const RUNS = { state: 1200, yaml: 600 };
/** How the runs ended: a fuzz run that never reaches the interesting paths proves nothing. */
const tally = { ok: 0, error: 0, ignoredState: 0 };
const COMMANDS = [[], ["--prune"], ["plan"], ["status"]] as const;

async function runOnce(files: { state?: string; yaml?: string }, args: readonly string[]): Promise<void> {
  rmSync(sandbox.dir, { recursive: true, force: true });
  cpSync(template.dir, sandbox.dir, { recursive: true, preserveTimestamps: true });
  if (files.state !== undefined) writeFileSync(path.join(sandbox.out, "state.json"), files.state);
  if (files.yaml !== undefined) writeFileSync(path.join(sandbox.dir, "pki.yaml"), files.yaml);
  const run = await provision([...args], { cwd: sandbox.dir, env: { PROVISION_NO_CACHE: "1" } });
  const output = run.stdout + run.stderr;
  const allowed = args[0] === "plan" ? [0, 1, 2] : [0, 1];
  expect(allowed, output).toContain(run.code);
  if (run.code === 1) expect(run.stderr, output).toMatch(/^(.*\n)*error: .+/);
  expect(output).not.toMatch(/This is a bug|unexpected error|internal error|\n\s+at .+:\d+:\d+/);
  expect(sandbox.outside(), "something outside the project changed").toBe(outsideBefore);
  if (run.code === 1) tally.error++;
  else tally.ok++;
  if (/state\.json .*ignored, rebuilt from the files/.test(output)) tally.ignoredState++;
}

describe("fuzz (fast-check, fixed seed)", () => {
  it(`${RUNS.state} mutations of state.json: exit 0/1/2 with a message, nothing written outside`, async () => {
    const original = JSON.parse(readFileSync(path.join(template.out, "state.json"), "utf8"));
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.nat({ max: COMMANDS.length - 1 }), async (mutations, command) => {
        let state: unknown = structuredClone(original);
        for (const m of mutations) state = mutate(state, m);
        await runOnce({ state: JSON.stringify(state) }, COMMANDS[command]!);
      }),
      { seed: SEED, numRuns: RUNS.state, endOnFailure: true },
    );
    expect(tally.ignoredState, JSON.stringify(tally)).toBeGreaterThan(RUNS.state / 3);
    expect(tally.ok, JSON.stringify(tally)).toBeGreaterThan(RUNS.state / 2);
  }, 240_000);

  it(`${RUNS.yaml} mutations of pki.yaml: exit 0/1/2 with a message, nothing written outside`, async () => {
    const original = parseYaml(YAML);
    const textual = fc.record({ at: fc.nat(), cut: fc.nat({ max: 20 }), insert: fc.constantFrom("", "\0", "\t", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "<<: *a\n", "\n  ", '"', "'", "#", "..\n", "---\n") });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.option(textual, { freq: 3 }), fc.nat({ max: COMMANDS.length - 1 }), async (mutations, edit, command) => {
        let doc: unknown = structuredClone(original);
        for (const m of mutations) doc = mutate(doc, m);
        let text = stringifyYaml(doc);
        if (edit) {
          const at = edit.at % (text.length + 1);
          text = text.slice(0, at) + edit.insert + text.slice(at + edit.cut);
        }
        await runOnce({ yaml: text }, COMMANDS[command]!);
      }),
      { seed: SEED, numRuns: RUNS.yaml, endOnFailure: true },
    );
    expect(tally.error, JSON.stringify(tally)).toBeGreaterThan(RUNS.yaml / 4);
  }, 240_000);
});
