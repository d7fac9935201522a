import { createPrivateKey, sign, X509Certificate } from "node:crypto";
import forge from "node-forge";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPki } from "../../src/api.js";
import type { Config } from "../../src/config/types.js";
import { caCertReader, readObservedCrls } from "../../src/store/read-crls.js";
import { parseState } from "../../src/store/state-parse.js";
import { emptyState } from "../../src/store/state-file.js";
import { provisionBin } from "../helpers/cli.js";
import { fixtureFolder } from "../helpers/fixtures.js";

/**
 * readObservedCrls against the CRLs a real run signed, copied per case and then damaged: a CRL is believed
 * (its entries, its number) only when the CA's current key signed it; state.json only raises the number.
 */
const YAML = `version: 1
cas:
  root: {}
  int: { issuer: root }
servers:
  web: { issuer: int, altNames: [web.test] }
  old: { issuer: int, altNames: [old.test] }
`;
const REVOKED = YAML.replace("altNames: [old.test] }", "altNames: [old.test], revoked: true, revokedReason: keyCompromise }");

let base: string;
let template: string;
let other: string;

let revokedSerial: string;

/**
 * Two runs of the built binary (old is created, then revoked) in a child process: what beforeAll runs in the
 * test process is static to Stryker (docs/MUTATION.md), and read-crls.ts's mutants would not be measured.
 */
async function provisionInto(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache") };
  writeFileSync(path.join(dir, "pki.yaml"), YAML);
  expect((await provisionBin([], { cwd: dir, env })).code).toBe(0);
  const serial = new X509Certificate(readFileSync(path.join(dir, "pki/servers/old/cert.pem"))).serialNumber;
  writeFileSync(path.join(dir, "pki.yaml"), REVOKED);
  const run = await provisionBin([], { cwd: dir, env });
  expect(run.code, run.stderr).toBe(0);
  return serial;
}

let fixtures: { dir: string; drop: () => void } | undefined;

beforeAll(async () => {
  fixtures = await fixtureFolder("provision-read-crls-", YAML + REVOKED, async (dir) => {
    writeFileSync(path.join(dir, "revoked-serial"), await provisionInto(path.join(dir, "template")));
    await provisionInto(path.join(dir, "other"));
  });
  base = fixtures.dir;
  template = path.join(base, "template");
  other = path.join(base, "other");
  revokedSerial = readFileSync(path.join(base, "revoked-serial"), "utf8");
}, 60_000);
// The cases are removed one by one: the fixture folder they sit in may be shared (test/helpers/fixtures.ts).
const cases: string[] = [];
afterAll(() => {
  for (const dir of cases) rmSync(dir, { recursive: true, force: true });
  fixtures?.drop();
});

async function fresh(): Promise<{ out: string; config: Config; stateText: string }> {
  const dir = realpathSync(mkdtempSync(path.join(base, "case-")));
  cases.push(dir);
  cpSync(template, dir, { recursive: true });
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache") };
  const out = path.join(dir, "pki");
  return { out, config: (await loadPki("pki.yaml", { cwd: dir, env })).config, stateText: readFileSync(path.join(out, "state.json"), "utf8") };
}

const fromDisk = (config: Config) => caCertReader(config, () => undefined);

