// pki.yaml → Config (src/config/parse.ts), in process: the messages schema problems become (unknown fields, wrong
// types named as the user wrote them, missing fields, enums), the order they are listed in, the file-level
// refusals (empty, not a map, no identities) and the Config a valid file gives. typos.test.ts holds the typo
// catalogue; these pin parse.ts's own branches exactly, for the mutation run.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";

const errors = (text: string) => parseConfig(text, "pki.yaml").diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
const CA_FIELDS = "commonName, key, validity, renewBefore, subject, passphraseEnv, formats, p12PassphraseEnv, afterChange, afterChangeTimeout, revoked, revokedReason, issuer, pathLength, nameConstraints, external, crlValidity, crlRefreshBefore, crlUrl";

describe("the file as a whole", () => {
  it.each(["", "# nothing here\n", "~\n", "null\n"])("%j is empty", (text) => {
    expect(parseConfig(text, "pki.yaml")).toEqual({ diagnostics: [{ severity: "error", file: "pki.yaml", message: "the file is empty; expected a map starting with `version: 1`" }] });
  });

  it.each(["[1, 2]\n", "5\n", "just text\n"])("%j is no map", (text) => {
    expect(parseConfig(text, "pki.yaml")).toEqual({
      diagnostics: [{ severity: "error", file: "pki.yaml", line: 1, col: 1, path: "", message: "expected a map (version, output, defaults, cas, servers, clients) at the top level" }],
    });
  });

  it("a file with no identity", () => {
    expect(errors("version: 1\n")).toEqual(["1:1 no identities: add at least one CA under cas"]);
    expect(errors("version: 1\ncas: {}\n")).toEqual(["1:1 no identities: add at least one CA under cas"]);
  });

  it("x- keys at the top are the user's; elsewhere they are unknown fields", () => {
    expect(errors("version: 1\nx-a: 1\nx-b: { c: d }\ncas:\n  root: {}\n")).toEqual([]);
    expect(errors("version: 1\ncas:\n  root: { x-b: 1 }\n")).toEqual([`3:11 unknown field "x-b"; fields here: ${CA_FIELDS}`]);
    expect(errors("version: 1\nxa: 1\ncas:\n  root: {}\n")).toEqual(['2:1 unknown field "xa"; top-level fields: version, output, defaults, lint, cas, servers, clients, acme']);
  });
});

