import { chmodSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { stampOf, statFile } from "../../src/store/stamp.js";

/** A file's stamp (what lets a run trust a file without reading it) against real files: each change of the file must change it. */
function folder(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-stamp-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("statFile", () => {
  it("a regular file: inode, size, mtime and ctime, and its permission bits only", () => {
    const dir = folder();
    const file = path.join(dir, "cert.pem");
    writeFileSync(file, "hello");
    chmodSync(file, 0o4640);
    const info = lstatSync(file);
    expect(statFile(file)).toEqual({ stamp: `${info.ino}:5:${info.mtimeMs}:${info.ctimeMs}`, mode: 0o640 });
    expect(stampOf(file)).toBe(statFile(file).stamp);
  });

  it("a missing file has none; a folder, a symlink (even to a regular file) never match; a path below a file is unreadable", () => {
    const dir = folder();
    writeFileSync(path.join(dir, "real.pem"), "x");
    symlinkSync(path.join(dir, "real.pem"), path.join(dir, "link.pem"));
    mkdirSync(path.join(dir, "sub"));
    expect(statFile(path.join(dir, "missing.pem"))).toEqual({ stamp: null, mode: null });
    expect(statFile(path.join(dir, "link.pem"))).toEqual({ stamp: "not-a-regular-file", mode: null });
    expect(statFile(path.join(dir, "sub"))).toEqual({ stamp: "not-a-regular-file", mode: null });
    expect(statFile(path.join(dir, "real.pem", "below"))).toEqual({ stamp: "unreadable", mode: null });
    expect(stampOf(path.join(dir, "missing.pem"))).toBeNull();
  });

  it("changes when the file is replaced by a rename, rewritten with another size, or chmod'ed", async () => {
    const dir = folder();
    const file = path.join(dir, "key.pem");
    writeFileSync(file, "one");
    const first = stampOf(file);
    writeFileSync(path.join(dir, "new"), "one");
    renameSync(path.join(dir, "new"), file);
    const renamed = stampOf(file);
    expect(renamed).not.toBe(first);
    writeFileSync(file, "longer");
    const rewritten = stampOf(file);
    expect(rewritten).not.toBe(renamed);
    await new Promise((resolve) => setTimeout(resolve, 20));
    chmodSync(file, 0o600);
    expect(stampOf(file)).not.toBe(rewritten);
    expect(stampOf(file)).toBe(stampOf(file));
  });
});