describe("readObservedCrls", () => {
  it("every CA's CRL as signed: its text, number, times and entries; crl-bundle.pem as written; leaves have none", async () => {
    const { out, config, stateText } = await fresh();
    const { state } = parseState(stateText);
    const { crls, bundlePem } = readObservedCrls(config, state, fromDisk(config));
    expect([...crls.keys()]).toEqual(["root", "int"]);
    const int = crls.get("int")!;
    expect(int.problem).toBeNull();
    expect(int.pem).toBe(readFileSync(path.join(out, "cas/int/crl.pem"), "utf8"));
    expect(int.number).toBe(state.crls.get("int")!.number);
    expect(int.number).toBeGreaterThan(crls.get("root")!.number!);
    expect(int.thisUpdate).toBe(state.crls.get("int")!.thisUpdate);
    expect(int.nextUpdate).toBe(state.crls.get("int")!.nextUpdate);
    expect(int.entries).toHaveLength(1);
    expect(int.entries[0]!.serial).toBe(revokedSerial.toLowerCase().replace(/^0+/, ""));
    expect(int.entries[0]!.reason).toBe("keyCompromise");
    expect(crls.get("root")).toMatchObject({ problem: null, entries: [] });
    expect(bundlePem).toBe(readFileSync(path.join(out, "crl-bundle.pem"), "utf8"));
  });

  it("state.json raises the CRL number, never lowers it; without state.json the CRL's own number stands", async () => {
    const { config, stateText } = await fresh();
    const { state } = parseState(stateText);
    const signed = state.crls.get("int")!.number;
    state.crls.set("int", { ...state.crls.get("int")!, number: signed + 40 });
    state.crls.set("root", { ...state.crls.get("root")!, number: 0 });
    const { crls } = readObservedCrls(config, state, fromDisk(config));
    expect(crls.get("int")!.number).toBe(signed + 40);
    expect(crls.get("root")!.number).toBe(parseState(stateText).state.crls.get("root")!.number);
    expect(readObservedCrls(config, emptyState(), fromDisk(config)).crls.get("int")!.number).toBe(signed);
  });

  it("a missing crl.pem is missing (the recorded number kept); one that is no CRL is unreadable; no bundle is null", async () => {
    const { out, config, stateText } = await fresh();
    const { state } = parseState(stateText);
    rmSync(path.join(out, "cas/int/crl.pem"));
    writeFileSync(path.join(out, "cas/root/crl.pem"), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
    rmSync(path.join(out, "crl-bundle.pem"));
    const { crls, bundlePem } = readObservedCrls(config, state, fromDisk(config));
    expect(crls.get("int")).toEqual({ ca: "int", pem: null, number: state.crls.get("int")!.number, thisUpdate: null, nextUpdate: null, entries: [], problem: "missing" });
    expect(crls.get("root")).toMatchObject({ pem: "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", number: state.crls.get("root")!.number, thisUpdate: null, nextUpdate: null, entries: [], problem: "crl.pem unreadable" });
    expect(bundlePem).toBeNull();
    expect(readObservedCrls(config, emptyState(), fromDisk(config)).crls.get("int")!.number).toBeNull();
  });

  it("a CRL another CA signed (same name, other key) is not believed: none of its entries, and the problem said", async () => {
    const { out, config, stateText } = await fresh();
    for (const ext of ["pem", "der"]) cpSync(path.join(other, `pki/cas/int/crl.${ext}`), path.join(out, `cas/int/crl.${ext}`));
    const { crls } = readObservedCrls(config, parseState(stateText).state, fromDisk(config));
    expect(crls.get("int")).toMatchObject({ problem: "not signed by the CA's current key", entries: [] });
    expect(crls.get("int")!.nextUpdate).not.toBeNull();
    expect(crls.get("root")!.problem).toBeNull();
  });

  it("no certificate to check it with, or one that does not parse: not signed", async () => {
    const { config, stateText } = await fresh();
    const { state } = parseState(stateText);
    expect(readObservedCrls(config, state, () => null).crls.get("int")).toMatchObject({ problem: "not signed by the CA's current key", entries: [] });
    expect(readObservedCrls(config, state, () => "not a certificate").crls.get("int")!.problem).toBe("not signed by the CA's current key");
  });

  it("crl.der that is missing or not crl.pem's bytes is a problem of a signed CRL (its entries still believed)", async () => {
    const { out, config, stateText } = await fresh();
    const { state } = parseState(stateText);
    rmSync(path.join(out, "cas/int/crl.der"));
    cpSync(path.join(out, "cas/int/crl.pem"), path.join(out, "cas/root/crl.der"));
    const { crls } = readObservedCrls(config, state, fromDisk(config));
    expect(crls.get("int")).toMatchObject({ problem: "crl.der does not match crl.pem" });
    expect(crls.get("int")!.entries).toHaveLength(1);
    expect(crls.get("root")!.problem).toBe("crl.der does not match crl.pem");
  });
});

/** int's CRL re-signed by int's key without its nextUpdate (RFC 5280 requires one; provision never writes such a CRL). */
function withoutNextUpdate(out: string): void {
  const { asn1 } = forge;
  const pem = readFileSync(path.join(out, "cas/int/crl.pem"), "utf8");
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64");
  const list = asn1.fromDer(der.toString("binary"));
  const [tbs, algorithm] = list.value as forge.asn1.Asn1[];
  (tbs!.value as forge.asn1.Asn1[]).splice(4, 1);
  const tbsDer = Buffer.from(asn1.toDer(tbs!).getBytes(), "binary");
  const signature = sign("sha256", tbsDer, createPrivateKey(readFileSync(path.join(out, "cas/int/key.pem"))));
  const bits = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString("binary")}`);
  const resigned = Buffer.from(asn1.toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [tbs!, algorithm!, bits])).getBytes(), "binary");
  writeFileSync(path.join(out, "cas/int/crl.der"), resigned);
  writeFileSync(path.join(out, "cas/int/crl.pem"), `-----BEGIN X509 CRL-----\n${resigned.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END X509 CRL-----\n`);
}

describe("readObservedCrls, a CRL without nextUpdate", () => {
  it("signed by the CA but without nextUpdate: kept as read, with the problem said (it is re-signed)", async () => {
    const { out, config, stateText } = await fresh();
    withoutNextUpdate(out);
    const int = readObservedCrls(config, parseState(stateText).state, fromDisk(config)).crls.get("int")!;
    expect(int).toMatchObject({ problem: "no nextUpdate", nextUpdate: null });
    expect(int.entries).toHaveLength(1);
  });
});

describe("caCertReader", () => {
  it("the certificate the observation holds, else the one in the CA's folder, else null", async () => {
    const { out, config } = await fresh();
    const read = caCertReader(config, (ca) => (ca === "root" ? "held" : undefined));
    expect(read("root")).toBe("held");
    expect(read("int")).toBe(readFileSync(path.join(out, "cas/int/cert.pem"), "utf8"));
    expect(read("gone")).toBeNull();
  });
});
