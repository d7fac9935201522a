import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../src/cli/args.js";
import { parseConfig } from "../../src/config/parse.js";
import { ProvisionError } from "../../src/errors.js";
import { closest } from "../../src/suggest.js";

/** A valid file; each case below changes one thing a real user gets wrong. Line numbers refer to this layout. */
const BASE = `version: 1
cas:
  root:
    validity: 1y
    pathLength: 1
servers:
  web:
    issuer: root
    altNames: [web.test, 127.0.0.1]
    validity: 30d
    serve: { port: 8443, clientAuth: none }
clients:
  bob:
    issuer: root
    altNames: [bob@web.test]
`;

const replaceLine = (find: string, replace: string) => {
  const lines = BASE.split("\n");
  const index = lines.findIndex((l) => l.startsWith(find));
  if (index < 0) throw new Error(`no line starts with ${find}`);
  lines.splice(index, 1, replace);
  return lines.join("\n");
};

/** [what the user did, the file, the line of the one error, its message]. Every case must yield exactly one error. */
const FILE_TYPOS: [string, string, number, RegExp][] = [
  ["altName for altNames", replaceLine("    altNames: [web", "    altName: [web.test]"), 9, /^unknown field "altName"; did you mean altNames\?$/],
  ["validty", replaceLine("    validity: 30d", "    validty: 30d"), 10, /^unknown field "validty"; did you mean validity\?$/],
  ["commonname in lower case", replaceLine("    validity: 30d", "    commonname: web.test"), 10, /^unknown field "commonname"; did you mean commonName\?$/],
  ["issuers", BASE.replace("  web:\n    issuer: root", "  web:\n    issuers: root"), 8, /^unknown field "issuers"; did you mean issuer\?$/],
  ["renewbefore", replaceLine("    validity: 30d", "    validity: 30d\n    renewbefore: 10d"), 11, /did you mean renewBefore\?/],
  ["alt_names", replaceLine("    altNames: [web", "    alt_names: [web.test]"), 9, /did you mean altNames\?/],
  ["sans (from other tools)", replaceLine("    altNames: [web", "    sans: [web.test]"), 9, /did you mean altNames\?/],
  ["cn", replaceLine("    validity: 30d", "    cn: web.test"), 10, /did you mean commonName\?/],
  ["pathlen", replaceLine("    pathLength: 1", "    pathlen: 1"), 5, /did you mean pathLength\?/],
  ["keyType", replaceLine("    validity: 1y", "    keyType: rsa-2048"), 4, /did you mean key\?/],
  ["passphrase without Env", replaceLine("    validity: 1y", "    passphrase: CA_PASS"), 4, /did you mean passphraseEnv\?/],
  ["organisation (British)", replaceLine("    validity: 1y", "    subject: { organisation: Acme }"), 4, /did you mean organization\?/],
  ["rotatekeys", replaceLine("    validity: 30d", "    rotatekeys: never"), 10, /did you mean rotateKey\?/],
  ["serve.hots", replaceLine("    serve:", "    serve: { hots: localhost }"), 11, /did you mean host\?/],
  ["serve.client_auth", replaceLine("    serve:", "    serve: { client_auth: required }"), 11, /did you mean clientAuth\?/],
  ["section 'server'", BASE.replace("servers:", "server:"), 6, /did you mean servers\?/],
  ["section 'ca'", BASE.replace("cas:", "ca:"), 2, /did you mean cas\?/],
  ["defaults 'defualts'", BASE.replace("cas:", "defualts: { key: ecdsa-p256 }\ncas:"), 2, /did you mean defaults\?/],
  ["nameConstraint singular", replaceLine("    pathLength: 1", "    nameConstraint: { permitted: [.test] }"), 5, /did you mean nameConstraints\?/],
  ["permited", replaceLine("    pathLength: 1", "    nameConstraints: { permited: [.test] }"), 5, /did you mean permitted\?/],
  ["clientAuth: require", replaceLine("    serve:", "    serve: { clientAuth: require }"), 11, /^expected none, optional or required, got "require"; did you mean required\?$/],
  ["key: ecdsa-256", replaceLine("    validity: 1y", "    key: ecdsa-256"), 4, /^unknown key type "ecdsa-256"; did you mean ecdsa-p256\?$/],
  ["key: rsa4096", replaceLine("    validity: 1y", "    key: rsa4096"), 4, /did you mean rsa-4096\?$/],
  ["rotateKey: nevr", replaceLine("    validity: 30d", "    rotateKey: nevr"), 10, /did you mean never\?/],
  ["altNames as a string", replaceLine("    altNames: [web", "    altNames: web.test"), 9, /^expected a list of names, got a string \("web\.test"\)$/],
  ["altNames left empty", replaceLine("    altNames: [web", "    altNames:"), 9, /^expected a list of names, got nothing/],
  ["pathLength as a word", replaceLine("    pathLength: 1", "    pathLength: one"), 5, /^expected a number, got a string \("one"\)$/],
  ["no space after a colon", replaceLine("    validity: 1y", "    validity:1y"), 4, /^put a space after the colon: validity: 1y/],
  ["an invalid alt name, the server's only one", replaceLine("    altNames: [web", "    altNames: [web_server.test]"), 9, /not a valid DNS name/],
  ["an unquoted wildcard", replaceLine("    altNames: [web", "    altNames: [*.web.test]"), 9, /^\*\.web\.test must be quoted \("\*\.web\.test"\)/],
  ["an unquoted @", replaceLine("    altNames: [bob", "    altNames: [@web.test]"), 15, /^a value starting with @ must be quoted: "@web\.test"/],
  ["a colon in a value", replaceLine("    validity: 30d", "    commonName: web: the site"), 10, /^a value holding ": " must be quoted: commonName: "web: the site"/],
  ["a tab", replaceLine("    validity: 1y", "\tvalidity: 1y"), 4, /^tabs are not allowed for indentation in YAML; use spaces\n/],
  ["tabs on every line of a map", BASE.replace(/^ {4}(validity: 1y|pathLength: 1)$/gm, "\t$1"), 4, /^tabs are not allowed for indentation in YAML; use spaces \(lines 4, 5\)/],
  ["a key indented one space less", replaceLine("    validity: 30d", "   validity: 30d"), 10, /^"validity" is indented by 3 spaces, but the fields above it by 0, 2 or 4/],
  ["a key indented under a value", replaceLine("    validity: 30d", "      validity: 30d"), 10, /^"validity" is indented more than "altNames" above it, which already has a value; indent it by 4 spaces/],
  ["an unclosed list", replaceLine("    altNames: [web", "    altNames: [web.test, 127.0.0.1"), 9, /^this "\[" is not closed: end the list with "\]"/],
  ["an unclosed quote", replaceLine("    validity: 30d", '    commonName: "web.test'), 10, /^this quoted value is not closed: add the closing "/],
  ["a missing colon", replaceLine("    validity: 30d", "    validity 30d"), 10, /^"validity 30d" is missing the ":"/],
];

describe("typos a real user makes in pki.yaml: one error each, on the right line, naming the fix", () => {
  it("the base file is valid", () => {
    expect(parseConfig(BASE, "pki.yaml").diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it(`covers at least 20 typos (${FILE_TYPOS.length})`, () => expect(FILE_TYPOS.length).toBeGreaterThanOrEqual(20));

  it.each(FILE_TYPOS)("%s", (_name, yaml, line, message) => {
    const errors = parseConfig(yaml, "pki.yaml").diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((e) => `${e.line}: ${e.message}`), yaml).toHaveLength(1);
    expect(errors[0]!.line).toBe(line);
    expect(errors[0]!.message).toMatch(message);
    expect(errors[0]!.message).not.toMatch(/missing required|Invalid input|Nested mappings|Implicit keys|Tabs are not/);
  });

  it("a wrong type is not called missing; a missing field is", () => {
    const missing = parseConfig(replaceLine("    altNames: [web", ""), "pki.yaml").diagnostics;
    expect(missing.map((d) => d.message)).toEqual(['missing required field "altNames": expected a list of names']);
  });

  it("a field with no close match lists the fields allowed there", () => {
    const [error] = parseConfig(replaceLine("    validity: 30d", "    colour: red"), "pki.yaml").diagnostics;
    expect(error!.message).toMatch(/^unknown field "colour"; fields here: .*\baltNames\b.*\bserve\b/);
    expect(error!.message).not.toMatch(/\bpathLength\b/); // a server's fields, not a CA's
  });
});

function usageMessage(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    return (error as ProvisionError).message;
  }
  throw new Error(`${argv.join(" ")} parsed`);
}

describe("typos on the command line", () => {
  it.each([
    [["stauts"], 'unknown command "stauts"; did you mean status?'],
    [["pln"], 'unknown command "pln"; did you mean plan?'],
    [["sever", "web"], 'unknown command "sever"; did you mean serve?'],
    [["trsut", "install"], 'unknown command "trsut"; did you mean trust?'],
    [["--jsn"], "unknown option --jsn; did you mean --json?"],
    [["plan", "--dryrun"], "unknown option --dryrun; did you mean --dry-run?"],
    [["status", "--witin", "30d"], "unknown option --witin; did you mean --within?"],
    [["--rotate-ca", "root"], "unknown option --rotate-ca; did you mean --rotate-ca-key?"],
    [["plan", "--json=yes"], "--json takes no value"],
    [["plan", "--file"], "--file needs a value"],
    [["frobnicate"], 'unknown command "frobnicate"'],
  ])("%j", (argv, message) => {
    const got = usageMessage(argv);
    expect(got).toBe(message);
    expect(got).not.toMatch(/To specify a positional|'/);
  });
});

describe("closest()", () => {
  it("suggests nothing for words far from every candidate", () => {
    expect(closest("colour", ["version", "output", "cas"])).toBeUndefined();
    expect(closest("x", ["cas"])).toBeUndefined();
  });
  it("uses an alias only when its target is a candidate here", () => {
    const aliases = new Map([["cn", "commonName"]]);
    expect(closest("cn", ["commonName", "key"], aliases)).toBe("commonName");
    expect(closest("cn", ["key", "cas"], aliases)).toBeUndefined();
  });
});
