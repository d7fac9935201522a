import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { watchFiles } from "../../src/serve/watch-files.js";

const until = async (what: () => boolean, ms = 5000) => {
  for (const start = Date.now(); !what() && Date.now() - start < ms; ) await new Promise((r) => setTimeout(r, 20));
  return what();
};

describe("watchFiles", () => {
  it("keeps reloading after the watched folder itself is replaced (a re-key swaps the identity folder)", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "provision-watch-"));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const dir = path.join(root, "servers", "web");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "cert.pem"), "one");
    let calls = 0;
    const stop = watchFiles([path.join(dir, "cert.pem")], () => calls++, 20);
    onTestFinished(stop);

    // What store/folder-swap.ts does: the new folder is built beside it, the old one goes aside, the new one in.
    const fresh = path.join(root, "servers", ".web.0123456789ab.new");
    mkdirSync(fresh);
    writeFileSync(path.join(fresh, "cert.pem"), "two");
    renameSync(dir, path.join(root, "servers", ".web.0123456789ab.old"));
    renameSync(fresh, dir);
    rmSync(path.join(root, "servers", ".web.0123456789ab.old"), { recursive: true });
    expect(await until(() => calls >= 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const before = calls;

    // A later renewal renames a file inside the new folder: still seen.
    writeFileSync(path.join(dir, ".cert.pem.tmp"), "three");
    renameSync(path.join(dir, ".cert.pem.tmp"), path.join(dir, "cert.pem"));
    expect(await until(() => calls > before)).toBe(true);
  });
});
