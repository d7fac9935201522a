import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyPki, loadPki } from "../../src/api.js";
import { parseStateCached } from "../../src/store/state-cache.js";
import { emptyState, serializeState, stateFromWrittenText, type StateFile, type StateRecord } from "../../src/store/state-file.js";
import { parseState } from "../../src/store/state-parse.js";
import type { CertificateFacts } from "../../src/x509/spec.js";

// A one-change run keeps the records of the identities it did not touch, with the JSON they were read with
// (state-file.ts's stateFromWrittenText, apply/state.ts's keptOrFresh). What it writes must be, byte for byte,
// what serialising every record afresh gives.

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const time = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }).map((ms) => new Date(ms).toISOString());
const stamp = fc.oneof(fc.constant(null), fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `${a}:${b}:${c}.5:${c}`));
const altName = fc.oneof(
  fc.stringMatching(/^[a-z0-9.-]{1,20}$/).map((value) => ({ type: "dns" as const, value })),
  fc.constantFrom("10.0.0.1", "::1", "fd00::1").map((value) => ({ type: "ip" as const, value })),
  fc.constantFrom("ops@web.test", "a+b@x.test").map((value) => ({ type: "email" as const, value })),
  fc.constantFrom("spiffe://web.test/a:b", "https://x.test/?q=\"1\"").map((value) => ({ type: "uri" as const, value })),
);
const subtree = fc.oneof(
  fc.constantFrom(".test", "web.test").map((value) => ({ type: "dns" as const, value })),
  fc.constantFrom(["10.0.0.0", 8], ["fd00::", 8]).map(([value, prefix]) => ({ type: "ip" as const, value: value as string, prefix: prefix as number })),
);
const subject = fc.record({ commonName: fc.string({ maxLength: 12 }), organization: fc.string({ maxLength: 8 }) }, { requiredKeys: ["commonName"] });
const facts: fc.Arbitrary<CertificateFacts> = fc
  .record({
    serial: hex(16),
    fingerprint: hex(64),
    notBefore: time,
    notAfter: time,
    subject,
    issuer: subject,
    altNames: fc.array(altName, { maxLength: 4 }),
    keyType: fc.constantFrom("ecdsa-p256" as const, "rsa-2048" as const, null),
    isCa: fc.boolean(),
    pathLength: fc.option(fc.nat(3)),
    nameConstraints: fc.option(fc.record({ permitted: fc.array(subtree, { maxLength: 2 }), excluded: fc.array(subtree, { maxLength: 2 }) })),
    subjectKeyId: fc.option(hex(8)),
    authorityKeyId: fc.option(hex(8)),
    extKeyUsage: fc.array(fc.constantFrom("serverAuth", "clientAuth"), { maxLength: 2 }),
    crlUrls: fc.array(fc.constant("http://crl.test/root.der"), { maxLength: 1 }),
  }, { requiredKeys: ["serial", "fingerprint", "notBefore", "notAfter", "subject", "issuer", "altNames", "keyType", "isCa", "pathLength", "nameConstraints", "subjectKeyId", "authorityKeyId", "extKeyUsage"] });
const record: fc.Arbitrary<StateRecord> = fc
  .tuple(fc.constantFrom("ca" as const, "server" as const, "client" as const), hex(64), hex(64), fc.option(fc.constantFrom("CA_PASS", "P")), fc.boolean(), fc.option(fc.tuple(stamp, stamp, stamp)), fc.option(hex(64)), facts)
  .map(([kind, certSha256, keySha256, passphraseEnv, kdf, stamps, issuerFingerprint, f]) => ({
    kind,
    certSha256,
    keySha256,
    passphraseEnv,
    ...(passphraseEnv !== null && kdf ? { keyKdf: "pbkdf2-sha256:600000" } : {}),
    ...(stamps ? { stamps: kind === "ca" ? { cert: stamps[0], key: stamps[1] } : { cert: stamps[0], key: stamps[1], chain: stamps[2], fullchain: stamps[0] } } : {}),
    issuerFingerprint,
    facts: f,
  }));
// Integer-like names too: JavaScript orders them first in an object, state.json by name.
const name = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/).filter((n) => !n.includes("..")), fc.integer({ min: 0, max: 999 }).map(String));
const state: fc.Arbitrary<StateFile> = fc
  .tuple(fc.uniqueArray(fc.tuple(name, record), { selector: ([n]) => n, maxLength: 12 }), fc.array(fc.tuple(hex(64), time), { maxLength: 2 }), fc.option(fc.tuple(fc.nat(50), time)))
  .map(([identities, retired, crl]) => {
    const s = emptyState();
    for (const [n, r] of identities) s.identities.set(n, r);
    if (retired.length) s.retired.set("root", retired.map(([fingerprint, t]) => ({ fingerprint, notAfter: t, until: t })));
    if (crl) s.crls.set("root", { number: crl[0], thisUpdate: crl[1], nextUpdate: crl[1] });
    for (const [n] of identities.slice(0, 2)) s.issued.push({ name: n, kind: "server", issuer: "root", serial: "1f", notAfter: "2099-01-01T00:00:00.000Z", revoked: null });
    if (identities[0]) s.revokedNames.set(identities[0][0], { kind: "server", at: "2030-01-01T00:00:00.000Z" });
    return s;
  });

