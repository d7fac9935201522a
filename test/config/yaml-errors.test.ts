// YAML syntax errors in the user's terms (src/config/yaml-errors.ts), in process: the exact message, the line and
// column of the real mistake (the parser often names the line before or after it) and the excerpt under it.
// typos.test.ts checks each kind by pattern; these pin every branch exactly, for the mutation run.
import { describe, expect, it } from "vitest";
import { LineCounter, parseDocument, YAMLParseError } from "yaml";
import { parseConfig } from "../../src/config/parse.js";
import { yamlSyntaxDiagnostics } from "../../src/config/yaml-errors.js";

const errors = (text: string) => parseConfig(text, "pki.yaml").diagnostics.map((d) => `${d.severity} ${d.file}:${d.line}:${d.col} ${d.message}`);

describe("YAML syntax errors, one message each, at the real line", () => {
  it.each([
    ["one tab", "version: 1\ncas:\n\troot: {}\n", "3:1 tabs are not allowed for indentation in YAML; use spaces\n    root: {}"],
    ["tabs on two lines", "version: 1\ncas:\n\troot: {}\n\tsub: {}\n", "3:1 tabs are not allowed for indentation in YAML; use spaces (lines 3, 4)\n    root: {}"],
    ["a tab with CRLF line ends", "version: 1\r\ncas:\r\n\troot: {}\r\n", "3:1 tabs are not allowed for indentation in YAML; use spaces\n    root: {}"],
    ["an unclosed list, noticed at the next map", "version: 1\ncas:\n  root: { a: [1, 2 }\n", '3:14 this "[" is not closed: end the list with "]"\n    root: { a: [1, 2 }'],
    ["an unclosed map, noticed a line late", "version: 1\ncas:\n  root: { a: 1\n  b: 2\n", '3:9 this "{" is not closed: end the map with "}"\n    root: { a: 1'],
    ["an unclosed list at the end of the file", "version: 1\ncas: [a, b\n", '2:6 this "[" is not closed: end the list with "]"\n    cas: [a, b'],
    ["brackets in quotes and comments are not counted", 'version: 1\ncas:\n  root: [a, "[x", # [\n  b: 2\n', '3:9 this "[" is not closed: end the list with "]"\n    root: [a, "[x", # ['],
    ["a closing bracket in quotes closes nothing", "version: 1\ncas:\n  root: [\"a\", 'b', \"]\"\nx: 1\n", '3:9 this "[" is not closed: end the list with "]"\n    root: ["a", \'b\', "]"'],
    ["a map key after a list item", "version: 1\ncas:\n  - a\n  b: 1\n", '4:3 "b" lines up with the list item above it; a list and a map cannot be mixed at one level\n    b: 1'],
    ["a map key after a list item and a comment", "version: 1\ncas:\n  - a\n\n  # c\n  b: 1\n", '6:3 "b" lines up with the list item above it; a list and a map cannot be mixed at one level\n    b: 1'],
    ["a key indented less than its map", "version: 1\ncas:\n   root: 1\n  b: 2\n", '4:3 "b" is indented by 2 spaces, but the fields above it by 0 or 3; indent it exactly like the other fields of its map\n    b: 2'],
    ["one space", "version: 1\ncas:\n  root:\n    a: 1\n b: 2\n", '5:2 "b" is indented by 1 space, but the fields above it by 0, 2 or 4; indent it exactly like the other fields of its map\n    b: 2'],
    ["a key indented under a value", "version: 1\ncas:\n  root: 1\n    b: 2\n", '4:5 "b" is indented more than "root" above it, which already has a value; indent it by 2 spaces like "root"\n    b: 2'],
    ["a key indented under a value at the top", "a: 1\n b: 2\n", '2:2 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a colon in a value", "version: 1\ncas:\n  root: {}\n  commonName: a: b\n", '4:15 a value holding ": " must be quoted: commonName: "a: b"\n    commonName: a: b'],
    ["no space after a colon", "version: 1\ncas:\n  root:\n    validity:1y\n    pathLength: 1\n", "4:5 put a space after the colon: validity: 1y\n    validity:1y"],
    ["no colon", "version: 1\ncas:\n  root:\n    validity 1y\n    pathLength: 1\n", '4:5 "validity 1y" is missing the ":" between a field and its value\n    validity 1y'],
    ["no colon after a name", "version: 1\ncas:\n  root x\n  y: 1\n", '3:3 "root x" is missing the ":" between a field and its value\n    root x'],
    ["an unclosed single quote", "version: 1\ncas:\n  root: { commonName: 'abc }\n", "3:23 this quoted value is not closed: add the closing '\n    root: { commonName: 'abc }"],
    ["an unclosed double quote, noticed after a blank line", 'version: 1\ncas:\n  root: { a: "x }\n\n', '3:14 this quoted value is not closed: add the closing "\n    root: { a: "x }'],
    ["a value starting with `", "version: 1\ncas:\n  root: { commonName: `abc }\n", '3:23 a value starting with ` must be quoted: "`abc"\n    root: { commonName: `abc }'],
    ["a value starting with @", "version: 1\ncas:\n  root: {}\n  sub: @x\n", '4:8 a value starting with @ must be quoted: "@x"\n    sub: @x'],
    ["a value starting with @ in a list", "version: 1\ncas:\n  root: { x: [@a, b] }\n", '3:15 a value starting with @ must be quoted: "@a"\n    root: { x: [@a, b] }'],
    ["any other error, in lower case and without its position", "version: 1\ncas: &a &b {}\n", "2:9 a node can have at most one anchor\n    cas: &a &b {}"],
    ["two documents", "version: 1\n---\nx: 1\n", "2:1 source contains multiple documents; please use YAML.parseAllDocuments()\n    ---"],
  ])("%s", (_what, text, expected) => {
    expect(errors(text)).toEqual([`error pki.yaml:${expected}`]);
  });

  it("the parser naming the blank line before a key out of line: the key's line is reported", () => {
    // yaml reports these at the blank line (5:1, 4:1), which showed as `"" is indented by 0 spaces` with no excerpt.
    expect(errors("version: 1\ncas:\n  root:\n    a: 1\n\n   # c\n   b: 2\n")).toEqual([
      'error pki.yaml:7:4 "b" is indented by 3 spaces, but the fields above it by 0, 2 or 4; indent it exactly like the other fields of its map\n    b: 2',
    ]);
    expect(errors("version: 1\ncas:\n  root: 1\n\n  # c\n    b: 2\n")).toEqual([
      'error pki.yaml:6:5 "b" is indented more than "root" above it, which already has a value; indent it by 2 spaces like "root"\n    b: 2',
    ]);
  });
});

describe("yamlSyntaxDiagnostics itself", () => {
  const run = (text: string, make: (lc: LineCounter) => YAMLParseError[]) => {
    const lineCounter = new LineCounter();
    parseDocument(text, { lineCounter });
    return yamlSyntaxDiagnostics(make(lineCounter), text, lineCounter, "f.yaml");
  };
  const error = (pos: number, code: YAMLParseError["code"], message: string) => new YAMLParseError([pos, pos + 1], code, message);

  it("no errors, no diagnostics", () => {
    expect(run("a: 1\n", () => [])).toEqual([]);
  });

  it("a missing closing character goes first, whatever came before it", () => {
    const found = run("a: 1\nb: 'x\n", () => [error(0, "BAD_INDENT", "Something else"), error(5, "MISSING_CHAR", "Missing closing 'quote")]);
    expect(found).toEqual([{ severity: "error", file: "f.yaml", line: 2, col: 4, message: "this quoted value is not closed: add the closing '\n    b: 'x" }]);
  });

  it("tabs on one line reported twice are one line; no excerpt for a line with nothing on it", () => {
    expect(run("a: 1\n\t\n", () => [error(5, "TAB_AS_INDENT", "Tabs"), error(5, "TAB_AS_INDENT", "Tabs")])).toEqual([
      { severity: "error", file: "f.yaml", line: 2, col: 1, message: "tabs are not allowed for indentation in YAML; use spaces (lines 2)" },
    ]);
  });

  it("a position at the end of a file with no final line break", () => {
    expect(run("a: 1", () => [error(4, "UNEXPECTED_TOKEN", "Unexpected end at line 1, column 5:")])).toEqual([
      { severity: "error", file: "f.yaml", line: 1, col: 5, message: "unexpected end\n    a: 1" },
    ]);
  });

  it("a MISSING_CHAR that is no quote keeps the parser's words", () => {
    expect(run("a: [1\n", () => [error(5, "MISSING_CHAR", "Expected a ] here")])).toEqual([
      { severity: "error", file: "f.yaml", line: 1, col: 6, message: "expected a ] here\n    a: [1" },
    ]);
  });

  it("an indentation error with nothing above it", () => {
    expect(run("  a: 1\n", () => [error(2, "BAD_INDENT", "All mapping items must start at the same column")])).toEqual([
      { severity: "error", file: "f.yaml", line: 1, col: 3, message: "wrong indentation\n    a: 1" },
    ]);
  });
});
