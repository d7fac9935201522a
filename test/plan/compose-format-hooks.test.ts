import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { composeBundle, composeChain, composeFullchain, issuerPath, type UpstreamOf } from "../../src/plan/compose.js";
import { formatPlan, formatTable, summarize } from "../../src/plan/format.js";
import { plannedHooks } from "../../src/plan/hooks.js";
import type { CrlAction, IdentityAction, Plan } from "../../src/plan/types.js";
import { opensslSync } from "../helpers/openssl.js";
import { configOf, filesIn, issueOf, removeFiles } from "../x509/fixtures.js";
import { config } from "./builders.js";

/**
 * plan/compose.ts (chain.pem, fullchain.pem, ca-bundle.pem), plan/format.ts (the plan as printed) and
 * plan/hooks.ts (which afterChange hooks a run executes): the pure pieces around buildPlan, each output
 * compared whole. The composed files of a real chain are also handed to `openssl verify`.
 */

const cfg = config(`version: 1
cas:
  root: { commonName: Root }
  int: { issuer: root, commonName: Int }
  sub: { issuer: int, commonName: Sub }
  other: { commonName: Other Root }
servers:
  web: { issuer: sub, altNames: [web.test], afterChange: "systemctl reload web" }
  direct: { issuer: root, altNames: [direct.test], afterChange: [touch, /tmp/x] }
clients:
  bob: { issuer: other, altNames: [bob@x.test], afterChange: "notify bob", afterChangeTimeout: 7m }
`);
const id = (name: string) => cfg.identities.find((i) => i.name === name)!;
const pem = (name: string) => `PEM(${name})\n`;
afterAll(removeFiles);

describe("compose", () => {
  it("issuerPath: nearest first, up to the root; a root has none; the same array object for the same config", () => {
    expect(issuerPath(cfg, id("web")).map((i) => i.name)).toEqual(["sub", "int", "root"]);
    expect(issuerPath(cfg, id("root"))).toEqual([]);
    expect(issuerPath(cfg, id("web"))).toBe(issuerPath(cfg, id("web")));
    expect(issuerPath(cfg, { ...id("web"), name: "not-in-config" })).toEqual([]);
  });

  it("chain: every issuer, root last; fullchain: the certificate and the intermediates, never the root", () => {
    const issuers = issuerPath(cfg, id("web"));
    expect(composeChain(issuers, pem)).toBe("PEM(sub)\nPEM(int)\nPEM(root)\n");
    expect(composeFullchain(id("web"), issuers, pem)).toBe("PEM(web)\nPEM(sub)\nPEM(int)\n");
    expect(composeFullchain(id("direct"), issuerPath(cfg, id("direct")), pem)).toBe("PEM(direct)\n");
    expect(composeChain([], pem)).toBe("");
  });

  it("under an external CA with certificates above it: they follow in the chain; the fullchain leaves out only their root", () => {
    const upstream: UpstreamOf = (ca) => (ca === "root" ? { upstream: ["UP1\n", "UPROOT\n"], roots: ["UPROOT\n"] } : undefined);
    const issuers = issuerPath(cfg, id("web"));
    expect(composeChain(issuers, pem, upstream)).toBe("PEM(sub)\nPEM(int)\nPEM(root)\nUP1\nUPROOT\n");
    // root is not a root here (something is above it): it is sent, like UP1.
    expect(composeFullchain(id("web"), issuers, pem, upstream)).toBe("PEM(web)\nPEM(sub)\nPEM(int)\nPEM(root)\nUP1\n");
    expect(composeBundle(cfg, pem, [], upstream)).toBe("PEM(other)\nUPROOT\n");
    // Two certificates between it and the upstream root: both are sent, in order, the root is not.
    const twoUp: UpstreamOf = (ca) => (ca === "root" ? { upstream: ["UP2\n", "UP1\n", "UPROOT\n"], roots: ["UPROOT\n"] } : undefined);
    expect(composeFullchain(id("web"), issuers, pem, twoUp)).toBe("PEM(web)\nPEM(sub)\nPEM(int)\nPEM(root)\nUP2\nUP1\n");
    expect(composeChain(issuers, pem, twoUp)).toBe("PEM(sub)\nPEM(int)\nPEM(root)\nUP2\nUP1\nUPROOT\n");
    // A self-signed external root brings no upstream: it is a root as usual.
    const selfSigned: UpstreamOf = (ca) => (ca === "root" ? { upstream: [], roots: ["EXTROOT\n"] } : undefined);
    expect(composeFullchain(id("web"), issuers, pem, selfSigned)).toBe("PEM(web)\nPEM(sub)\nPEM(int)\n");
    expect(composeChain(issuers, pem, selfSigned)).toBe("PEM(sub)\nPEM(int)\nPEM(root)\n");
  });

  it("bundle: every root in the config's order (by name), then retired ones, each once", () => {
    expect(composeBundle(cfg, pem, [])).toBe("PEM(other)\nPEM(root)\n");
    expect(composeBundle(cfg, pem, ["OLD\n", "PEM(root)\n", "OLD\n"])).toBe("PEM(other)\nPEM(root)\nOLD\n");
  });

  it("the composed files of a real chain verify with openssl, as a server sends them and as a client trusts them", () => {
    const c = configOf(`version: 1
cas:
  root: { commonName: Root }
  int: { issuer: root, commonName: Int }
servers:
  web: { issuer: int, altNames: [web.test] }
`);
    const root = issueOf(c, "root", null);
    const int = issueOf(c, "int", root);
    const web = issueOf(c, "web", int);
    const pems = new Map([["root", root.pem], ["int", int.pem], ["web", web.pem]]);
    const certOf = (name: string) => pems.get(name)!;
    const leaf = c.identities.find((i) => i.name === "web")!;
    const issuers = issuerPath(c, leaf);
    const dir = filesIn({ "bundle.pem": composeBundle(c, certOf, []), "chain.pem": composeChain(issuers, certOf), "fullchain.pem": composeFullchain(leaf, issuers, certOf), "web.pem": web.pem });
    const verify = (untrusted: string) => opensslSync(["verify", "-x509_strict", "-purpose", "sslserver", "-attime", String(Date.parse("2028-01-01") / 1000), "-CAfile", path.join(dir, "bundle.pem"), "-untrusted", path.join(dir, untrusted), path.join(dir, "web.pem")]);
    expect(verify("chain.pem").ok).toBe(true);
    expect(verify("fullchain.pem").ok).toBe(true);
  });
});