/** The same state with no record remembering any JSON: what a full serialisation starts from. */
const afresh = (s: StateFile): StateFile => structuredClone(s);

describe("state.json read back as written", () => {
  it("a written text reads back as the state parseState makes of it, and an edited state serialises as if every record were new", () => {
    fc.assert(
      fc.property(state, fc.array(fc.tuple(fc.nat(), fc.option(record)), { maxLength: 4 }), record, (s, edits, added) => {
        const text = serializeState(s);
        const read = stateFromWrittenText(text);
        expect(read).not.toBeNull();
        expect(read).toEqual(parseState(text).state);
        expect(serializeState(read!)).toBe(text);
        // Records replaced (new objects), removed or added, as a run does: the kept ones bring their lines.
        const names = [...read!.identities.keys()];
        for (const [index, replacement] of edits) {
          if (!names.length) break;
          const at = names[index % names.length]!;
          if (replacement) read!.identities.set(at, replacement);
          else read!.identities.delete(at);
        }
        read!.identities.set("added", added);
        expect(serializeState(read!)).toBe(serializeState(afresh(read!)));
      }),
      { seed: 20261129, numRuns: 300 },
    );
  });

  it("a text in another layout is not read as written (failing twin)", () => {
    const s = emptyState();
    s.identities.set("web", { kind: "server", certSha256: "ab".repeat(32), keySha256: "cd".repeat(32), passphraseEnv: null, issuerFingerprint: null, facts: { serial: "1", fingerprint: "ef".repeat(32), notBefore: "2030-01-01T00:00:00.000Z", notAfter: "2031-01-01T00:00:00.000Z", subject: {}, issuer: {}, altNames: [{ type: "dns", value: "web.test" }], keyType: "ecdsa-p256", isCa: false, pathLength: null, nameConstraints: null, subjectKeyId: null, authorityKeyId: null, extKeyUsage: [] } });
    s.identities.set("api", s.identities.get("web")!);
    const text = serializeState(s);
    expect(stateFromWrittenText(text)).not.toBeNull();
    expect(stateFromWrittenText(JSON.stringify(JSON.parse(text), null, 2))).toBeNull();
    expect(stateFromWrittenText(text.replace('\n"web":', '"web":'))).toBeNull();
    expect(stateFromWrittenText(text.replace('"dns:web.test"', '"host:web.test"'))).toBeNull();
    expect(stateFromWrittenText(text.replace("}\n}", "}\n,\"x\":1}"))).toBeNull();
  });
});

let dir = "";
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const pkiYaml = (n: number, alt0: string) =>
  `version: 1\ndefaults: { key: ecdsa-p256 }\ncas:\n  root: { validity: 10y }\n  int: { issuer: root, pathLength: 0, validity: 2y }\nservers:\n${Array.from({ length: n }, (_, i) => `  s${i}: { issuer: int, altNames: [${i === 0 ? alt0 : `s${i}.test`}], validity: 90d }\n`).join("")}`;

describe("one change among many", () => {
  it("rewrites state.json with one record serialised anew, the others kept line for line, and the same bytes a full serialisation gives", async () => {
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-written-state-")));
    const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache") };
    const run = async () => applyPki((await loadPki("pki.yaml", { cwd: dir, env })).config, { env });
    writeFileSync(path.join(dir, "pki.yaml"), pkiYaml(30, "s0.test"));
    await run();
    const out = path.join(dir, "pki");
    const before = readFileSync(path.join(out, "state.json"), "utf8");
    // Remembered as written: the cache entry holds no state of its own.
    const cacheDir = path.join(dir, "cache/provision/state");
    const entry = JSON.parse(readFileSync(path.join(cacheDir, readdirSync(cacheDir)[0]!), "utf8")) as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual(["key", "written"]);

    writeFileSync(path.join(dir, "pki.yaml"), pkiYaml(30, "s0-renamed.test"));
    const stringify = vi.spyOn(JSON, "stringify");
    await run();
    const recordsSerialised = stringify.mock.calls.filter(([value]) => typeof value === "object" && value !== null && "certSha256" in value).length;
    stringify.mockRestore();
    // The re-issued s0 only (a mutation that builds every record anew serialises 32).
    expect(recordsSerialised).toBe(1);

    const after = readFileSync(path.join(out, "state.json"), "utf8");
    const parsed = parseState(after);
    expect(parsed.problems).toEqual([]);
    expect(serializeState(afresh(parsed.state))).toBe(after);
    const lines = (text: string) => new Map(text.split("\n").filter((l) => l.startsWith('"')).map((l) => [l.slice(0, l.indexOf('":') + 1), l]));
    const [was, now] = [lines(before), lines(after)];
    expect([...now.keys()]).toEqual([...was.keys()]);
    for (const [key, line] of now) if (key !== '"s0"') expect(line, key).toBe(was.get(key));
    expect(now.get('"s0"')).not.toBe(was.get('"s0"'));
    const s0 = parsed.state.identities.get("s0")!;
    expect(s0.certSha256).toBe(createHash("sha256").update(readFileSync(path.join(out, "servers/s0/cert.pem"))).digest("hex"));
    expect(s0.facts.altNames).toEqual([{ type: "dns", value: "s0-renamed.test" }]);
    // Read back through the cache: the state the text holds.
    expect(await parseStateCached(env, out, after)).toEqual(parsed);
  }, 60_000);
});
