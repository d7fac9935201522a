import { describe, expect, it } from "vitest";
import { compareIssued, emptyState, serializeState, stateFromWrittenText, subtreeFromText, type StateRecord } from "../../src/store/state-file.js";
import { parseState } from "../../src/store/state-parse.js";
import type { CertificateFacts } from "../../src/x509/spec.js";

const facts: CertificateFacts = {
  serial: "4a01",
  fingerprint: "ab".repeat(32),
  notBefore: "2027-01-01T00:00:00.000Z",
  notAfter: "2028-01-01T00:00:00.000Z",
  subject: { commonName: "Root" },
  issuer: { commonName: "Root" },
  altNames: [{ type: "dns", value: "web.test" }, { type: "ip", value: "::1" }, { type: "email", value: "ops@web.test" }, { type: "uri", value: "spiffe://web.test/a:b" }],
  keyType: "ecdsa-p256",
  isCa: true,
  pathLength: 0,
  nameConstraints: { permitted: [{ type: "dns", value: ".test" }, { type: "email", value: "web.test" }, { type: "ip", value: "fd00::", prefix: 8 }], excluded: [{ type: "ip", value: "10.0.0.0", prefix: 8 }] },
  subjectKeyId: "01",
  authorityKeyId: null,
  extKeyUsage: [],
};
const record: StateRecord = { kind: "ca", certSha256: "cd".repeat(32), keySha256: "ef".repeat(32), passphraseEnv: null, issuerFingerprint: null, facts };

function stateWith(r: StateRecord): string {
  const state = emptyState();
  state.identities.set("root", r);
  return serializeState(state);
}

