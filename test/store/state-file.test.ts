import { describe, expect, it } from "vitest";
import { emptyState, serializeState, type StateRecord } from "../../src/store/state-file.js";
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
