import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyPki, loadPki, revokeSerials } from "../../src/api.js";
import { readCrl } from "../../src/x509/crl.js";
import { project, provision } from "../helpers/cli.js";

describe("revokeSerials (what the ACME server's revokeCert calls)", () => {
  it("puts the serial into its CA's CRL in one locked run; the next run keeps it; an unknown CA writes nothing", async () => {
    const p = project(`version: 1\ncas:\n  root: { commonName: Root }\nclients:\n  bob: { issuer: root }\n  carol: { issuer: root }\n`);
    const { config } = await loadPki("pki.yaml", { cwd: p.dir });
    await applyPki(config);
    const bob = new X509Certificate(readFileSync(path.join(p.out, "clients/bob/cert.pem")));
    const crlFile = path.join(p.out, "cas/root/crl.pem");
    await expect(revokeSerials(config, [{ ca: "nope", serial: bob.serialNumber, notAfter: new Date(bob.validTo).toISOString() }])).rejects.toThrow(/no CA of that name/);
    expect(readCrl(readFileSync(crlFile, "utf8"))!.entries).toEqual([]);

    const result = await revokeSerials(config, [{ ca: "root", serial: bob.serialNumber, notAfter: new Date(bob.validTo).toISOString(), reason: "keyCompromise" }]);
    expect(result.written).toContain(crlFile);
    const crl = readCrl(readFileSync(crlFile, "utf8"))!;
    expect(crl.entries.map((e) => `${e.serial}:${e.reason}`)).toEqual([`${bob.serialNumber.toLowerCase().replace(/^0+/, "")}:keyCompromise`]);
    expect(crl.number).toBe(2);
    // Recorded in state.json: a plain run afterwards changes nothing and the entry stays.
    expect((await applyPki(config)).written).toEqual([]);
    expect(readCrl(readFileSync(crlFile, "utf8"))!.entries).toHaveLength(1);
    // provision inspect decodes it; status lists the CRL.
    const inspected = JSON.parse((await provision(["inspect", crlFile, "--json"], { cwd: p.dir })).stdout);
    expect(inspected).toMatchObject({ number: 2, issuer: { commonName: "Root" }, entries: [{ reason: "keyCompromise" }] });
    const status = JSON.parse((await provision(["status", "--json"], { cwd: p.dir })).stdout);
    expect(status.crls).toMatchObject([{ ca: "root", number: 2, revoked: 1, state: "ok" }]);
  });
});