describe("state.json keeps CertificateFacts", () => {
  it("round-trips typed alt names and name constraints, as one type:value string each", () => {
    const text = stateWith(record);
    expect(text).toContain('"altNames":["dns:web.test","ip:::1","email:ops@web.test","uri:spiffe://web.test/a:b"]');
    expect(text).toContain('"nameConstraints":{"permitted":["dns:.test","email:web.test","ip:fd00::/8"],"excluded":["ip:10.0.0.0/8"]}');
    const { state, problems } = parseState(text);
    expect(problems).toEqual([]);
    expect(state.identities.get("root")!.facts).toEqual(facts);
    expect(serializeState(state)).toBe(text);
  });

  it("an entry whose name constraints have no type (as versions before 0.2 wrote them) is read from the files instead", () => {
    const legacy = stateWith(record).replace('"permitted":["dns:.test","email:web.test","ip:fd00::/8"]', '"permitted":[".test","web.test","fd00::/8"]');
    const { state, problems } = parseState(legacy);
    expect(state.identities.has("root")).toBe(false);
    expect(problems).toEqual([expect.stringMatching(/^state\.json has 1 entry that does not fit \(identities\.root: facts\.nameConstraints\.permitted\.0: a name constraint without its type/)]);
  });

  it("a subject with a field provision does not write makes the entry not fit; every field it writes is taken", () => {
    const odd = stateWith(record).replace('"subject":{"commonName":"Root"}', '"subject":{"commonName":"Root","email":"x@y.test"}');
    expect(parseState(odd).problems).toEqual([expect.stringMatching(/facts\.subject: Unrecognized key/)]);
    const full = { country: "NO", state: "Oslo", locality: "Oslo", organization: "Squirrels", organizationalUnit: "Web", commonName: "Root" };
    const { state, problems } = parseState(stateWith({ ...record, facts: { ...facts, subject: full } }));
    expect(problems).toEqual([]);
    expect(state.identities.get("root")!.facts.subject).toEqual(full);
  });

  it("an alt name of no known type makes the entry not fit", () => {
    const bad = stateWith(record).replace('"dns:web.test"', '"host:web.test"');
    expect(parseState(bad).problems).toEqual([expect.stringMatching(/facts\.altNames\.0: expected type:value/)]);
  });
});

/**
 * state.json is untrusted input (whoever can push to the branch holding the output folder writes it): a file
 * that does not parse is ignored whole, an entry that does not fit is ignored alone, and the problem says
 * which. Each case changes one thing of a valid file, so the twin that passes is the file it started from.
 */
describe("a hostile state.json", () => {
  const H = (c: string) => c.repeat(64);
  const issued = { name: "web", kind: "server", issuer: "root", serial: "1f", notAfter: "2028-01-01T00:00:00Z", revoked: null };
  const valid = () => structuredClone({
    version: 1,
    identities: { root: JSON.parse(JSON.stringify({ ...record, facts: { ...facts, altNames: ["dns:web.test"], nameConstraints: { permitted: ["dns:.test", "ip:10.0.0.0/8"], excluded: [] } } })) },
    retired: { root: [{ fingerprint: H("a"), notAfter: "2027-06-01T00:00:00Z" }] },
    crls: { root: { number: 3, thisUpdate: "2027-01-01T00:00:00Z", nextUpdate: "2027-01-08T00:00:00Z" } },
    issued: [issued],
    revokedNames: { old: { kind: "client", at: "2027-02-01T00:00:00Z" } },
  });
  type Top = ReturnType<typeof valid>;
  const parse = (edit: (s: Top & Record<string, any>) => void) => {
    const s = valid();
    edit(s as Top & Record<string, any>);
    return parseState(JSON.stringify(s));
  };
  /** The one problem a one-entry edit gives, without the frame around it. */
  const problemOf = (edit: (s: Top & Record<string, any>) => void): string => {
    const { problems } = parse(edit);
    expect(problems).toHaveLength(1);
    const m = /^state\.json has 1 entry that does not fit \((.*)\); ignored, rebuilt from the files$/.exec(problems[0]!);
    expect(m, problems[0]).not.toBeNull();
    return m![1]!;
  };
  const fact = (edit: (f: Record<string, any>) => void) => (s: Top & Record<string, any>) => edit(s.identities.root.facts);
  const rec = (edit: (r: Record<string, any>) => void) => (s: Top & Record<string, any>) => edit(s.identities.root);

  it("the valid file is read whole: every section, with a retired entry's `until` defaulting to its notAfter", () => {
    const { state, problems } = parse(() => {});
    expect(problems).toEqual([]);
    expect(state.identities.get("root")!.facts.nameConstraints).toEqual({ permitted: [{ type: "dns", value: ".test" }, { type: "ip", value: "10.0.0.0", prefix: 8 }], excluded: [] });
    expect(state.retired.get("root")).toEqual([{ fingerprint: H("a"), notAfter: "2027-06-01T00:00:00Z", until: "2027-06-01T00:00:00Z" }]);
    expect(state.crls.get("root")).toEqual({ number: 3, thisUpdate: "2027-01-01T00:00:00Z", nextUpdate: "2027-01-08T00:00:00Z" });
    expect(state.issued).toEqual([issued]);
    expect(state.revokedNames.get("old")).toEqual({ kind: "client", at: "2027-02-01T00:00:00Z" });
    const until = parse((s) => ((s.retired.root[0] as Record<string, unknown>).until = "2029-01-01T00:00:00Z")).state.retired.get("root")![0]!;
    expect(until.until).toBe("2029-01-01T00:00:00Z");
  });

  it("no file, or the file as serializeState wrote it for an empty state, is an empty state without problems", () => {
    expect(parseState(null)).toEqual({ state: emptyState(), problems: [] });
    expect(serializeState(emptyState())).toBe('{"version":1,"identities":{},"retired":{},"crls":{},"issued":[],"revokedNames":{}}\n');
    expect(parseState(serializeState(emptyState()))).toEqual({ state: emptyState(), problems: [] });
    expect(parseState('{"version":1,"identities":{}}')).toEqual({ state: emptyState(), problems: [] });
  });

  it("a file that is not JSON, or not state.json's layout, is ignored whole, and the problem says why", () => {
    const whole = (text: string) => {
      const { state, problems } = parseState(text);
      expect(state).toEqual(emptyState());
      expect(problems).toHaveLength(1);
      return problems[0];
    };
    expect(whole("{ nope")).toMatch(/^state\.json is not valid JSON \(.+\); ignored, rebuilt from the files$/);
    expect(whole("")).toMatch(/^state\.json is not valid JSON/);
    expect(whole('{"version":2,"identities":{}}')).toMatch(/^state\.json does not have the expected layout \(version: .+\); ignored, rebuilt from the files$/);
    expect(whole("[1,2]")).toBe("state.json does not have the expected layout (Invalid input: expected object, received array); ignored, rebuilt from the files");
    expect(whole('{"version":1,"identities":[]}')).toBe("state.json does not have the expected layout (identities: expected an object); ignored, rebuilt from the files");
    expect(whole('{"version":1,"identities":null}')).toMatch(/\(identities: expected an object\)/);
    expect(whole('{"version":1,"identities":{},"paths":{}}')).toMatch(/expected layout \(.*paths/);
    expect(whole('{"version":1,"identities":{},"issued":{}}')).toMatch(/expected layout \(issued: /);
  });

  it("an entry under a name that is no identity name is ignored, whatever it holds; the other entries are kept", () => {
    for (const name of ["../etc", "a/b", ".hidden", "x".repeat(65), "__proto__", "a..b"]) {
      const text = JSON.stringify(valid()).replace('"identities":{"root"', `"identities":{${JSON.stringify(name)}:{},"root"`);
      const { state, problems } = parseState(text);
      expect(problems).toEqual([`state.json has 1 entry that does not fit (identities[${JSON.stringify(name)}]: not a valid identity name); ignored, rebuilt from the files`]);
      expect([...state.identities.keys()]).toEqual(["root"]);
    }
    expect(problemOf((s) => ((s.retired as Record<string, unknown>)["../x"] = []))).toBe('retired["../x"]: not a valid identity name');
    expect(problemOf((s) => ((s.crls as Record<string, unknown>)["a/b"] = s.crls.root))).toBe('crls["a/b"]: not a valid identity name');
    expect(problemOf((s) => ((s.revokedNames as Record<string, unknown>)[".x"] = s.revokedNames.old))).toBe('revokedNames[".x"]: not a valid identity name');
    expect(problemOf((s) => (s.issued[0]!.name = "../web"))).toBe("issued[0]: name: not a valid identity name");
    expect(problemOf((s) => (s.issued[0]!.issuer = "a/b"))).toBe("issued[0]: issuer: not a valid identity name");
  });

  it("an identity record is checked field by field", () => {
    const cases: [(s: Top & Record<string, any>) => void, RegExp][] = [
      [rec((r) => (r.certSha256 = H("A"))), /^identities\.root: certSha256: /],
      [rec((r) => (r.certSha256 = "c".repeat(63))), /^identities\.root: certSha256: /],
      [rec((r) => (r.keySha256 = "e".repeat(65))), /^identities\.root: keySha256: /],
      [rec((r) => (r.keySha256 = ` ${"e".repeat(64)}`)), /^identities\.root: keySha256: /],
      [rec((r) => (r.kind = "admin")), /^identities\.root: kind: /],
      [rec((r) => (r.passphraseEnv = "1PASS")), /^identities\.root: passphraseEnv: /],
      [rec((r) => (r.passphraseEnv = "PASS-PHRASE")), /^identities\.root: passphraseEnv: /],
      [rec((r) => (r.passphraseEnv = "PASS\nX")), /^identities\.root: passphraseEnv: /],
      [rec((r) => (r.keyKdf = "k".repeat(101))), /^identities\.root: keyKdf: /],
      [rec((r) => (r.stamps = { cert: "1", key: "2", other: "3" })), /^identities\.root: stamps: Unrecognized key/],
      [rec((r) => (r.stamps = { cert: "s".repeat(201), key: null })), /^identities\.root: stamps\.cert: /],
      [rec((r) => (r.issuerFingerprint = "ab")), /^identities\.root: issuerFingerprint: /],
      [rec((r) => (r.path = "/etc/passwd")), /^identities\.root: Unrecognized key/],
      [fact((f) => (f.serial = "")), /facts\.serial: /],
      [fact((f) => (f.serial = "0".repeat(129))), /facts\.serial: /],
      [fact((f) => (f.serial = "4A01")), /facts\.serial: /],
      [fact((f) => (f.fingerprint = "ab".repeat(31))), /facts\.fingerprint: /],
      [fact((f) => (f.notBefore = "2027-01-01")), /facts\.notBefore: expected an ISO-8601 time/],
      [fact((f) => (f.notBefore = "2027-13-01T00:00:00Z")), /facts\.notBefore: expected an ISO-8601 time/],
      [fact((f) => (f.notAfter = "2027-01-01T00:00:00+01:00")), /facts\.notAfter: expected an ISO-8601 time/],
      [fact((f) => (f.notAfter = "x2027-01-01T00:00:00Z")), /facts\.notAfter: expected an ISO-8601 time/],
      [fact((f) => (f.notAfter = "2027-01-01T00:00:00.Z")), /facts\.notAfter: expected an ISO-8601 time/],
      // Times JavaScript reads but state.json does not write: an extended year, anything after the Z.
      [fact((f) => (f.notAfter = "+002027-01-01T00:00:00Z")), /facts\.notAfter: expected an ISO-8601 time/],
      [fact((f) => (f.notAfter = "2027-01-01T00:00:00Z\n")), /facts\.notAfter: expected an ISO-8601 time/],
      [fact((f) => (f.keyType = "dsa-1024")), /facts\.keyType: /],
      [fact((f) => (f.isCa = "yes")), /facts\.isCa: /],
      [fact((f) => (f.pathLength = -1)), /facts\.pathLength: /],
      [fact((f) => (f.pathLength = 1001)), /facts\.pathLength: /],
      [fact((f) => (f.pathLength = 1.5)), /facts\.pathLength: /],
      [fact((f) => (f.subjectKeyId = "XY")), /facts\.subjectKeyId: /],
      [fact((f) => (f.authorityKeyId = "")), /facts\.authorityKeyId: /],
      [fact((f) => (f.altNames = ["web.test"])), /facts\.altNames\.0: expected type:value with type dns, ip, email or uri$/],
      [fact((f) => (f.altNames = [":web.test"])), /facts\.altNames\.0: expected type:value/],
      [fact((f) => (f.altNames = ["dnsx"])), /facts\.altNames\.0: expected type:value/],
      [fact((f) => (f.nameConstraints.permitted = ["dnsx"])), /facts\.nameConstraints\.permitted\.0: a name constraint without its type/],
      // (uri: is a type: an external CA's certificate can hold URI subtrees; a directoryName is not modelled.)
      [fact((f) => (f.nameConstraints.permitted = ["dirname:CN=x"])), /facts\.nameConstraints\.permitted\.0: a name constraint without its type/],
      [fact((f) => (f.nameConstraints.excluded = ["ip:10.0.0.0"])), /facts\.nameConstraints\.excluded\.0: a name constraint without its type/],
      [fact((f) => (f.nameConstraints.excluded = ["ip:10.0.0.0/1000"])), /facts\.nameConstraints\.excluded\.0: /],
      [fact((f) => (f.nameConstraints.excluded = ["ip:/8"])), /facts\.nameConstraints\.excluded\.0: /],
      [fact((f) => (f.crlUrls = Array(17).fill("http://x.test/crl"))), /facts\.crlUrls: /],
      [fact((f) => (f.crlUrls = ["h".repeat(1025)])), /facts\.crlUrls\.0: /],
    ];
    for (const [edit, expected] of cases) expect(problemOf(edit)).toMatch(expected);
  });

  it("and the edge values those checks allow are taken", () => {
    const ok = (edit: (s: Top & Record<string, any>) => void) => {
      const result = parse(edit);
      expect(result.problems).toEqual([]);
      return result.state.identities.get("root")!;
    };
    expect(ok(fact((f) => (f.serial = "f".repeat(128)))).facts.serial).toHaveLength(128);
    expect(ok(fact((f) => (f.pathLength = 1000)))).toBeDefined();
    expect(ok(fact((f) => (f.notBefore = "2027-01-01T00:00:00.123456Z")))).toBeDefined();
    expect(ok(rec((r) => (r.passphraseEnv = "_pass_1")))).toBeDefined();
    expect(ok(rec((r) => (r.keyKdf = "k".repeat(100))))).toBeDefined();
    expect(ok(rec((r) => (r.stamps = { cert: "s".repeat(200), key: null, chain: "c" }))).stamps).toEqual({ cert: "s".repeat(200), key: null, chain: "c" });
    expect(ok(fact((f) => (f.crlUrls = Array(16).fill("h".repeat(1024))))).facts.crlUrls).toHaveLength(16);
    expect(ok(fact((f) => (f.nameConstraints.permitted = ["uri:.svc.test"]))).facts.nameConstraints!.permitted).toEqual([{ type: "uri", value: ".svc.test" }]);
    expect(ok(fact((f) => (f.altNames = ["uri:spiffe://t.test/a:b", "email:a@b.test"]))).facts.altNames).toEqual([{ type: "uri", value: "spiffe://t.test/a:b" }, { type: "email", value: "a@b.test" }]);
    expect(ok(fact((f) => (f.nameConstraints.permitted = ["email:b.test", "ip:fd00::/128"]))).facts.nameConstraints!.permitted).toEqual([{ type: "email", value: "b.test" }, { type: "ip", value: "fd00::", prefix: 128 }]);
  });

  it("retired, crls, issued and revokedNames entries are checked, and a bad one costs only itself", () => {
    expect(problemOf((s) => (s.retired.root[0]!.fingerprint = "../../x"))).toMatch(/^retired\.root: 0\.fingerprint: /);
    expect(problemOf((s) => ((s.retired.root[0] as Record<string, unknown>).until = "soon"))).toMatch(/^retired\.root: 0\.until: expected an ISO-8601 time/);
    expect(problemOf((s) => ((s.retired as Record<string, unknown>).root = Array(1001).fill(s.retired.root[0])))).toMatch(/^retired\.root: /);
    expect(parse((s) => ((s.retired as Record<string, unknown>).root = Array(1000).fill(s.retired.root[0]))).state.retired.get("root")).toHaveLength(1000);
    // Written by versions before 0.2: the path is ignored, the file comes from the fingerprint.
    const legacy = parse((s) => ((s.retired.root[0] as Record<string, unknown>).file = "/etc/passwd"));
    expect(legacy.problems).toEqual([]);
    expect(legacy.state.retired.get("root")).toEqual([{ fingerprint: H("a"), notAfter: "2027-06-01T00:00:00Z", until: "2027-06-01T00:00:00Z" }]);
    expect(parse((s) => ((s.retired as Record<string, unknown>).root = [])).state.retired.has("root")).toBe(false);

    expect(problemOf((s) => (s.crls.root.number = -1))).toMatch(/^crls\.root: number: /);
    expect(problemOf((s) => (s.crls.root.number = 1.5))).toMatch(/^crls\.root: number: /);
    expect(problemOf((s) => (s.crls.root.number = Number.MAX_SAFE_INTEGER + 1))).toMatch(/^crls\.root: number: /);
    expect(parse((s) => (s.crls.root.number = Number.MAX_SAFE_INTEGER)).state.crls.get("root")!.number).toBe(Number.MAX_SAFE_INTEGER);
    expect(parse((s) => (s.crls.root.number = 0)).state.crls.get("root")!.number).toBe(0);
    expect(problemOf((s) => ((s.crls.root as Record<string, unknown>).url = "x"))).toMatch(/^crls\.root: Unrecognized key/);

    for (const serial of ["00", "0a", "A", "", "1".repeat(129), "-1"]) expect(problemOf((s) => (s.issued[0]!.serial = serial))).toMatch(/^issued\[0\]: serial: /);
    for (const serial of ["0", "a", "10", "f".repeat(128)]) expect(parse((s) => (s.issued[0]!.serial = serial)).state.issued[0]!.serial).toBe(serial);
    expect(problemOf((s) => ((s.issued as unknown[]).push({ ...issued, revoked: { at: "2027-01-01T00:00:00Z", reason: "certificateHold" } })))).toMatch(/^issued\[1\]: revoked\.reason: /);
    const revoked = { ...issued, revoked: { at: "2027-01-01T00:00:00Z", reason: "keyCompromise" } };
    expect(parse((s) => ((s.issued as unknown[]).push(revoked))).state.issued).toEqual([issued, revoked]);

    expect(problemOf((s) => ((s.revokedNames.old as Record<string, unknown>).kind = "admin"))).toMatch(/^revokedNames\.old: kind: /);
    expect(problemOf((s) => ((s.revokedNames.old as Record<string, unknown>).at = "yesterday"))).toMatch(/^revokedNames\.old: at: /);
  });

  it("counts every entry that does not fit, lists the first five, and says how many more", () => {
    const bad = (n: number) => parse((s) => {
      for (let i = 0; i < n; i++) (s.issued as unknown[]).push({ ...issued, serial: "X" });
    });
    expect(bad(2).problems[0]).toMatch(/^state\.json has 2 entries that do not fit \(issued\[1\]: serial: [^;]+; issued\[2\]: serial: [^;]+\); ignored/);
    expect(bad(5).problems[0]).toMatch(/issued\[5\]: serial: [^;]+\); ignored/);
    expect(bad(6).problems[0]).toMatch(/^state\.json has 6 entries that do not fit \(.*issued\[5\]: serial: [^;]+; and 1 more\); ignored/);
    expect(bad(6).problems[0]).not.toMatch(/issued\[6\]/);
    expect(bad(6).state.issued).toEqual([issued]);
  });
});

describe("serializeState", () => {
  it("writes the same bytes whatever order the state was built in: names sorted, the ledger by CA then serial as a number", () => {
    const entry = (issuer: string, serial: string) => ({ name: "web", kind: "server" as const, issuer, serial, notAfter: "2028-01-01T00:00:00Z", revoked: null });
    const a = emptyState();
    const b = emptyState();
    for (const name of ["b", "a", "c"]) a.identities.set(name, record);
    for (const name of ["c", "a", "b"]) b.identities.set(name, record);
    a.issued = [entry("root", "100"), entry("int", "ff"), entry("root", "ff"), entry("root", "fe")];
    b.issued = [entry("root", "fe"), entry("root", "ff"), entry("root", "100"), entry("int", "ff")];
    for (const [name, n] of [["z", 1], ["y", 2]] as const) a.crls.set(name, { number: n, thisUpdate: "2027-01-01T00:00:00Z", nextUpdate: "2027-01-08T00:00:00Z" });
    for (const [name, n] of [["y", 2], ["z", 1]] as const) b.crls.set(name, { number: n, thisUpdate: "2027-01-01T00:00:00Z", nextUpdate: "2027-01-08T00:00:00Z" });
    a.revokedNames.set("q", { kind: "client", at: "2027-01-01T00:00:00Z" }).set("p", { kind: "server", at: "2027-01-01T00:00:00Z" });
    b.revokedNames.set("p", { kind: "server", at: "2027-01-01T00:00:00Z" }).set("q", { kind: "client", at: "2027-01-01T00:00:00Z" });
    a.retired.set("y", [{ fingerprint: "a".repeat(64), notAfter: "2027-01-01T00:00:00Z", until: "2027-01-01T00:00:00Z" }]).set("x", []);
    b.retired.set("y", [{ fingerprint: "a".repeat(64), notAfter: "2027-01-01T00:00:00Z", until: "2027-01-01T00:00:00Z" }]);
    const text = serializeState(a);
    expect(serializeState(b)).toBe(text);
    expect([...text.matchAll(/"issuer":"\w+","serial":"(\w+)"/g)].map((m) => m[1])).toEqual(["ff", "fe", "ff", "100"]);
    expect([...text.matchAll(/"issuer":"(\w+)"/g)].map((m) => m[1])).toEqual(["int", "root", "root", "root"]);
    expect(text.indexOf('"a":')).toBeLessThan(text.indexOf('"b":'));
    expect(text.indexOf('"b":')).toBeLessThan(text.indexOf('"c":'));
    expect(text).toContain('"crls":{"y":{"number":2,');
    expect(text).toContain('"revokedNames":{"p":');
    expect(text).toContain('"retired":{"y":[');
    expect(text).not.toContain('"x":[]');
    // One identity and one ledger entry per line.
    expect(text.split("\n").filter((l) => l.startsWith('{"name":"web"'))).toHaveLength(4);
    expect(text.split("\n").filter((l) => /^"[abc]":\{"kind"/.test(l))).toHaveLength(3);
    expect(parseState(text).problems).toEqual([]);
  });

  it("compareIssued: by CA, then by serial as a hexadecimal number", () => {
    const e = (issuer: string, serial: string) => ({ name: "w", kind: "server" as const, issuer, serial, notAfter: "2028-01-01T00:00:00Z", revoked: null });
    expect(compareIssued(e("a", "ff"), e("b", "1"))).toBeLessThan(0);
    expect(compareIssued(e("b", "1"), e("a", "ff"))).toBeGreaterThan(0);
    expect(compareIssued(e("a", "ff"), e("a", "100"))).toBeLessThan(0);
    expect(compareIssued(e("a", "100"), e("a", "ff"))).toBeGreaterThan(0);
    expect(compareIssued(e("a", "fe"), e("a", "ff"))).toBeLessThan(0);
    expect(compareIssued(e("a", "ff"), e("a", "fe"))).toBeGreaterThan(0);
    expect(compareIssued(e("a", "ff"), e("a", "ff"))).toBe(0);
  });
});

describe("stateFromWrittenText and subtreeFromText on what serializeState never writes", () => {
  it("a text that is not JSON, not an object, or not in serializeState's layout gives null", () => {
    const written = serializeState(emptyState());
    expect(stateFromWrittenText(written)).toEqual(emptyState());
    for (const text of ["{", "null", "[]", JSON.stringify(JSON.parse(written), null, 2)]) expect({ text, state: stateFromWrittenText(text) }).toEqual({ text, state: null });
  });

  it("only ip subtrees carry a prefix: another type with a range-looking value is none", () => {
    expect(subtreeFromText("ip:10.0.0.0/8")).toEqual({ type: "ip", value: "10.0.0.0", prefix: 8 });
    expect(subtreeFromText("dnsx:10.0.0.0/8")).toBeNull();
    expect(subtreeFromText("10.0.0.0/8")).toBeNull();
  });
});
