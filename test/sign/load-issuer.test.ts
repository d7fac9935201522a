import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ProvisionError } from "../../src/errors.js";
import { loadIssuer } from "../../src/sign/load-issuer.js";
import { project, provision } from "../helpers/cli.js";

const YAML = `version: 1
cas:
  root: { commonName: Root, validity: 1y }
  other: { commonName: Other, validity: 1y }
`;

async function provisioned() {
  const p = project(YAML);
  expect((await provision([], { cwd: p.dir })).code).toBe(0);
  return { ...p, config: (await loadConfig("pki.yaml", { cwd: p.dir })).config };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ProvisionError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return "no error";
}

describe("loadIssuer (the CA that signs a CSR, from the output folder)", () => {
  it("reads the certificate and the key, and knows the CAs above", async () => {
    const { config } = await provisioned();
    const issuer = loadIssuer(config, "root", {});
    expect(issuer.spec.name).toBe("root");
    expect(issuer.above).toEqual([]);
    expect(Date.parse(issuer.notAfter)).toBeGreaterThan(Date.now());
  });

  it.each([
    ["a name that is no CA", (_out: string) => {}, "nobody", /^unknown-issuer: no CA named "nobody"/],
    ["a missing certificate", (out: string) => rmSync(path.join(out, "cas/root/cert.pem")), "root", /^not-provisioned: CA root has no certificate or key yet/],
    ["a damaged certificate", (out: string) => writeFileSync(path.join(out, "cas/root/cert.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "root", /^unreadable: .*cas\/root\/cert\.pem is not a readable certificate/],
    ["another CA's key", (out: string) => writeFileSync(path.join(out, "cas/root/key.pem"), readFileSync(path.join(out, "cas/other/key.pem"))), "root", /^ca-key-mismatch: the key of CA root does not match/],
    ["a folder where the key should be", (out: string) => (rmSync(path.join(out, "cas/root/key.pem")), mkdirSync(path.join(out, "cas/root/key.pem"))), "root", /^unsafe-path: refusing to read .*cas\/root\/key\.pem/],
  ])("%s is a ProvisionError that says so", async (_what, damage, name, expected) => {
    const { config, out } = await provisioned();
    damage(out);
    expect(codeOf(() => loadIssuer(config, name, {}))).toMatch(expected);
  });
});
