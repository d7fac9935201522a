import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ProvisionError } from "../../src/errors.js";
import type { PendingHook } from "../../src/plan/hooks.js";
import { readPendingHooks, writePendingHooks } from "../../src/store/pending-hooks.js";

/** hooks-pending.json (afterChange hooks to retry) in a real output folder: round trip, and every damaged form read as none, with a note. */
function output(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-pending-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const DAMAGED = "hooks-pending.json is damaged and was ignored: hooks that failed earlier are not retried";

describe("pending hooks", () => {
  it("written as names and actions only, public, read back as written; none left removes the file", async () => {
    const out = output();
    const hooks = [{ name: "web", action: "renew", command: "forged" }, { name: "a.b_c-9", action: "retry" }] as unknown as PendingHook[];
    await writePendingHooks(out, hooks);
    const file = path.join(out, "hooks-pending.json");
    expect(readFileSync(file, "utf8")).toBe(`${JSON.stringify({ version: 1, pending: [{ name: "web", action: "renew" }, { name: "a.b_c-9", action: "retry" }] }, null, 2)}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(await readPendingHooks(out)).toEqual({ pending: [{ name: "web", action: "renew" }, { name: "a.b_c-9", action: "retry" }], problem: null });
    await writePendingHooks(out, []);
    expect(existsSync(file)).toBe(false);
    await writePendingHooks(out, []);
    expect(readdirSync(out)).toEqual([]);
    expect(await readPendingHooks(out)).toEqual({ pending: [], problem: null });
  });

  it("an output folder that does not exist, or is a file, has none pending", async () => {
    const out = output();
    expect(await readPendingHooks(path.join(out, "missing"))).toEqual({ pending: [], problem: null });
    writeFileSync(path.join(out, "file"), "x");
    expect(await readPendingHooks(path.join(out, "file"))).toEqual({ pending: [], problem: null });
  });

  it("a hooks-pending.json that cannot be read (a folder) stops the run; one that cannot be removed too", async () => {
    const out = output();
    mkdirSync(path.join(out, "hooks-pending.json", "x"), { recursive: true });
    const error = await readPendingHooks(out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toMatch(/^cannot read .*hooks-pending\.json/);
    const removal = await writePendingHooks(path.join(out, "hooks-pending.json", "x", "y"), []).then(() => null, (e: unknown) => e);
    expect(removal).toBeNull(); // nothing there: nothing to remove
    writeFileSync(path.join(out, "f"), "x");
    const notDir = await writePendingHooks(path.join(out, "f"), []).then(() => null, (e: unknown) => e);
    expect(notDir).toBeInstanceOf(ProvisionError);
    expect((notDir as ProvisionError).message).toMatch(/^cannot remove .*\/f\/hooks-pending\.json: /);
  });

  it("each damaged form is ignored with one note", async () => {
    const out = output();
    const file = path.join(out, "hooks-pending.json");
    const valid = { version: 1, pending: [{ name: "web", action: "renew" }] };
    const forms = [
      "{",
      "null",
      JSON.stringify({ ...valid, version: 2 }),
      JSON.stringify({ pending: valid.pending }),
      JSON.stringify({ ...valid, extra: true }),
      JSON.stringify({ version: 1, pending: [{ name: "web", action: "renew", command: "rm -rf /" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "web", action: "explode" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "../web", action: "renew" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "-web", action: "renew" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "web/x", action: "renew" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "a".repeat(65), action: "renew" }] }),
      JSON.stringify({ version: 1, pending: [{ name: "", action: "renew" }] }),
      JSON.stringify({ version: 1, pending: Array.from({ length: 100_001 }, () => ({ name: "web", action: "renew" })) }),
    ];
    for (const text of forms) {
      writeFileSync(file, text);
      expect({ text: text.slice(0, 80), read: await readPendingHooks(out) }).toEqual({ text: text.slice(0, 80), read: { pending: [], problem: DAMAGED } });
    }
    // The edges that are valid: 64 characters, 100,000 entries.
    writeFileSync(file, JSON.stringify({ version: 1, pending: [{ name: "a".repeat(64), action: "crl" }] }));
    expect((await readPendingHooks(out)).pending).toEqual([{ name: "a".repeat(64), action: "crl" }]);
    writeFileSync(file, JSON.stringify({ version: 1, pending: Array.from({ length: 100_000 }, () => ({ name: "w", action: "create" })) }));
    expect((await readPendingHooks(out)).pending).toHaveLength(100_000);
  });
});
