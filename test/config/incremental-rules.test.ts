import { describe, expect, it } from "vitest";
import type { Remembered, Reparsed } from "../../src/config/incremental.js";
import { expectFast, expectNull, fullParse as full, remember } from "../helpers/incremental.js";

/**
 * The second half of the incremental re-read (config/incremental.ts from validateChanged on): what the rules
 * report after an edit, where, in which order; the unchanged identities taken from the cache, their `serve`
 * lines moved by the lines the edit added; and the cases where it must step aside (null) because a location
 * cannot be found in one entry or the remembered data does not hang together. Each case is a small text whose
 * full parse is the expected answer.
 */

describe("the rules after an incremental edit", () => {
  // clients before servers: the rules report servers first (cas, servers, clients), the file has them the other way.
  // `both` has two warnings on one line, the later rule's (every client it accepts is revoked) at the lower column.
  const base = [
    "version: 1",
    "lint: { maxLeafValidity: 200d }",
    "cas:",
    "  root: {}",
    "  int: { issuer: root }",
    "clients:",
    "  gone: { issuer: root, revoked: true }",
    "  c1:",
    "    issuer: int",
    "    validity: 300d",
    "servers:",
    "  web:",
    "    issuer: root",
    "    altNames: [web.test]",
    "  both: { issuer: root, altNames: [both.test], serve: { port: 8443, clientAuth: required, clientCa: root }, validity: 300d }",
    "  api:",
    "    issuer: root",
    "    altNames: [api.test]",
    "    validity: 300d",
    "  left: { issuer: root, validity: 300d, altNames: [left.test], serve: { port: 8444, clientAuth: required, clientCa: root } }",
    "",
  ].join("\n");

  it("are located in their entries and sorted by line, then column, as the full parse sorts them", () => {
    const edited = base.replace("[web.test]", "[web.test, www.test]");
    const got = expectFast(remember(base), edited);
    // The case says something only if the rules' order is not the file's: c1 (line 10) is reported after api (19),
    // and on `both`'s line the validity (reported first) lies right of serve.clientAuth.
    const at = got.warnings.map((w) => [w.line, w.path]);
    expect(at).toEqual([
      [10, "clients.c1.validity"],
      [15, "servers.both.serve.clientAuth"],
      [15, "servers.both.validity"],
      [19, "servers.api.validity"],
      [20, "servers.left.validity"],
      [20, "servers.left.serve.clientAuth"],
    ]);
    // (on `left`'s line the rules' order is the columns' order: the sort keeps it)
    expect(got.warnings[1]!.col).toBeLessThan(got.warnings[2]!.col!);
    expect(got.warnings[4]!.col).toBeLessThan(got.warnings[5]!.col!);
  });

  it("locate a warning in the changed entry, and in entries after it moved by the lines the edit added", () => {
    // web's altNames become a block list: three lines more, above both and api; web now warns too.
    const edited = base.replace("    altNames: [web.test]\n", "    altNames:\n      - web.test\n      - www.test\n    validity: 400d\n");
    const got = expectFast(remember(base), edited);
    expect(got.warnings.map((w) => [w.line, w.path])).toEqual([
      [10, "clients.c1.validity"],
      [17, "servers.web.validity"],
      [18, "servers.both.serve.clientAuth"],
      [18, "servers.both.validity"],
      [22, "servers.api.validity"],
      [23, "servers.left.validity"],
      [23, "servers.left.serve.clientAuth"],
    ]);
  });

  it("step aside when an edit makes a rule report an error", () => {
    expectNull(remember(base), base.replace("  web:\n    issuer: root", "  web:\n    issuer: nope"), false);
    // the same edit without the error is read incrementally (the failing twin)
    expectFast(remember(base), base.replace("  web:\n    issuer: root", "  web:\n    issuer: root "));
  });
});

