import { createHash } from "node:crypto";
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provision, squirrelsYaml } from "../helpers/cli.js";
import { fingerprintTree, makeSandbox, type Sandbox } from "../helpers/sandbox.js";
import { parseConfig } from "../../src/config/parse.js";

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

// A PEM header where a name or key type belongs; a certificate's, since errors echo the value's first 40
// characters and the suite's secrets check (test/global-setup.ts) would take a private key's for a leak.
const hostileString = fc.constantFrom(
  "", "..", "../../../victim.txt", "../victim-dir", "/proc/self/environ", "/etc/passwd", "cas/root/key.pem", "cas/../../victim.txt",
  "__proto__", "constructor", "toString", "hasOwnProperty", "ca", "server", "client", "ab".repeat(32), "zz".repeat(32),
  "2099-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "not a date", "a\0b", "x".repeat(5000), "ecdsa-p256", "rsa-1024", "-----BEGIN CERTIFICATE-----",
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

const RUNS = { state: 1200, yaml: 3000 };
/** How the runs ended: a fuzz run that never reaches the interesting paths proves nothing. */
const tally = { ok: 0, error: 0, ignoredState: 0, outputBeside: 0, outputElsewhere: 0 };
const COMMANDS = [[], ["--prune"], ["plan"], ["status"]] as const;

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
};

/**
 * The output folder a mutated pki.yaml names, when it lies outside the project (`output: ..`,
 * `../victim-dir`, `/etc/passwd`), as provision itself resolves it. pki.yaml is trusted input: its author
 * may send the output anywhere (`/srv/pki`), and provision writes there by design, so such a mutation is
 * not held to "nothing outside the project changes". Instead: beside the project (inside the sandbox) the
 * command runs and may only add or change files inside that folder, never touch a file that was there
 * before; anywhere else (the real file system) only the read-only `plan` runs.
 */
function outputOutsideProject(yaml: string): string | null {
  const { config } = parseConfig(yaml, "pki.yaml", { cwd: sandbox.dir });
  return config && !inside(config.outputDir, sandbox.dir) ? config.outputDir : null;
}

/** Every file and link below `root` except `skip`, with a hash of its content and mtime. */
function filesBelow(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (full === skip) continue;
      const info = lstatSync(full);
      if (info.isDirectory()) walk(full);
      else out.set(full, `${info.mode}:${info.mtimeMs}:${info.isFile() ? createHash("sha256").update(readFileSync(full)).digest("hex") : readlinkSync(full)}`);
    }
  };
  walk(root);
  return out;
}

// Copying the template tree costs three times an invalid pki.yaml's whole run, so the tree is copied again
// only when a run changed it: the fingerprint leaves out the two files every run rewrites.
let dirty = true;
const rewritten = () => new Set([path.join(sandbox.dir, "pki.yaml"), path.join(sandbox.out, "state.json")]);
let templatePrint: string | undefined;

async function runOnce(files: { state?: string; yaml?: string }, args: readonly string[]): Promise<void> {
  if (dirty) {
    rmSync(sandbox.dir, { recursive: true, force: true });
    cpSync(template.dir, sandbox.dir, { recursive: true, preserveTimestamps: true });
    templatePrint ??= fingerprintTree(sandbox.dir, rewritten());
  }
  for (const file of ["pki.yaml", "pki/state.json"]) cpSync(path.join(template.dir, file), path.join(sandbox.dir, file), { preserveTimestamps: true });
  if (files.state !== undefined) writeFileSync(path.join(sandbox.out, "state.json"), files.state);
  if (files.yaml !== undefined) writeFileSync(path.join(sandbox.dir, "pki.yaml"), files.yaml);
  const escaping = files.yaml === undefined ? null : outputOutsideProject(files.yaml);
  const beside = escaping !== null && inside(escaping, sandbox.parent);
  if (escaping !== null && !beside) args = ["plan"];
  const outsideFiles = beside ? filesBelow(sandbox.parent, sandbox.dir) : null;
  const run = await provision([...args], { cwd: sandbox.dir, env: { PROVISION_NO_CACHE: "1" } });
  const output = run.stdout + run.stderr;
  const allowed = args[0] === "plan" ? [0, 1, 2] : [0, 1];
  expect(allowed, output).toContain(run.code);
  if (run.code === 1) expect(run.stderr, output).toMatch(/^(.*\n)*error: .+/);
  expect(output).not.toMatch(/This is a bug|unexpected error|internal error|\n\s+at .+:\d+:\d+/);
  if (outsideFiles) {
    const after = filesBelow(sandbox.parent, sandbox.dir);
    for (const [file, print] of outsideFiles) expect(after.get(file), `${file} (there before the run) changed; output: ${escaping}`).toBe(print);
    for (const file of after.keys()) if (!outsideFiles.has(file)) expect(inside(file, escaping!), `${file} written outside the output folder ${escaping}`).toBe(true);
    // Start the next run from clean decoys.
    sandbox.remove();
    sandbox = makeSandbox(undefined, BASE);
    outsideBefore = sandbox.outside();
    tally.outputBeside++;
  } else {
    expect(sandbox.outside(), "something outside the project changed").toBe(outsideBefore);
    if (escaping !== null) tally.outputElsewhere++;
  }
  dirty = !existsSync(sandbox.out) || fingerprintTree(sandbox.dir, rewritten()) !== templatePrint;
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
    // Both kinds of escaping output were tried (see outputOutsideProject).
    expect(tally.outputBeside, JSON.stringify(tally)).toBeGreaterThan(0);
    expect(tally.outputElsewhere, JSON.stringify(tally)).toBeGreaterThan(0);
  }, 240_000);
});
