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
    // The line scanners, each at its edge: the first line, the last line without a final line break, blank lines
    // of spaces, comments, more content below, indentations of two digits.
    ["the outermost field on the first line", "a:\n  b: 1\n c: 2\n", '3:2 "c" is indented by 1 space, but the fields above it by 0 or 2; indent it exactly like the other fields of its map\n    c: 2'],
    ["a key out of line with more fields below it", "a:\n  b: 1\n c: 2\nd: 3\n", '3:2 "c" is indented by 1 space, but the fields above it by 0 or 2; indent it exactly like the other fields of its map\n    c: 2'],
    ["a line of spaces named by the parser before a key out of line", "version: 1\ncas:\n  root:\n    a: 1\n   \n   b: 2\n", '6:4 "b" is indented by 3 spaces, but the fields above it by 0, 2 or 4; indent it exactly like the other fields of its map\n    b: 2'],
    ["a comment named by the parser before a key out of line", "version: 1\ncas:\n  root:\n    a: 1\n  # cc\n   b: 2\n", '6:4 "b" is indented by 3 spaces, but the fields above it by 0, 2 or 4; indent it exactly like the other fields of its map\n    b: 2'],
    ["indentations of two digits", "a:\n          b: 1\n     c: 2\n", '3:6 "c" is indented by 5 spaces, but the fields above it by 0 or 10; indent it exactly like the other fields of its map\n    c: 2'],
    ["a key under a value, a blank line between", "a: 1\n\n  b: 2\n", '3:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a key under a value, a line of spaces between", "a: 1\n   \n  b: 2\n", '3:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a key under a value, blank lines after it", "a: 1\n  b: 2\n\n", '2:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a key under a value on the last line, no final line break", "a: 1\n  b: 2", '2:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a key under a value written after two spaces", "a:  1\n  b: 2\n", '2:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a key under a value written after two spaces, a comment between", "version: 1\ncas:\n  root:  1\n\n  # c\n    b: 2\n", '6:5 "b" is indented more than "root" above it, which already has a value; indent it by 2 spaces like "root"\n    b: 2'],
    ["a key under a line glued at its colon", "a:1\n  b: 2\n", '2:3 "b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'],
    ["a value ending in a colon", "version: 1\ncas:\n  root: {}\n  commonName: a:\n", '4:15 a value holding ": " must be quoted: commonName: "a:"\n    commonName: a:'],
    ["a colon in a value, trailing spaces left out", "version: 1\ncas:\n  root: {}\n  commonName: a: b  \n", '4:15 a value holding ": " must be quoted: commonName: "a: b"\n    commonName: a: b'],
    ["no space after a colon, a longer value", "version: 1\ncas:\n  root:\n    validity:30d\n    pathLength: 1\n", "4:5 put a space after the colon: validity: 30d\n    validity:30d"],
    ["a colon, but not after a field name", "version: 1\ncas:\n  root x:y z\n  b: 1\n", "3:3 implicit keys need to be on a single line\n    root x:y z"],
    ["a value starting with %, which has no rewording", "a: %x\n", "1:4 plain value cannot start with directive indicator character %\n    a: %x"],
    ["an unclosed quote on the first line", "a: 'x\n", "1:4 this quoted value is not closed: add the closing '\n    a: 'x"],
    ["an unclosed list on the first line", "a: [1, 2\nb: 3\n", '1:4 this "[" is not closed: end the list with "]"\n    a: [1, 2'],
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

  // Errors the parser reports in ways no short file reproduces reliably: given directly, to pin each scanner.
  const badIndent = (pos: number) => [error(pos, "BAD_INDENT", "All mapping items must start at the same column")];
  const flow = (pos: number) => [error(pos, "BAD_INDENT", "Flow sequence in block collection must be sufficiently indented and end with a ]")];
  const at = (line: number, col: number, message: string) => [{ severity: "error", file: "f.yaml", line, col, message }];

  it("an unclosed bracket: counted from the error's line upwards, closing brackets and quoted or commented ones too", () => {
    // Line 3 has a "[" of its own, below the error: not counted.
    expect(run("a: [1,\nb: 2\nc: [3\n", () => flow(7))).toEqual(at(1, 4, 'this "[" is not closed: end the list with "]"\n    a: [1,'));
    // Line 2 opens and closes one: balanced.
    expect(run("a: [1,\nb: [2]\n", () => flow(7))).toEqual(at(1, 4, 'this "[" is not closed: end the list with "]"\n    a: [1,'));
    // Brackets in quotes of several characters, and after " #", are not brackets.
    for (const line2 of ['b: "[x"', "b: '[x'", "b: 2 # ["]) {
      expect(run(`a: [1,\n${line2}\n`, () => flow(7))).toEqual(at(1, 4, `this "[" is not closed: end the list with "]"\n    a: [1,`));
    }
    // The failing twin: a bracket outside quotes is one.
    expect(run("a: [1,\nb: [x\n", () => flow(7))).toEqual(at(2, 4, 'this "[" is not closed: end the list with "]"\n    b: [x'));
  });

  it("a key out of line: list items only when the line above is one, at the same indentation", () => {
    expect(run("a: 1\nb: 2\n", () => badIndent(5))).toEqual(at(2, 1, '"b" is indented by 0 spaces, but the fields above it by 0; indent it exactly like the other fields of its map\n    b: 2'));
    expect(run("a: x - y\nb: 2\n", () => badIndent(9))).toEqual(at(2, 1, '"b" is indented by 0 spaces, but the fields above it by 0; indent it exactly like the other fields of its map\n    b: 2'));
    expect(run("a:\n  - x\n b: 1\n", () => badIndent(10))).toEqual(at(3, 2, '"b" is indented by 1 space, but the fields above it by 0 or 2; indent it exactly like the other fields of its map\n    b: 1'));
    expect(run("- x\nb: 1\n", () => badIndent(4))).toEqual(at(2, 1, '"b" lines up with the list item above it; a list and a map cannot be mixed at one level\n    b: 1'));
  });

  it("a key under a field whose value is only a comment is not under a value; a line without a colon is named whole", () => {
    expect(run("a: # c\n  b: 2\n", () => badIndent(7))).toEqual(at(2, 3, '"b" is indented by 2 spaces, but the fields above it by 0; indent it exactly like the other fields of its map\n    b: 2'));
    expect(run("a:\n  b: 1\n c\n", () => badIndent(10))).toEqual(at(3, 2, '"c" is indented by 1 space, but the fields above it by 0 or 2; indent it exactly like the other fields of its map\n    c'));
  });

  it("a key under a value, a comment line between (the parser names the line with the value)", () => {
    const nested = (pos: number) => [error(pos, "BLOCK_AS_IMPLICIT_KEY", "Nested mappings are not allowed in compact mappings")];
    expect(run("a: 1\n# cc\n  b: 2\n", () => nested(3))).toEqual(at(3, 3, '"b" is indented more than "a" above it, which already has a value; indent it by 0 spaces like "a"\n    b: 2'));
  });

  it("an unclosed quote: the last line at or above the error with an odd count of that quote", () => {
    const missing = (pos: number) => [error(pos, "MISSING_CHAR", "Missing closing 'quote")];
    expect(run("a: 'x\nb: 1\nc: it's\n", () => missing(3))).toEqual(at(1, 4, "this quoted value is not closed: add the closing '\n    a: 'x"));
  });

  it("the position yaml appends to a message is cut, whatever its digits and with or without its colon", () => {
    expect(run("a: 1", () => [error(4, "UNEXPECTED_TOKEN", "Unexpected end at line 12, column 15:")])).toEqual(at(1, 5, "unexpected end\n    a: 1"));
    expect(run("a: 1", () => [error(4, "UNEXPECTED_TOKEN", "Unexpected end at line 1, column 5")])).toEqual(at(1, 5, "unexpected end\n    a: 1"));
  });
});
