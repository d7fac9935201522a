import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { project, provision } from "../helpers/cli.js";
import { certText, verifyLeaf } from "../helpers/openssl.js";

describe("pki.yaml as people write it", () => {
  it("anchors with merge keys, x- keys for them, IDN and upper-case names, Unicode subjects, several roots", async () => {
    const p = project(`version: 1
x-leaf: &leaf { key: ecdsa-p384, validity: 60d }
cas:
  root-one: { commonName: "Ünïcode Röot ☃", subject: { organization: "Åcme & Søns", country: SE } }
  root-two: { key: rsa-2048 }
servers:
  idn: { issuer: root-one, <<: *leaf, altNames: ["bücher.test", "WEB.Example.TEST", "0:0:0:0:0:0:0:1"] }
clients:
  bare: { issuer: root-two }
`);
    const run = await provision([], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect((await provision([], { cwd: p.dir })).stdout).toMatch(/nothing to do/);
    for (const host of ["xn--bcher-kva.test", "web.example.test"]) {
      const result = await verifyLeaf(p.out, "servers", "idn", ["-verify_hostname", host]);
      expect(result.ok, result.output).toBe(true);
    }
    expect((await verifyLeaf(p.out, "servers", "idn", ["-verify_ip", "::1"])).ok).toBe(true);
    expect((await verifyLeaf(p.out, "clients", "bare")).ok).toBe(true);
    const text = await certText(path.join(p.out, "servers/idn/cert.pem"));
    expect(text).toMatch(/Public-Key: \(384 bit\)/);
    expect(text).toMatch(/Not After : .*/);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(path.join(p.out, "ca-bundle.pem"), "utf8").match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it("classifies and normalises alt names the way verifiers compare them", () => {
    const { config, diagnostics } = parseConfig(`version: 1
cas:
  r: {}
servers:
  s: { issuer: r, altNames: ["Host.Example.TEST.", "2001:DB8::1", "mailto-less@Example.test", "spiffe://trust.test/svc", "::ffff:10.0.0.1"] }
`, "pki.yaml");
    expect(diagnostics).toEqual([]);
    expect(config!.identities[1]!.altNames).toEqual([
      { type: "dns", value: "host.example.test" },
      { type: "ip", value: "2001:db8::1" },
      { type: "email", value: "mailto-less@example.test" },
      { type: "uri", value: "spiffe://trust.test/svc" },
      { type: "ip", value: "::ffff:a00:1" },
    ]);
  });
});
