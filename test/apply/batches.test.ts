import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyPlan } from "../../src/apply/apply.js";
import { loadPki, planPki } from "../../src/api.js";
import { realDeps } from "../../src/deps.js";
import { generateKey } from "../../src/x509/keys.js";
import type { KeyType } from "../../src/config/types.js";

const yaml = `version: 1\ncas:\n  root: {}\n  int: { issuer: root }\nservers:\n${Array.from({ length: 10 }, (_, i) => `  s${i}: { issuer: int, altNames: [s${i}.test] }\n`).join("")}`;

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Plans and applies in-process in batches of `batchSize`; key generation fails for the `failAt`-th key (1-based). */
async function run(batchSize: number, failAt = Infinity) {
  const { config } = await loadPki("pki.yaml", { cwd: dir });
  let made = 0;
  const deps = realDeps({
    generateKey: async (type: KeyType) => {
      if (++made === failAt) throw new Error("no space left (injected)");
      return generateKey(type);
    },
  });
  const { plan, observed } = await planPki(config, { deps });
  return { plan, apply: () => applyPlan(config, plan, observed, deps, { batchSize }) };
}

const recorded = () => {
  const file = path.join(dir, "pki/state.json");
  if (!existsSync(file)) return [] as string[];
  return Object.keys((JSON.parse(readFileSync(file, "utf8")) as { identities: object }).identities).sort();
};

describe("apply in batches", () => {
  it("a run that fails in its fourth batch keeps the three before it; the retry creates only the rest", async () => {
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-batches-")));
    writeFileSync(path.join(dir, "pki.yaml"), yaml);
    // Config order is issuer first: [root, int, s0] [s1, s2, s3] [s4, s5, s6] [s7, s8, s9]; s7's key is the 10th.
    const first = await run(3, 10);
    await expect(first.apply()).rejects.toThrow(/injected/);
    expect(recorded()).toEqual(["int", "root", "s0", "s1", "s2", "s3", "s4", "s5", "s6"]);
    const s3 = readFileSync(path.join(dir, "pki/servers/s3/cert.pem"), "utf8");
    expect(existsSync(path.join(dir, "pki/servers/s7"))).toBe(false);
    expect(existsSync(path.join(dir, "pki/ca-bundle.pem"))).toBe(false); // written by the last commit only

    const retry = await run(3);
    const created = retry.plan.actions.filter((a) => a.action === "create").map((a) => a.name);
    expect(created).toEqual(["s7", "s8", "s9"]);
    await retry.apply();
    expect(recorded()).toHaveLength(12);
    expect(readFileSync(path.join(dir, "pki/servers/s3/cert.pem"), "utf8")).toBe(s3);
    expect(existsSync(path.join(dir, "pki/ca-bundle.pem"))).toBe(true);
  });

  it("failing twin: in one batch, the same failure leaves nothing behind", async () => {
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-batches-")));
    writeFileSync(path.join(dir, "pki.yaml"), yaml);
    const first = await run(1000, 10);
    await expect(first.apply()).rejects.toThrow(/injected/);
    expect(recorded()).toEqual([]);
    expect(existsSync(path.join(dir, "pki/cas/root/cert.pem"))).toBe(false);
  });
});