describe("schema problems in the user's terms", () => {
  it("sizes: an empty string, a string, a list or a number out of bounds, with what was found (not zod's 'Too small')", () => {
    const long = "o".repeat(65);
    expect(errors(`version: 1\ncas:\n  root: { commonName: "", pathLength: 17 }\nservers:\n  web: { issuer: root, altNames: [a.test], subject: { organization: ${long} }, afterChange: [] }\n`)).toEqual([
      "3:23 must not be empty: write a value",
      "3:39 must be at most 16, got a number (17)",
      "5:69 65 characters, more than the 64 allowed here",
      "5:151 the list needs at least 1 item",
    ]);
    expect(errors("version: 1\ncas:\n  root: { pathLength: -1 }\n")).toEqual(["3:23 must be at least 0, got a number (-1)"]);
    // zod counts code points, and so does the message: 65 emoji are 130 UTF-16 code units but 65 characters.
    expect(errors(`version: 1\ncas:\n  root: { commonName: "${"\u{1F600}".repeat(65)}" }\n`)).toEqual(["3:23 65 characters, more than the 64 allowed here"]);
    expect(errors(`version: 1\ncas:\n  root: { commonName: "${"\u{1F600}".repeat(64)}" }\n`)).toEqual([]);
  });

  it("unknown fields: the closest allowed one, or the list of what is allowed here", () => {
    expect(errors("version: 1\ncolour: red\ncas:\n  root: {}\n")).toEqual(['2:1 unknown field "colour"; top-level fields: version, output, defaults, lint, cas, servers, clients, acme']);
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test], serve: { colour: 1 } }\n")).toEqual([
      '5:53 unknown field "colour"; fields here: host, port, app, clientAuth, clientCa, client',
    ]);
    expect(errors("version: 1\nacme: { ca: root, allow: [a.test], colour: 1 }\ncas:\n  root: {}\n")).toEqual([
      '2:36 unknown field "colour"; fields here: ca, allowRoot, listen, server, allow, validity, keyTypes, challenges, httpPort, tlsPort, resolve, externalAccountBinding',
    ]);
    expect(errors("version: 1\ncas:\n  root: { pathlen: 1 }\n")).toEqual(['3:11 unknown field "pathlen"; did you mean pathLength?']);
    expect(errors("version: 1\ndefaults: { ttl: 1d }\ncas:\n  root: {}\n")).toEqual(['2:13 unknown field "ttl"; did you mean validity?']);
  });

  it("a misspelt required field is one problem, not also a missing one; another missing field still is", () => {
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altName: [a.test] }\n")).toEqual(['5:24 unknown field "altName"; did you mean altNames?']);
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { isuer: root, altName: [a.test] }\n")).toEqual([
      '5:10 unknown field "isuer"; did you mean issuer?',
      '5:23 unknown field "altName"; did you mean altNames?',
    ]);
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { altNames: [a.test] }\n")).toEqual([
      '5:3 missing required field "issuer": every server and client needs an issuer: the name of a CA under cas',
    ]);
    expect(errors("version: 1\nacme: {}\ncas:\n  root: {}\n")).toEqual([
      '2:1 missing required field "ca": expected the name of a CA under cas',
      '2:1 missing required field "allow": expected a list of names: exact names, .suffix rules, IP ranges',
    ]);
  });

  it("a wrong type says what was expected and what was found, listed by position", () => {
    const long = "x".repeat(41);
    const forty = "y".repeat(40);
    expect(errors(`version: 1\ncas:\n  root: { pathLength: true, commonName: [a], subject: 5, validity: {}, crlUrl: 7 }\n  a: { subject: "${long}" }\n  b: { subject: "${forty}" }\n  c: { subject: "organization:Acme" }\n  d:\n`)).toEqual([
      "3:23 expected a number, got true (a yes/no value)",
      "3:41 expected a string, got a list",
      "3:55 expected a map, got a number (5)",
      "3:68 expected a duration such as 30m, 12h, 90d, 4w or 2y, got a map",
      "3:80 expected an http:// or https:// URL where this CA's crl.der is published, got a number (7)",
      `4:17 expected a map, got a string ("${"x".repeat(37)}...")`,
      `5:17 expected a map, got a string ("${forty}")`,
      '6:17 expected a map, got a string ("organization:Acme"); put a space after the colon (organization: Acme)',
      "7:5 expected a map, got nothing (the field is empty)",
    ]);
    expect(errors("version: 1\ncas: 5\n")).toEqual(["2:6 expected a map of names to identities, got a number (5)"]);
    expect(errors("version: 1\ncas:\n  root: { commonName: a b:c }\n")).toEqual([]);
    expect(errors('version: 1\ncas:\n  root: { subject: "a b:c" }\n')).toEqual(['3:20 expected a map, got a string ("a b:c")']);
    expect(errors('version: 1\ncas:\n  root: { formats: "der:x" }\n')).toEqual(['3:20 expected a list, got a string ("der:x")']);
  });

  it("an enum names its options and the closest one, or says what it expected", () => {
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test], rotateKey: xyz, formats: [pdf], serve: { clientAuth: requird } }\n")).toEqual([
      '5:55 expected one of always, never, got "xyz"',
      '5:70 expected pem, der, p12 or combined, got "pdf"',
      '5:97 expected none, optional or required, got "requird"; did you mean required?',
    ]);
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [a.test], serve: { clientAuth: 5 } }\n")).toEqual(["5:65 expected none, optional or required"]);
    expect(errors("version: 2\ncas:\n  root: {}\n")).toEqual(["1:10 version must be 1 (the only pki.yaml format so far)"]);
  });

  it("problems from every stage come sorted by line, then column", () => {
    const { diagnostics } = parseConfig("version: 1\ncas:\n  root: { validity: 90m, pathLength: 0 }\n  sub: { issuer: root }\nservers:\n  web: { issuer: nope, altNames: [a.test], validity: 2m }\n", "pki.yaml");
    expect(diagnostics.map((d) => `${d.severity} ${d.line}:${d.col}`)).toEqual(["error 3:21", "error 4:3", "error 4:18", "error 6:3", "error 6:18", "warning 6:54"]);
  });
});

describe("aliases before their anchors", () => {
  it("an alias of an anchor defined later, or never, is refused at the alias; one defined before is fine", () => {
    expect(errors("version: 1\ncas:\n  root: *later\n  sub: *later\nx-later: &later {}\n")).toEqual([
      '3:9 no anchor &later is defined before this *later; define it first, or quote the value ("*later")',
      '4:8 no anchor &later is defined before this *later; define it first, or quote the value ("*later")',
    ]);
    expect(errors("version: 1\nx-ca: &ca {}\ncas:\n  root: *ca\n  sub: { <<: *ca, issuer: root }\n")).toEqual([]);
  });
});

describe("the Config of a valid file", () => {
  it("file, folders, identities in issuing order; no acme unless asked", () => {
    const { config, diagnostics, layout } = parseConfig("version: 1\nservers:\n  web: { issuer: root, altNames: [a.test] }\ncas:\n  root: {}\n", "conf/pki.yaml", { cwd: "/srv/x" });
    expect(diagnostics).toEqual([]);
    expect(config).toMatchObject({ file: "conf/pki.yaml", baseDir: "/srv/x/conf", outputDir: "/srv/x/conf/pki" });
    expect(config!.identities.map((i) => i.name)).toEqual(["root", "web"]);
    expect(config).not.toHaveProperty("acme");
    expect(layout).toBeDefined();
  });

  it("output is relative to pki.yaml, the working folder defaults to the process's", () => {
    const { config } = parseConfig("version: 1\noutput: ../out\ncas:\n  root: {}\n", "pki.yaml");
    expect(config).toMatchObject({ baseDir: process.cwd(), outputDir: path.resolve(process.cwd(), "../out") });
  });

  it("acme when asked; warnings come with the config; lint.maxLeafValidity is read", () => {
    const { config, diagnostics } = parseConfig("version: 1\nlint: { maxLeafValidity: 10d }\ncas:\n  root: {}\nclients:\n  bob: { issuer: root, validity: 30d }\nacme: { ca: root, allowRoot: true, allow: [.test] }\n", "pki.yaml");
    expect(config!.acme).toMatchObject({ ca: "root" });
    expect(diagnostics.map((d) => `${d.severity} ${d.path}: ${d.message}`)).toEqual([
      "warning clients.bob.validity: validity 30d makes a certificate that lives longer than lint.maxLeafValidity 10d (notBefore is backdated 5 minutes for clock skew); use 9d or less",
    ]);
  });
});

