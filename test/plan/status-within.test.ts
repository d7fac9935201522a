import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";

const T0 = Date.parse("2027-01-04T03:00:00Z");
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** 90-day leaves renewed with a third of their lifetime left (renewal opens about 60 days in, expiry at 90). */
const YAML = `version: 1
defaults: { validity: 90d, renewBefore: 1/3 }
cas:
  root: { validity: 10y, crlValidity: 1y }
servers:
  web: { issuer: root, altNames: [web.test] }
clients:
  bob: { issuer: root, altNames: [bob@web.test], renewBefore: 10d }
`;

/** When provision renews a certificate, restated from the certificate itself: notAfter minus its window. */
function renewalOpens(file: string, renewBefore: (lifetimeMs: number) => number): number {
  const cert = new X509Certificate(readFileSync(file));
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  return notAfter - renewBefore(notAfter - notBefore);
}

describe("status --within D: renewals (by renewBefore, not expiry) due within D", () => {
  it("exits 2 exactly from the moment the renewal window opens within D, and lists what is due", async () => {
    const p = project(YAML);
    expect((await provision(["--now", new Date(T0).toISOString()], { cwd: p.dir })).code).toBe(0);
    // A third of the lifetime as written (notAfter - notBefore, in whole seconds), as the planner computes it.
    const webOpens = renewalOpens(path.join(p.out, "servers/web/cert.pem"), (life) => Math.floor(life / 3000) * 1000);
    const bobOpens = renewalOpens(path.join(p.out, "clients/bob/cert.pem"), () => 10 * DAY);
    expect(webOpens).toBeGreaterThan(T0 + 59 * DAY + 23 * HOUR);
    expect(webOpens).toBeLessThan(T0 + 60 * DAY);

    const status = async (now: number, within: string) => {
      const run = await provision(["status", "--json", "--now", new Date(now).toISOString(), "--within", within], { cwd: p.dir });
      const due = (JSON.parse(run.stdout).identities as { name: string; due: boolean }[]).filter((r) => r.due).map((r) => r.name);
      return { code: run.code, due };
    };

    // 59d23h in: expiry is 30 days away, but web's renewal opens in under an hour.
    const at = T0 + 59 * DAY + 23 * HOUR;
    expect(await status(at, "1d")).toEqual({ code: 2, due: ["web"] });
    expect(await status(at, "30m")).toEqual({ code: 0, due: [] });
    // The edge: due when the window opens at exactly now + D, not one second earlier.
    expect(await status(webOpens - HOUR, "1h")).toEqual({ code: 2, due: ["web"] });
    expect(await status(webOpens - HOUR - 1000, "1h")).toEqual({ code: 0, due: [] });
    // A duration renewBefore (bob: 10d before a 90-day expiry) opens at 80 days.
    expect(await status(bobOpens - DAY, "1d")).toMatchObject({ code: 2, due: expect.arrayContaining(["bob"]) });
    expect((await status(bobOpens - DAY - 1000, "1d")).due).not.toContain("bob");

    // The table says when each renewal opens.
    const table = await provision(["status", "--now", new Date(at).toISOString()], { cwd: p.dir });
    expect(table.stdout).toMatch(new RegExp(`web\\s+server\\s+root\\s+ecdsa-p256\\s+\\S+ \\S+\\s+30\\s+${new Date(webOpens).toISOString().slice(0, 16).replace("T", " ")}\\s+ok`));
  });
});