const act = (name: string, kind: IdentityAction["kind"], action: IdentityAction["action"], reasons: string[] = []): IdentityAction => ({
  name, kind, action, reasons, key: "none", issuer: null, notBefore: null, notAfter: null,
  files: { cert: `/out/${kind}s/${name}/cert.pem`, key: `/out/${kind}s/${name}/key.pem` },
});
const crl = (ca: string, action: CrlAction["action"], reasons: string[] = []): CrlAction => ({
  ca, action, reasons, number: 1, thisUpdate: "", nextUpdate: "", refreshAt: "", revoked: [], files: { pem: `/out/cas/${ca}/crl.pem`, der: `/out/cas/${ca}/crl.der` },
});
function planOf(over: Partial<Plan>): Plan {
  return { version: 1, now: "2027-01-01T00:00:00.000Z", actions: [], refresh: [], prune: false, retired: [], permissions: [], hooks: [], revocations: [], revokeRequests: [], crls: [], crlBundleStale: false, notes: [], ...over };
}

describe("format", () => {
  it("a table padded to the widest cell, the last column not padded, trailing spaces trimmed", () => {
    expect(formatTable([["A", "BB", "C"], ["aaa", "b", ""], ["a", "bbbb", "c"]])).toEqual(["A    BB    C", "aaa  b", "a    bbbb  c"]);
  });

  it("the plan: one line per identity, then refreshed files, revocations, CRLs that change, a stale CRL bundle, hooks and notes", () => {
    const plan = planOf({
      actions: [act("root", "ca", "unchanged"), act("web", "server", "reissue", ["altNames changed (+a.test)", "issuer int reissued"])],
      refresh: ["/out/servers/api/chain.pem", "/elsewhere/x.pem"],
      revocations: [{ name: "old", kind: "client", issuer: "root", serial: "4a", reason: "keyCompromise", why: "revoked in pki.yaml" }],
      crls: [crl("root", "create", ["new"]), crl("int", "refresh", ["entries changed", "window"]), crl("sub", "unchanged")],
      crlBundleStale: true,
      hooks: [{ name: "web", kind: "server", action: "reissue", command: "systemctl reload web", timeoutSeconds: 30 }, { name: "direct", kind: "server", action: "refresh", command: ["touch", "/tmp/x"], timeoutSeconds: 30 }],
      notes: ["something to know"],
    });
    expect(formatPlan(plan, "/out").split("\n")).toEqual([
      "NAME  KIND    ACTION     REASON",
      "root  ca      unchanged",
      "web   server  reissue    altNames changed (+a.test); issuer int reissued",
      "refresh servers/api/chain.pem (an issuer's certificate changed)",
      "refresh ../elsewhere/x.pem (an issuer's certificate changed)",
      "revoke client old serial 4a in root's CRL (keyCompromise): revoked in pki.yaml",
      "create crl cas/root/crl.pem (new)",
      "refresh crl cas/int/crl.pem (entries changed; window)",
      "refresh crl-bundle.pem (it does not match the CRLs)",
      'hook web (reissue): systemctl reload web',
      'hook direct (refresh): ["touch","/tmp/x"]',
      "note: something to know",
    ]);
    // The output folder itself, refreshed: its path, not an empty one.
    expect(formatPlan(planOf({ refresh: ["/out"], crls: [crl("x", "refresh")] }), "/out").split("\n").slice(1)).toEqual(["refresh /out (an issuer's certificate changed)", "refresh crl cas/x/crl.pem ()"]);
    expect(formatPlan(planOf({ crls: [{ ...crl("x", "create"), files: { pem: "/out", der: "" } }] }), "/out").split("\n")[1]).toBe("create crl /out ()");
  });

  it("colour: only the action word, in its colour, even when a name contains the action's text", () => {
    const plan = planOf({ actions: [act("renew", "server", "renew", ["renew soon"]), act("a", "ca", "create"), act("b", "client", "orphaned"), act("c", "server", "unchanged"), act("d", "server", "waiting"), act("e", "server", "revoke"), act("f", "server", "revoked"), act("g", "server", "reissue")] });
    const lines = formatPlan(plan, "/out", { color: true }).split("\n");
    expect(lines[0]).toBe("NAME   KIND    ACTION     REASON");
    expect(lines.slice(1)).toEqual([
      "renew  server  \x1b[36mrenew\x1b[0m      renew soon",
      "a      ca      \x1b[32mcreate\x1b[0m",
      "b      client  \x1b[35morphaned\x1b[0m",
      "c      server  \x1b[2munchanged\x1b[0m",
      "d      server  \x1b[33mwaiting\x1b[0m",
      "e      server  \x1b[31mrevoke\x1b[0m",
      "f      server  \x1b[2mrevoked\x1b[0m",
      "g      server  \x1b[33mreissue\x1b[0m",
    ]);
    expect(formatPlan(plan, "/out")).not.toContain("\x1b[");
  });

  it("summarize: how many of each action, in order of first appearance", () => {
    expect(summarize(planOf({ actions: [act("a", "ca", "unchanged"), act("b", "server", "renew"), act("c", "server", "unchanged")] }))).toBe("2 unchanged, 1 renew");
    expect(summarize(planOf({}))).toBe("");
  });
});