describe("the unchanged identities taken from the cache", () => {
  const base = [
    "version: 1",
    "cas:",
    "  root: {}",
    "servers:",
    "  above:",
    "    issuer: root",
    "    altNames: [above.test]",
    "    serve: { port: 8001, app: above.app:app }",
    "  web:",
    "    issuer: root",
    "    altNames: [web.test]",
    "  below:",
    "    issuer: root",
    "    altNames: [below.test]",
    "    serve:",
    "      port: 8002",
    "      app: below.app:app",
    "clients:",
    "  c1:",
    "    issuer: root",
    "    validity: 4m",
    "",
  ].join("\n");
  const serveLines = (r: Reparsed, name: string) => {
    const { serve } = r.config.identities.find((id) => id.name === name)!;
    return [serve!.at.line, serve!.appAt?.line];
  };

  it("keep their `serve` lines above the edit and move them below it, as the sections after it", () => {
    const grown = base.replace("    altNames: [web.test]\n", "    altNames:\n      - web.test\n      - www.test\n");
    const got = expectFast(remember(base), grown);
    expect(serveLines(got, "above")).toEqual([8, 8]);
    expect(serveLines(got, "below")).toEqual([17, 19]);
    // c1's warning (a validity under 5 minutes) is located in the clients section, moved too.
    expect(got.warnings.map((w) => [w.line, w.path])).toEqual([[23, "clients.c1.validity"]]);
    expect(got.layout.sections.map((s) => s.entries.map((e) => e.line))).toEqual([[3], [5, 9, 14], [21]]);

    const shrunk = grown.replace("  above:\n    issuer: root\n    altNames: [above.test]\n", "  above:\n    issuer: root\n    altNames: [above.test, a.test]\n");
    expect(serveLines(expectFast(remember(grown), shrunk), "below")).toEqual([17, 19]);
    const back = expectFast(remember(grown), base);
    expect(serveLines(back, "below")).toEqual([15, 17]);
  });

  it("take the changed entry's `serve` lines from the fragment read alone, moved to its place", () => {
    const edited = base.replace("      port: 8002\n", "      port: 8003\n");
    const got = expectFast(remember(base), edited);
    expect(serveLines(got, "below")).toEqual([15, 17]);
    // moved down by a line typed above it inside the same entry
    const lower = base.replace("    altNames: [below.test]\n", "    altNames: [below.test]\n    validity: 90d\n");
    expect(serveLines(expectFast(remember(base), lower), "below")).toEqual([16, 18]);
  });

  it("replace every entry an edit spans, and only those", () => {
    const both = base.replace("[web.test]", "[www.test]").replace("      port: 8002\n", "      port: 8004\n");
    const got = expectFast(remember(base), both);
    expect(got.config.identities.find((id) => id.name === "below")!.serve!.port).toBe(8004);
  });

  it("step aside for an edit the schema or normalization refuses (the full parse reports it)", () => {
    expectNull(remember(base), base.replace("    altNames: [web.test]\n", "    altNames: [web.test]\n    colour: blue\n"), false);
    expectNull(remember(base), base.replace("[web.test]", "[web..test]"), false);
  });

  it("take a new entry from the edit and the others from the cache", () => {
    const added = base.replace("  below:\n", "  new: { issuer: root, altNames: [new.test] }\n  below:\n");
    const got = expectFast(remember(base), added);
    expect(got.layout.order).toEqual(["root", "above", "web", "new", "below", "c1"]);
    const removed = base.replace("  web:\n    issuer: root\n    altNames: [web.test]\n", "");
    expect(expectFast(remember(base), removed).layout.order).toEqual(["root", "above", "below", "c1"]);
  });

  it("take a section written as a flow map (not in the layout) in the remembered order", () => {
    const flow = "version: 1\ncas: { root: {}, int: { issuer: root } }\nservers:\n  web: { issuer: int, altNames: [web.test] }\n  api: { issuer: root, altNames: [api.test] }\nclients: { c2: { issuer: root }, c1: { issuer: int } }\n";
    const remembered = remember(flow);
    expect(remembered.layout.sections.map((s) => s.section)).toEqual(["servers"]);
    const got = expectFast(remembered, flow.replace("[web.test]", "[web.test, www.test]"));
    expect(got.layout.order).toEqual(["root", "int", "web", "api", "c2", "c1"]);
  });
});

describe("stepping aside when a rule's warning cannot be located in one entry", () => {
  it("a warning in a section written as a flow map", () => {
    const text = "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test] }\nclients: { c1: { issuer: root, validity: 4m } }\n";
    expect(full(text).diagnostics.map((d) => d.path)).toEqual(["clients.c1.validity"]);
    expectNull(remember(text), text.replace("[web.test]", "[www.test]"));
    // its failing twin: the same warning in a block section is located
    const block = text.replace("clients: { c1: { issuer: root, validity: 4m } }\n", "clients:\n  c1: { issuer: root, validity: 4m }\n");
    expectFast(remember(block), block.replace("[web.test]", "[www.test]"));
  });

  it("a warning in an entry that uses an alias", () => {
    const text = "version: 1\nx-short: &short { validity: 4m }\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test] }\n  api:\n    <<: *short\n    issuer: root\n    altNames: [api.test]\n";
    expect(full(text).diagnostics.map((d) => d.path)).toEqual(["servers.api.validity"]);
    expectNull(remember(text), text.replace("[web.test]", "[www.test]"));
    const twin = text.replace("    <<: *short\n", "    validity: 4m\n");
    expectFast(remember(twin), twin.replace("[web.test]", "[www.test]"));
  });
});

