import { describe, expect, it } from "vitest";
import { project, provision, provisionBin } from "../helpers/cli.js";

// The build bundles the parts of zod provision uses (scripts/bundle-zod.mjs, src/config/zod.ts) so that a run that
// validates does not load zod's locales. The binary runs on that bundle, the in-process CLI on zod itself: for
// a pki.yaml with every kind of problem the schema reports, both must print the same thing.
const bad = `version: 2
extra: 1
defaults: { key: rsa-1024, validity: 90x, renewBefore: 2/1, subject: { country: usa } }
lint: { maxLeafValidity: forever }
cas:
  root: { pathLength: -1, crlUrl: "ftp://crl.test/root.der", nameConstraints: { permitted: [1] } }
  int: { issuer: root, passphraseEnv: "not a name", formats: [pem, pfx], revoked: "yes" }
servers:
  web: { issuer: int, altNames: web.test, rotateKey: sometimes, serve: { port: 70000, clientAuth: maybe, app: "x y" } }
clients:
  bob: { altNames: [3] }
`;

describe("zod as the build bundles it", () => {
  it("reports every problem of an invalid pki.yaml as zod itself does, word for word", async () => {
    const p = project(bad);
    const env = { PROVISION_NO_CACHE: "1", NO_COLOR: "1" };
    const [inProcess, binary] = [await provision(["plan"], { cwd: p.dir, env }), await provisionBin(["plan"], { cwd: p.dir, env: { ...process.env, ...env } })];
    expect(binary.code).toBe(1);
    expect(inProcess.code).toBe(1);
    // Enough problems to cover the schema's messages: types, enums, ranges, strict objects, refinements, URLs.
    expect(binary.stderr.split("\n").filter((line) => line.startsWith("pki.yaml:")).length).toBeGreaterThan(12);
    // (execa drops the last newline.)
    expect(binary.stderr).toBe(inProcess.stderr.trimEnd());
  });
});