describe("hooks", () => {
  const base = { actions: [act("web", "server", "unchanged"), act("direct", "server", "unchanged"), act("bob", "client", "unchanged"), act("root", "ca", "unchanged")], refresh: [] as string[], crls: [] as CrlAction[] };
  it("a hook per identity with afterChange whose certificate is issued or revoked, with its command and timeout", () => {
    for (const action of ["create", "reissue", "renew", "revoke"] as const) {
      const hooks = plannedHooks(cfg, { ...base, actions: [act("web", "server", action), act("bob", "client", action), act("root", "ca", action)] }, []);
      expect(hooks).toEqual([
        { name: "bob", kind: "client", action, command: "notify bob", timeoutSeconds: 420 },
        { name: "web", kind: "server", action, command: "systemctl reload web", timeoutSeconds: 300 },
      ]);
    }
    expect(plannedHooks(cfg, { ...base, actions: [act("web", "server", "waiting"), act("bob", "client", "orphaned")] }, [])).toEqual([]);
  });

  it("refresh when only its folder's chain files change; crl when its CA's CRL is re-signed; retry when pending; its own action first", () => {
    expect(plannedHooks(cfg, { ...base, refresh: [path.join(cfg.outputDir, "servers", "web", "chain.pem"), path.join(cfg.outputDir, "ca-bundle.pem")] }, []).map((h) => `${h.name}:${h.action}`)).toEqual(["web:refresh"]);
    const withRootHook = { ...cfg, identities: cfg.identities.map((i) => (i.name === "root" ? { ...i, afterChange: { command: "reload-crl", timeoutSeconds: 5 } } : i)) };
    expect(plannedHooks(withRootHook, { ...base, crls: [crl("root", "refresh"), crl("other", "create")] }, []).map((h) => `${h.name}:${h.action}`)).toEqual(["root:crl"]);
    expect(plannedHooks(withRootHook, { ...base, crls: [crl("root", "unchanged")] }, [])).toEqual([]);
    expect(plannedHooks(withRootHook, { ...base, actions: [act("root", "ca", "renew")], crls: [crl("root", "refresh")] }, [{ name: "root", action: "crl" }]).map((h) => `${h.name}:${h.action}`)).toEqual(["root:renew"]);
    expect(plannedHooks(cfg, base, [{ name: "bob", action: "renew" }, { name: "ghost", action: "renew" }]).map((h) => `${h.name}:${h.action}`)).toEqual(["bob:retry"]);
    expect(plannedHooks(withRootHook, { ...base, crls: [crl("root", "create")] }, [{ name: "root", action: "renew" }]).map((h) => `${h.name}:${h.action}`)).toEqual(["root:crl"]);
    expect(plannedHooks(cfg, { ...base, refresh: [path.join(cfg.outputDir, "servers", "web", "chain.pem")] }, [{ name: "web", action: "renew" }]).map((h) => `${h.name}:${h.action}`)).toEqual(["web:refresh"]);
  });
});
