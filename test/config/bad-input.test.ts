import { cpSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";

/** A valid base; most cases change one line of it. Line numbers below refer to this layout. */
const BASE = `version: 1
cas:
  root:
    validity: 1y
  sub:
    issuer: root
    validity: 180d
    pathLength: 0
servers:
  web:
    issuer: sub
    altNames: [web.test, 127.0.0.1]
    validity: 30d
clients:
  bob:
    issuer: sub
`;

/** BASE with the line that starts with `find` replaced by `replace` (which may span lines). */
const edit = (find: string, replace: string) => {
  const lines = BASE.split("\n");
  const index = lines.findIndex((l) => l.startsWith(find));
  if (index < 0) throw new Error(`no line starts with ${find}`);
  lines.splice(index, 1, replace);
  return lines.join("\n");
};
const alt = (...names: string[]) => edit("    altNames:", `    altNames: [${names.join(", ")}]`);

interface Case {
  name: string;
  yaml: string;
  /** line, YAML path ("" when the message has none), message pattern */
  expect: [number | null, string, RegExp];
}

const CASES: Case[] = [
  // YAML syntax
  { name: "unclosed flow sequence", yaml: "version: 1\ncas: [\n", expect: [2, "", /this "\[" is not closed: end the list with "\]"/] },
  { name: "tab indentation", yaml: "version: 1\ncas:\n\troot: {}\n", expect: [3, "", /[Tt]ab/] },
  { name: "duplicate key", yaml: "version: 1\nversion: 1\ncas:\n  root: {}\n", expect: [2, "version", /duplicate key "version" \(first on line 1\); map keys must be unique/] },
  { name: "duplicate identity", yaml: "version: 1\ncas:\n  root: {}\n  root: {}\n", expect: [4, "cas.root", /duplicate key "root" \(first on line 3\)/] },
  { name: "unterminated quote", yaml: 'version: 1\ncas:\n  root: { commonName: "abc }\n', expect: [3, "", /this quoted value is not closed: add the closing "/] },
  { name: "bad indentation", yaml: "version: 1\ncas:\n  root:\n    validity: 1y\n   key: rsa-2048\n", expect: [5, "", /"key" is indented by 3 spaces, but the fields above it by 0, 2 or 4/] },
  // empty or not a map
  { name: "empty file", yaml: "", expect: [null, "", /the file is empty/] },
  { name: "only comments", yaml: "# nothing here\n", expect: [null, "", /the file is empty/] },
  { name: "a list at the top", yaml: "- a\n- b\n", expect: [1, "", /expected a map/] },
  { name: "a scalar at the top", yaml: "hello\n", expect: [1, "", /expected a map/] },
  // version
  { name: "version missing", yaml: BASE.replace("version: 1\n", ""), expect: [1, "version", /version must be 1/] },
  { name: "version 2", yaml: edit("version:", "version: 2"), expect: [1, "version", /version must be 1/] },
  { name: "version as string", yaml: edit("version:", 'version: "1"'), expect: [1, "version", /version must be 1/] },
  // unknown fields
  { name: "unknown top-level field", yaml: `${BASE}colour: red\n`, expect: [17, "colour", /unknown field "colour"/] },
  { name: "unknown CA field", yaml: edit("    validity: 1y", "    validity: 1y\n    bogus: 1"), expect: [5, "cas.root.bogus", /unknown field "bogus"/] },
  { name: "unknown defaults field", yaml: BASE.replace("cas:\n", "defaults:\n  keys: rsa-2048\ncas:\n"), expect: [3, "defaults.keys", /unknown field "keys"/] },
  { name: "unknown subject field", yaml: edit("    validity: 1y", "    validity: 1y\n    subject: { org: x }"), expect: [5, "cas.root.subject.org", /unknown field "org"/] },
  { name: "unknown serve field", yaml: edit("    validity: 30d", "    validity: 30d\n    serve: { hots: localhost }"), expect: [14, "servers.web.serve.hots", /unknown field "hots"/] },
  { name: "a typo in a section name", yaml: BASE.replace("clients:", "client:"), expect: [14, "client", /unknown field "client"/] },
  // wrong types
  { name: "cas as a list", yaml: "version: 1\ncas: [root]\n", expect: [2, "cas", /expected a map of names/] },
  { name: "altNames as a string", yaml: edit("    altNames:", "    altNames: web.test"), expect: [12, "servers.web.altNames", /expected a list/] },
  { name: "validity as a number", yaml: edit("    validity: 30d", "    validity: 90"), expect: [13, "servers.web.validity", /duration/] },
  { name: "negative pathLength", yaml: edit("    pathLength:", "    pathLength: -1"), expect: [8, "cas.sub.pathLength", />=0|too small|at least/i] },
  { name: "pathLength as a string", yaml: edit("    pathLength:", "    pathLength: zero"), expect: [8, "cas.sub.pathLength", /expected a number, got a string \("zero"\)/] },
  { name: "port out of range", yaml: edit("    validity: 30d", "    validity: 30d\n    serve: { port: 70000 }"), expect: [14, "servers.web.serve.port", /65535|too big/i] },
  { name: "clientAuth not an option", yaml: edit("    validity: 30d", "    validity: 30d\n    serve: { clientAuth: maybe }"), expect: [14, "servers.web.serve.clientAuth", /none|optional|required/] },
  { name: "unknown key type", yaml: edit("    validity: 1y", "    validity: 1y\n    key: ed25519"), expect: [5, "cas.root.key", /unknown key type "ed25519"/] },
  { name: "RSA below 2048", yaml: edit("    validity: 1y", "    validity: 1y\n    key: rsa-1024"), expect: [5, "cas.root.key", /RSA keys below 2048 bits are refused/] },
  { name: "three-letter country", yaml: edit("    validity: 1y", "    validity: 1y\n    subject: { country: USA }"), expect: [5, "cas.root.subject.country", /two-letter/] },
  { name: "commonName over 64 characters", yaml: edit("    validity: 1y", `    validity: 1y\n    commonName: ${"x".repeat(65)}`), expect: [5, "cas.root.commonName", /64/] },
  { name: "an empty server entry", yaml: "version: 1\ncas:\n  root: {}\nservers:\n  web:\n", expect: [5, "servers.web", /expected a map, got nothing/] },
  { name: "passphraseEnv not a variable name", yaml: edit("    validity: 1y", "    validity: 1y\n    passphraseEnv: my-var"), expect: [5, "cas.root.passphraseEnv", /environment variable name/] },
  { name: "empty output", yaml: BASE.replace("cas:\n", "output: ''\ncas:\n"), expect: [2, "output", /must not be empty: write a value$/m] },
  // durations
  { name: "malformed duration", yaml: edit("    validity: 30d", "    validity: 90days"), expect: [13, "servers.web.validity", /malformed duration "90days"/] },
  { name: "zero duration", yaml: edit("    validity: 30d", "    validity: 0d"), expect: [13, "servers.web.validity", /malformed duration "0d"/] },
  { name: "negative duration", yaml: edit("    validity: 30d", "    validity: -5d"), expect: [13, "servers.web.validity", /malformed duration "-5d"/] },
  { name: "fractional duration", yaml: edit("    validity: 30d", "    validity: 1.5y"), expect: [13, "servers.web.validity", /malformed duration "1.5y"/] },
  { name: "renewBefore fraction of 2", yaml: edit("    validity: 30d", "    validity: 30d\n    renewBefore: 2/1"), expect: [14, "servers.web.renewBefore", /malformed renewBefore/] },
  { name: "renewBefore longer than validity", yaml: edit("    validity: 30d", "    validity: 30d\n    renewBefore: 40d"), expect: [14, "servers.web.renewBefore", /not shorter than the validity 30d/] },
  { name: "validity over 1000y", yaml: edit("    validity: 1y", "    validity: 9999y"), expect: [4, "cas.root.validity", /duration 9999y is longer than 1000y, the longest provision accepts/] },
  { name: "validity that overflows a date", yaml: edit("    validity: 1y", "    validity: 999999y"), expect: [4, "cas.root.validity", /duration 999999y is longer than 1000y/] },
  // issuers
  { name: "unknown issuer", yaml: edit("    issuer: sub", "    issuer: subb"), expect: [11, "servers.web.issuer", /unknown issuer "subb"; defined CAs: root, sub/] },
  { name: "issuer is a server", yaml: `${BASE}    altNames: [bob@x.test]\n  eve:\n    issuer: web\n`, expect: [19, "clients.eve.issuer", /issuer "web" is a server, not a CA/] },
  { name: "server without issuer", yaml: edit("    issuer: sub", ""), expect: [10, "servers.web.issuer", /every server and client needs an issuer/] },
  { name: "issuer cycle", yaml: "version: 1\ncas:\n  a:\n    issuer: b\n  b:\n    issuer: a\n", expect: [4, "cas.a.issuer", /issuer cycle: a → b → a/] },
  { name: "a CA issuing itself", yaml: "version: 1\ncas:\n  a:\n    issuer: a\n", expect: [4, "cas.a.issuer", /issuer cycle: a → a/] },
  { name: "leaf outlives its issuer", yaml: edit("    validity: 30d", "    validity: 1y"), expect: [13, "servers.web.validity", /longer than its issuer sub's 180d/] },
  { name: "intermediate outlives the root", yaml: edit("    validity: 180d", "    validity: 2y"), expect: [7, "cas.sub.validity", /longer than its issuer root's 1y/] },
  { name: "pathLength too short for the chain", yaml: BASE.replace("servers:", "  subsub:\n    issuer: sub\n    validity: 30d\nservers:"), expect: [10, "cas.subsub.issuer", /1 CA level\(s\) below "sub", whose pathLength 0 allows 0/] },
  // names
  { name: "name with a slash", yaml: BASE.replace("  web:", '  "a/b":'), expect: [10, 'servers["a/b"]', /cannot be used as a folder name/] },
  { name: "name with a leading dot", yaml: BASE.replace("  web:", "  .hidden:"), expect: [10, 'servers[".hidden"]', /cannot be used as a folder name/] },
  { name: "name ..", yaml: BASE.replace("  web:", '  "..":'), expect: [10, 'servers[".."]', /cannot be used as a folder name/] },
  { name: "name over 64 characters", yaml: BASE.replace("  web:", `  ${"w".repeat(65)}:`), expect: [10, `servers.${"w".repeat(65)}`, /longer than 64 characters/] },
  { name: "name with a space", yaml: BASE.replace("  web:", '  "my server":'), expect: [10, 'servers["my server"]', /cannot be used as a folder name/] },
  { name: "name with a backslash", yaml: BASE.replace("  web:", '  "a\\\\b":'), expect: [10, 'servers["a\\\\b"]', /cannot be used as a folder name/] },
  { name: "name with NUL", yaml: BASE.replace("  web:", '  "a\\0b":'), expect: [10, 'servers["a\\u0000b"]', /cannot be used as a folder name/] },
  { name: "same name in two sections", yaml: BASE.replace("  bob:", "  web:"), expect: [15, "clients.web", /already used by servers\.web/] },
  { name: "names differing only by case", yaml: BASE.replace("  bob:", "  Web:"), expect: [15, "clients.Web", /ignoring case/] },
  // alt names
  { name: "server with no altNames", yaml: alt(), expect: [12, "servers.web.altNames", /at least one alt name/] },
  { name: "server without altNames", yaml: edit("    altNames:", ""), expect: [10, "servers.web.altNames", /expected a list/] },
  { name: "underscore in a DNS name", yaml: alt("bad_name.test"), expect: [12, "servers.web.altNames[0]", /not a valid DNS name/] },
  { name: "DNS label over 63", yaml: alt(`${"a".repeat(64)}.test`), expect: [12, "servers.web.altNames[0]", /limit is 63/] },
  { name: "DNS name over 253", yaml: alt(Array(9).fill("a".repeat(30)).join(".")), expect: [12, "servers.web.altNames[0]", /limit is 253/] },
  { name: "wildcard in the middle", yaml: alt('"a.*.test"'), expect: [12, "servers.web.altNames[0]", /whole leftmost label/] },
  { name: "partial wildcard label", yaml: alt('"w*.test"'), expect: [12, "servers.web.altNames[0]", /whole leftmost label/] },
  { name: "bare wildcard", yaml: alt('"*"'), expect: [12, "servers.web.altNames[0]", /"\*" alone/] },
  { name: "invalid IPv4", yaml: alt("999.1.1.1"), expect: [12, "servers.web.altNames[0]", /not a valid IP address/] },
  { name: "invalid IPv6", yaml: alt('"1::2::3"'), expect: [12, "servers.web.altNames[0]", /not a valid IP address/] },
  { name: "invalid email", yaml: alt('"a@@b.test"'), expect: [12, "servers.web.altNames[0]", /not a valid email/] },
  { name: "URI without a host", yaml: alt('"http://"'), expect: [12, "servers.web.altNames[0]", /not a valid URI|no host/] },
  { name: "duplicate alt name", yaml: alt("web.test", "WEB.test"), expect: [12, "servers.web.altNames[1]", /duplicate alt name/] },
  { name: "an alt name that is a number", yaml: alt("1.5"), expect: [12, "servers.web.altNames[0]", /expected a host name/] },
  { name: "leading hyphen label", yaml: alt("-web.test"), expect: [12, "servers.web.altNames[0]", /not a valid DNS name/] },
  // cross references and constraints
  { name: "server commonName with a leading hyphen", yaml: edit("    validity: 30d", '    validity: 30d\n    commonName: "-a.test"'), expect: [14, "servers.web.commonName", /commonName looks like a host name but is not a valid one: "-a\.test"/] },
  { name: "server commonName with a trailing hyphen", yaml: edit("    validity: 30d", "    validity: 30d\n    commonName: a-.test"), expect: [14, "servers.web.commonName", /not a valid one: "a-\.test"/] },
  { name: "server commonName with a hyphen label", yaml: edit("    validity: 30d", "    validity: 30d\n    commonName: x.-.test"), expect: [14, "servers.web.commonName", /not a valid one: "x\.-\.test"/] },
  { name: "client commonName outside the constraints", yaml: edit("    validity: 1y", "    validity: 1y\n    nameConstraints: { permitted: [.test] }").replace("  bob:\n", "  bob.corp.example.com:\n"), expect: [16, 'clients["bob.corp.example.com"].commonName', /commonName "bob\.corp\.example\.com" .*is outside the name constraints of CA root/] },
  { name: "DNS suffix without its leading dot", yaml: edit("    validity: 1y", "    validity: 1y\n    nameConstraints: { permitted: [example.test, 127.0.0.0/8] }").replace("[web.test, 127.0.0.1]", "[badexample.test, 127.0.0.1]"), expect: [13, "servers.web.altNames[0]", /"badexample\.test" is outside the name constraints of CA root/] },
  { name: "nameConstraints with a bad CIDR", yaml: edit("    validity: 1y", "    validity: 1y\n    nameConstraints: { permitted: [10.0.0.0/33] }"), expect: [5, "cas.root.nameConstraints.permitted[0]", /not a valid IP range/] },
  { name: "serve.clientCa is not a CA", yaml: edit("    validity: 30d", "    validity: 30d\n    serve: { clientAuth: required, clientCa: bob }"), expect: [14, "servers.web.serve.clientCa", /not a CA/] },
  { name: "serve.client unknown", yaml: edit("    validity: 30d", "    validity: 30d\n    serve: { clientAuth: required, client: carol }"), expect: [14, "servers.web.serve.client", /not defined under clients/] },
  { name: "no identities", yaml: "version: 1\n", expect: [1, "", /no identities/] },
  { name: "mTLS with nothing to trust", yaml: "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test], serve: { clientAuth: required } }\n", expect: [5, "servers.web.serve.clientAuth", /needs a CA to check client certificates against/] },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("bad input: a clear error with file, line and YAML path; exit 1; nothing written", () => {
  let template: string;

  beforeAll(async () => {
    // BASE is provisioned once; each case runs on its own copy, so one failing case cannot leave a changed
    // tree (or pki.yaml) behind for the next.
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-bad-")));
    writeFileSync(path.join(dir, "pki.yaml"), BASE);
    expect((await provision([], { cwd: dir })).code).toBe(0);
    template = dir;
    return () => rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh copy of the provisioned BASE tree, removed when the test ends; `before` is its snapshot. */
  function freshTree(): { dir: string; out: string; write: (yaml: string) => void; before: ReturnType<typeof snapshotTree> } {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-bad-case-")));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(template, dir, { recursive: true, preserveTimestamps: true });
    const out = path.join(dir, "pki");
    return { dir, out, write: (t: string) => writeFileSync(path.join(dir, "pki.yaml"), t), before: snapshotTree(out) };
  }

  it(`has at least 50 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES)("$name", async ({ yaml, expect: [line, yamlPath, message] }) => {
    const base = freshTree();
    base.write(yaml);
    const result = await provision([], { cwd: base.dir });
    expect(result.code).toBe(1);
    const location = line === null ? "pki\\.yaml" : `pki\\.yaml:${line}:\\d+`;
    const pathPart = yamlPath === "" ? "" : ` ${escape(yamlPath)}`;
    expect(result.stderr).toMatch(new RegExp(`^${location}${pathPart}: .*${message.source}`, "m"));
    expect(result.stderr).toMatch(/^error: pki\.yaml is not valid \(\d+ problems?\)$/m);
    expect(result.stderr).toMatch(/nothing was written/);
    expect(snapshotTree(base.out)).toEqual(base.before);

    const json = await provision(["plan", "--json"], { cwd: base.dir });
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.error.code).toBe("invalid-config");
    expect(parsed.error.diagnostics.length).toBeGreaterThan(0);
    if (line !== null) expect(parsed.error.diagnostics.map((d: { line: number }) => d.line)).toContain(line);
  });

  it("reports every schema problem at once, sorted by line", async () => {
    const base = freshTree();
    base.write(edit("    validity: 1y", "    validity: 1y\n    key: rsa-1024\n    bogus: 1").replace("    validity: 30d", "    validity: 90days"));
    const result = await provision([], { cwd: base.dir });
    const lines = result.stderr.split("\n").filter((l) => l.startsWith("pki.yaml:"));
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["pki.yaml:5:10", "pki.yaml:6:5", "pki.yaml:15:15"]);
    expect(result.stderr).toMatch(/error: pki\.yaml is not valid \(3 problems\)/);
  });

  it("a bad file in an empty folder creates no output folder", async () => {
    const p = project(alt("999.1.1.1"));
    expect((await provision([], { cwd: p.dir })).code).toBe(1);
    expect(existsSync(p.out)).toBe(false);
    expect((await provision(["-f", "missing.yaml"], { cwd: p.dir })).stderr).toMatch(/cannot read missing\.yaml: no such file/);
  });
});