// Each stage stops the parse when it finds a problem: what a later stage would add (a Config, schema messages about
// a half-read file) must not reach the user. Whole results are compared, so a Config or layout slipping through fails.
describe("each stage's refusal is the whole answer", () => {
  const only = (line: number, col: number, message: string, path?: string) => ({
    diagnostics: [{ severity: "error", file: "pki.yaml", line, col, ...(path === undefined ? {} : { path }), message }],
  });

  it("a YAML syntax error: no schema messages about what the parser half-read", () => {
    // The alias before its anchor would be a second message, the unknown field a third.
    expect(parseConfig("version: 1\ncas:\n  sub: *nope\n  root: { colour: [1, 2 }\n", "pki.yaml")).toEqual(only(4, 19, 'this "[" is not closed: end the list with "]"\n    root: { colour: [1, 2 }'));
  });

  it("an alias before its anchor, and a lone surrogate: refused at the node, nothing parsed further", () => {
    // The duplicate key below would be a second message.
    expect(parseConfig("version: 1\ncas:\n  root: *later\n  root: {}\nx-later: &later {}\n", "pki.yaml")).toEqual(
      only(3, 9, 'no anchor &later is defined before this *later; define it first, or quote the value ("*later")'),
    );
    expect(parseConfig('version: 1\ncas:\n  root: { commonName: "r\\ud800x" }\n', "pki.yaml")).toEqual(
      only(3, 23, 'this string holds \\ud800, half of a UTF-16 surrogate pair, which is not a character; write the character itself (or its pair of escapes, e.g. "\\ud83d\\ude00")'),
    );
    // The valid pair of the same escapes is one character, accepted.
    expect(parseConfig('version: 1\ncas:\n  root: { commonName: "r\\ud83d\\ude00x" }\n', "pki.yaml").diagnostics).toEqual([]);
  });

  it("a duplicate key: provision's own message (yaml's uniqueKeys is off), and nothing else", () => {
    // The unknown field would be a second message.
    const result = parseConfig("version: 1\ncolour: red\ncas:\n  root: {}\n  root: { pathLength: 1 }\n", "pki.yaml");
    expect(result).toEqual(only(5, 3, 'duplicate key "root" (first on line 4); map keys must be unique', "cas.root"));
  });

  it("aliases that never end or expand too far: refused at the alias", () => {
    expect(parseConfig("version: 1\nx-a: &a [1, *a]\ncas:\n  root: {}\n", "pki.yaml")).toEqual(only(2, 13, "alias *a refers to a node that contains it, so it never ends"));
    let laughs = 'version: 1\nx-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) laughs += `x-${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]\n`;
    laughs += "cas:\n  root: { commonName: *g }\n";
    expect(parseConfig(laughs, "pki.yaml")).toEqual(only(10, 23, "aliases such as *g here expand this file past 2,000,000 YAML nodes; refusing it as a resource-exhaustion attack"));
  });

  it("more than yaml's 100 aliases (its default limit) are read when they expand to little", () => {
    let text = "version: 1\nx-names: &names [a.test]\ncas:\n  root: {}\nservers:\n";
    for (let i = 0; i < 101; i++) text += `  s${i}: { issuer: root, altNames: *names }\n`;
    const { config, diagnostics } = parseConfig(text, "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.identities).toHaveLength(102);
  });

  it("no identities: the one error, at the top, and no Config", () => {
    expect(parseConfig("version: 1\n", "pki.yaml")).toEqual(only(1, 1, "no identities: add at least one CA under cas", ""));
  });

  it("an error from the rules: no Config and no layout, whatever warnings came too", () => {
    const result = parseConfig("version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: nope, altNames: [a.test] }\n", "pki.yaml");
    expect(Object.keys(result)).toEqual(["diagnostics"]);
    expect(result.diagnostics.map((d) => `${d.severity} ${d.line}:${d.col}`)).toEqual(["error 5:18"]);
  });

  it("a list where a map is expected is named a list, even when its item looks like key:value", () => {
    expect(errors("version: 1\ncas:\n  root: { subject: [organization:Acme] }\n")).toEqual(["3:20 expected a map, got a list"]);
  });
});
