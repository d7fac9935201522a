// Property tests (fast-check, fixed seed): for random valid pki.yaml files — hierarchy depth, key types,
// alt names of every type inside the name constraints, validities, a --now from 1950 to 2150 — every issued
// chain passes `openssl verify -x509_strict` at that time, and a re-run writes nothing. The twin: a name
// outside the constraints is refused by `provision plan`, before anything is written.
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";
import { opensslVerify } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

const SEED = 20261129;
const RUNS = { chains: 24, outside: 60 };

// The subtrees a CA may permit, and for each a generator of names inside it. Excluded subtrees are chosen so
// that no generated name falls in them (labels never start with "secret"; 10.x addresses avoid 10.9/16).
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/).filter((l) => !l.startsWith("secret"));
const EXCLUDED = ["secret.example.test", "10.9.0.0/16"];
type Kind = "dns" | "ip" | "email";
const SUBTREES: { text: string; kind: Kind; name: fc.Arbitrary<string> }[] = [
  { text: "example.test", kind: "dns", name: fc.oneof(fc.constant("example.test"), label.map((l) => `${l}.example.test`), label.map((l) => `*.${l}.example.test`)) },
  { text: ".svc.test", kind: "dns", name: fc.tuple(label, label).map(([a, b]) => `${a}.${b}.svc.test`) },
  { text: "localhost", kind: "dns", name: fc.constant("localhost") },
  { text: "10.0.0.0/8", kind: "ip", name: fc.tuple(fc.integer({ min: 0, max: 255 }).filter((b) => b !== 9), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`) },
  { text: "127.0.0.0/8", kind: "ip", name: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `127.${a}.${b}.${c}`) },
  { text: "fd00::/8", kind: "ip", name: fc.array(fc.nat(0xffff), { minLength: 3, maxLength: 3 }).map((g) => `fd12:${g.map((x) => x.toString(16)).join(":")}::1`) },
  { text: "::1/128", kind: "ip", name: fc.constant("::1") },
  { text: "@example.test", kind: "email", name: label.map((l) => `${l}@example.test`) },
  { text: "@.mail.test", kind: "email", name: fc.tuple(label, label).map(([a, b]) => `${a}@${b}.mail.test`) },
];
// URIs are not matched against DNS subtrees (README), so any host will do; some carry non-ASCII text.
// (No spiffe:// here: a SPIFFE ID needs a path of plain segments and no other URI beside it, test/config/uri.test.ts.)
const uri = fc.tuple(fc.constantFrom("https", "wss"), label, fc.constantFrom("", "/a", "/ü/€", "/p?q=ß#frag")).map(([s, l, p]) => `${s}://${l}.example.test${p}`);

const KEYS = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("ecdsa-p256", "ecdsa-p384") }, { weight: 1, arbitrary: fc.constant("rsa-2048") });

interface CaSpec { name: string; issuer?: string; key: string; days: number; permitted: number[] | null; excluded: boolean }
interface LeafSpec { name: string; kind: "servers" | "clients"; issuer: number; key: string; validity: string; names: { subtree: number | "uri"; value: string }[] }
interface Spec { cas: CaSpec[]; leaves: LeafSpec[]; now: string }

/** One or two roots, each with a line of 0–2 intermediates that may narrow their issuer's constraints. */
const casArb: fc.Arbitrary<CaSpec[]> = fc
  .array(
    fc.record({
      depth: fc.nat(2),
      key: KEYS,
      days: fc.integer({ min: 30, max: 36500 }),
      permitted: fc.option(fc.subarray([...SUBTREES.keys()], { minLength: 1 }), { freq: 2 }),
      excluded: fc.boolean(),
      below: fc.array(fc.record({ key: KEYS, fraction: fc.double({ min: 0.05, max: 1, noNaN: true }), narrow: fc.boolean(), seed: fc.nat() }), { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 2 },
  )
  .map((roots) => {
    const cas: CaSpec[] = [];
    roots.forEach((root, r) => {
      let parent: CaSpec = { name: `root${r}`, key: root.key, days: root.days, permitted: root.permitted, excluded: root.excluded };
      cas.push(parent);
      root.below.forEach((ca, i) => {
        // A narrower child keeps a non-empty subset of its parent's subtrees, so it lies inside every CA above it.
        const permitted = ca.narrow && parent.permitted && parent.permitted.length > 1 ? parent.permitted.filter((_, k) => (ca.seed >> k) & 1 || k === 0) : null;
        const child: CaSpec = { name: `ca${r}-${i}`, issuer: parent.name, key: ca.key, days: Math.max(1, Math.floor(parent.days * ca.fraction)), permitted, excluded: false };
        cas.push(child);
        parent = child;
      });
    });
    return cas;
  });

/** For each type, the subtrees a name of that type must be in: those of the deepest CA on the path that lists that type. */
function allowedSubtrees(cas: CaSpec[], issuer: number): Map<Kind, number[] | null> {
  const path: CaSpec[] = [];
  for (let ca: CaSpec | undefined = cas[issuer]; ca; ca = cas.find((c) => c.name === ca!.issuer)) path.push(ca);
  const out = new Map<Kind, number[] | null>();
  for (const kind of ["dns", "ip", "email"] as const) {
    const listing = path.find((ca) => ca.permitted?.some((s) => SUBTREES[s]!.kind === kind));
    out.set(kind, listing ? listing.permitted!.filter((s) => SUBTREES[s]!.kind === kind) : null);
  }
  return out;
}

const specArb: fc.Arbitrary<Spec> = casArb.chain((cas) =>
  fc.record({
    cas: fc.constant(cas),
    now: fc.date({ min: new Date("1950-01-01T00:00:00Z"), max: new Date("2150-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString()),
    leaves: fc.array(
      fc.record({ kind: fc.constantFrom("servers" as const, "clients" as const), issuer: fc.nat(cas.length - 1), key: KEYS, minutes: fc.boolean(), length: fc.integer({ min: 10, max: 824 }), picks: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 4 }) })
        .chain((leaf) => {
          const allowed = allowedSubtrees(cas, leaf.issuer);
          // Each pick chooses a subtree allowed for the leaf (or any, for an unconstrained type) or a URI.
          const choices = SUBTREES.map((s, i) => ({ s, i })).filter(({ s, i }) => allowed.get(s.kind) === null || allowed.get(s.kind)!.includes(i));
          const names = leaf.picks.map(([which, , isUri]) => (isUri ? uri.map((value) => ({ subtree: "uri" as const, value })) : choices[which % choices.length]!.s.name.map((value) => ({ subtree: choices[which % choices.length]!.i, value }))));
          const days = Math.min(leaf.length, cas[leaf.issuer]!.days);
          return fc.tuple(...names).map((picked) => ({ leaf, picked, validity: leaf.minutes ? `${leaf.length}m` : `${days}d` }));
        })
        .map(({ leaf, picked, validity }): Omit<LeafSpec, "name"> => ({ kind: leaf.kind, issuer: leaf.issuer, key: leaf.key, validity, names: picked })),
      { minLength: 1, maxLength: 4 },
    ).map((leaves) => leaves.map((leaf, i) => ({ ...leaf, name: `${leaf.kind === "servers" ? "s" : "c"}${i}` }))),
  }),
);

/** The spec as pki.yaml; alt names are deduplicated (a duplicate is an error of its own). */
function toYaml(spec: Spec, extraName?: { leaf: number; value: string }): string {
  const cas = new Map<string, unknown>();
  for (const ca of spec.cas) {
    cas.set(ca.name, {
      ...(ca.issuer ? { issuer: ca.issuer } : {}),
      key: ca.key,
      validity: `${ca.days}d`,
      ...(ca.permitted ? { nameConstraints: { permitted: ca.permitted.map((s) => SUBTREES[s]!.text), ...(ca.excluded ? { excluded: EXCLUDED } : {}) } } : {}),
    });
  }
  const section = (kind: LeafSpec["kind"]) =>
    Object.fromEntries(
      spec.leaves.flatMap((leaf, i) =>
        leaf.kind !== kind ? [] : [[leaf.name, { issuer: spec.cas[leaf.issuer]!.name, key: leaf.key, validity: leaf.validity, altNames: [...new Set([...leaf.names.map((n) => n.value), ...(extraName?.leaf === i ? [extraName.value] : [])])] }]],
      ),
    );
  return stringifyYaml({ version: 1, cas: Object.fromEntries(cas), servers: section("servers"), clients: section("clients") });
}

const seen = new Map<string, number>(["two intermediates", "constraints", "narrowed", "excluded", "rsa-2048", "ecdsa-p384", "ip", "ipv6", "email", "non-ASCII URI", "wildcard", "minutes", "before 2050", "after 2049"].map((k) => [k, 0]));
function tallyOf(spec: Spec, yaml: string): void {
  const bump = (what: string, when: boolean) => when && seen.set(what, seen.get(what)! + 1);
  bump("two intermediates", spec.cas.some((ca) => /^ca\d-1$/.test(ca.name)));
  bump("constraints", spec.cas.some((ca) => ca.permitted));
  bump("narrowed", spec.cas.some((ca) => ca.issuer && ca.permitted));
  bump("excluded", spec.cas.some((ca) => ca.permitted && ca.excluded));
  bump("rsa-2048", yaml.includes("rsa-2048"));
  bump("ecdsa-p384", yaml.includes("ecdsa-p384"));
  const names = spec.leaves.flatMap((leaf) => leaf.names.map((n) => n.value));
  bump("ip", names.some((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)));
  bump("ipv6", names.some((n) => n.includes("::")));
  bump("email", names.some((n) => n.includes("@")));
  bump("non-ASCII URI", names.some((n) => n.includes("://") && /[^\x00-\x7f]/.test(n)));
  bump("wildcard", names.some((n) => n.startsWith("*.")));
  bump("minutes", spec.leaves.some((leaf) => leaf.validity.endsWith("m")));
  bump("before 2050", spec.now < "2050");
  bump("after 2049", spec.now >= "2050");
}

let base: string;
beforeAll(() => {
  requireTool("openssl", "openssl");
  base = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-property-")));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let counter = 0;
function freshProject(yaml: string): { dir: string; out: string } {
  const dir = path.join(base, `p${counter++}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "pki.yaml"), yaml);
  return { dir, out: path.join(dir, "pki") };
}

describe("random valid specs (fast-check, fixed seed)", () => {
  it(`${RUNS.chains} specs: every chain passes openssl verify -x509_strict at --now, and a re-run writes nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const yaml = toYaml(spec);
        tallyOf(spec, yaml);
        const p = freshProject(yaml);
        try {
          const first = await provision(["--now", spec.now], { cwd: p.dir });
          expect(first.code, `${yaml}\n${first.stderr}`).toBe(0);
          // One openssl run per issuer and purpose: leaves of one issuer share a chain.pem.
          const attime = String(Date.parse(spec.now) / 1000 + 60);
          const groups = new Map<string, string[]>();
          for (const leaf of spec.leaves) {
            const key = `${leaf.kind}/${leaf.issuer}`;
            groups.set(key, [...(groups.get(key) ?? []), leaf.name]);
          }
          for (const [key, names] of groups) {
            const kind = key.split("/")[0] as LeafSpec["kind"];
            const dir = (n: string) => path.join(p.out, kind, n);
            const result = await opensslVerify(dir(names[0]!) + "/cert.pem", [
              "-attime", attime, "-purpose", kind === "servers" ? "sslserver" : "sslclient",
              "-CAfile", path.join(p.out, "ca-bundle.pem"), "-untrusted", path.join(dir(names[0]!), "chain.pem"),
              ...names.slice(1).map((n) => path.join(dir(n), "cert.pem")),
            ]);
            expect(result.output.match(/: OK$/gm)?.length ?? 0, `${yaml}\n${result.output}`).toBe(names.length);
          }
          const before = snapshotTree(p.out);
          const again = await provision(["--now", spec.now], { cwd: p.dir });
          expect(again.code, again.stderr).toBe(0);
          expect(snapshotTree(p.out), `a re-run changed files\n${yaml}`).toEqual(before);
        } finally {
          rmSync(p.dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: RUNS.chains, endOnFailure: true },
    );
    // The generator reaches every corner it is meant to: a property over easy specs only proves little.
    for (const [what, count] of seen) expect(count, `${what}: ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
  }, 120_000);

  // Names just outside each kind of subtree, or inside an excluded one.
  const OUTSIDE: Record<Kind, string[]> = {
    dns: ["badexample.test", "example.test.evil", "x.svc.test.evil", "localhost.evil", "secret.example.test", "a.secret.example.test"],
    ip: ["11.0.0.1", "10.9.0.1", "128.0.0.1", "fe00::1", "::2"],
    email: ["a@badexample.test", "a@mail.test", "a@evil.test"],
  };
  it(`${RUNS.outside} specs with one name outside the constraints: plan refuses it, naming the name, and writes nothing`, async () => {
    const constrained = specArb.filter((spec) => spec.cas.some((ca) => ca.permitted));
    await fc.assert(
      fc.asyncProperty(constrained, fc.nat(), fc.nat(), async (spec, leafPick, namePick) => {
        // A leaf under a constrained CA, and a name of a type that some CA on its path constrains.
        const candidates = spec.leaves.map((leaf, i) => ({ leaf, i, allowed: allowedSubtrees(spec.cas, leaf.issuer) })).filter(({ allowed }) => [...allowed.values()].some((v) => v !== null));
        fc.pre(candidates.length > 0);
        const { leaf, i, allowed } = candidates[leafPick % candidates.length]!;
        const outside = [...allowed.entries()].flatMap(([kind, subtrees]) =>
          subtrees === null ? [] : OUTSIDE[kind].filter((name) => !subtrees.some((s) => insideByText(name, SUBTREES[s]!.text)) || isExcluded(spec, leaf.issuer, name)),
        );
        fc.pre(outside.length > 0);
        const name = outside[namePick % outside.length]!;
        const p = freshProject(toYaml(spec, { leaf: i, value: name }));
        try {
          const run = await provision(["plan", "--now", spec.now], { cwd: p.dir });
          expect(run.code, run.stdout + run.stderr).toBe(1);
          expect(run.stderr).toContain(`"${name}" is outside the name constraints of CA`);
          expect(existsSync(p.out)).toBe(false);
        } finally {
          rmSync(p.dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: RUNS.outside, endOnFailure: true },
    );
  }, 60_000);
});

/** Whether a name from OUTSIDE happens to lie inside a subtree (so it is no counterexample there). Written out, not taken from src/. */
function insideByText(name: string, subtree: string): boolean {
  if (subtree.startsWith("@")) return name.endsWith(subtree.startsWith("@.") ? subtree.slice(1) : subtree);
  if (subtree.includes("/")) {
    if (subtree === "10.0.0.0/8") return /^10\./.test(name);
    if (subtree === "127.0.0.0/8") return /^127\./.test(name);
    if (subtree === "fd00::/8") return /^fd/.test(name);
    return name === "::1";
  }
  return subtree.startsWith(".") ? name.endsWith(subtree) : name === subtree || name.endsWith(`.${subtree}`);
}

function isExcluded(spec: Spec, issuer: number, name: string): boolean {
  for (let ca: CaSpec | undefined = spec.cas[issuer]; ca; ca = spec.cas.find((c) => c.name === ca!.issuer)) {
    if (ca.permitted && ca.excluded && (name.endsWith("secret.example.test") || name.startsWith("10.9."))) return true;
  }
  return false;
}
