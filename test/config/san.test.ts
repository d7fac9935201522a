// What goes into the SAN and what verifiers hold to name constraints (src/config/san.ts); more in edges.test.ts.
import { describe, expect, it } from "vitest";
import { classifyAltName, type AltName } from "../../src/config/alt-names.js";
import { commonNameMeaning, constrainedNamesFor, sanFor } from "../../src/config/san.js";

const names = (...list: string[]) => list.map((n) => (classifyAltName(n) as { ok: true; name: AltName }).name);

describe("commonNameMeaning", () => {
  it.each([
    [" web.test ", { kind: "name", name: { type: "dns", value: "web.test" } }],
    // Looks like a mailbox but is none, or is another kind of name: a display name.
    ["bob@-x.test", { kind: "display" }],
    ["https://u@h.test", { kind: "display" }],
  ])("%j", (cn, meaning) => {
    expect(commonNameMeaning(cn)).toEqual(meaning);
  });
});

describe("sanFor and constrainedNamesFor", () => {
  it("a server's commonName already among several alt names is not added twice", () => {
    expect(sanFor({ kind: "server", subject: { commonName: "web.test" }, altNames: names("a.test", "web.test") })).toEqual(names("a.test", "web.test"));
  });

  it("a client's host-like commonName is judged beside alt names of the same type", () => {
    expect(constrainedNamesFor({ kind: "client", subject: { commonName: "bob.evil.com" }, altNames: names("a.test") })).toEqual([
      { name: { type: "dns", value: "a.test" }, fromCommonName: false },
      { name: { type: "dns", value: "bob.evil.com" }, fromCommonName: true },
    ]);
  });
});