describe("a remembered config that does not match its layout (the cache is the user's file)", () => {
  const base = "version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test] }\n  api: { issuer: root, altNames: [api.test] }\nclients:\n  c1: { issuer: root }\n";
  const edited = base.replace("[web.test]", "[www.test]");
  // The clients as a flow map: not in the layout, so their names come from the remembered order and kinds.
  const flowBase = base.replace("clients:\n  c1: { issuer: root }\n", "clients: { c1: { issuer: root }, c2: { issuer: root } }\n");
  const flowEdited = flowBase.replace("[web.test]", "[www.test]");
  const identity = (r: Remembered, name: string) => r.config.identities.find((id) => id.name === name)!;
  const damaged = (text: string, damage: (r: Remembered) => void) => {
    const remembered = remember(text);
    damage(remembered);
    return remembered;
  };

  it("is read incrementally when intact (the twin of the cases below)", () => {
    expectFast(remember(base), edited);
    expectFast(remember(flowBase), flowEdited);
  });

  it("a kept identity of another kind under its name: null", () => {
    for (const [name, kind] of [["c1", "server"], ["api", "client"], ["root", "client"]] as const) {
      expectNull(damaged(base, (r) => (identity(r, name).kind = kind)), edited);
    }
    // In the flow section c2 would be taken for a CA or a server, or left out: null too.
    for (const kind of ["ca", "server"] as const) expectNull(damaged(flowBase, (r) => (identity(r, "c2").kind = kind)), flowEdited);
  });

  it("an identity missing from the config or from the order, or a name in the order the config does not have: null", () => {
    const drop = (r: Remembered, name: string) => (r.config.identities = r.config.identities.filter((id) => id.name !== name));
    expectNull(damaged(base, (r) => drop(r, "c1")), edited);
    expectNull(damaged(base, (r) => drop(r, "api")), edited);
    expectNull(damaged(flowBase, (r) => drop(r, "c2")), flowEdited);
    expectNull(damaged(flowBase, (r) => (r.layout.order = r.layout.order.filter((n) => n !== "c2"))), flowEdited);
    expectNull(damaged(flowBase, (r) => (r.layout.order = r.layout.order.map((n) => (n === "c2" ? "ghost" : n)))), flowEdited);
    expectNull(damaged(flowBase, (r) => (r.layout.order = r.layout.order.map((n) => (n === "c2" ? "c1" : n)))), flowEdited);
    expectNull(damaged(flowBase, (r) => r.layout.order.push("ghost")), flowEdited);
  });

  it("an entry's name twice in the remembered text: the cache's identity of that name is not the kept entry's", () => {
    // Built from a valid text by renaming its third entry c to a in the text, the layout and the config (whose `a`
    // is then c's): as if the cache had remembered a text with a duplicate key and the last entry's identity.
    const valid = "version: 1\ncas:\n  root: {}\nservers:\n  a: { issuer: root, altNames: [a1.test] }\n  x: { issuer: root, altNames: [x.test] }\n  c: { issuer: root, altNames: [a2.test] }\n";
    const duplicated = (text: string, orderName = (n: string) => n) =>
      damaged(text, (r) => {
        r.text = r.text.replace("  c:", "  a:");
        for (const s of r.layout.sections) for (const e of s.entries) if (e.name === "c") e.name = "a";
        r.config.identities = r.config.identities.filter((id) => id.name !== "a").map((id) => (id.name === "c" ? { ...id, name: "a", yamlPath: ["servers", "a"] } : id));
        r.layout.order = r.layout.order.filter((n) => n !== "a").map((n) => orderName(n === "c" ? "a" : n));
      });
    // The second a renamed b: the first a must be read from the text (a1.test), not taken from the cache (a2.test).
    expectNull(duplicated(valid), valid.replace("  c:", "  b:"));
    // The same with a client of a flow section left out of the order: a count of the identities kept would balance.
    const withClients = `${valid}clients: { c1: { issuer: root }, c2: { issuer: root } }\n`;
    expectNull(duplicated(withClients, (n) => (n === "c2" ? "ghost" : n)), withClients.replace("  c:", "  b:"));
  });
});
