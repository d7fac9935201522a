import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { abandonFolder, finishFolder, placeIn, recoverFolderSwaps, startFolder, swapFolder } from "../../src/store/folder-swap.js";

function tree(): { out: string; servers: string; outside: string } {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-swap-")));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const out = path.join(root, "pki");
  const outside = path.join(root, "outside");
  mkdirSync(path.join(out, "servers"), { recursive: true, mode: 0o755 });
  mkdirSync(outside);
  writeFileSync(path.join(outside, "precious.txt"), "keep");
  return { out, servers: path.join(out, "servers"), outside };
}

describe("folder swap", () => {
  it("builds the new version with links to unchanged files, the new files, subfolders and symlinks as they were; then swaps and removes the old", () => {
    const { servers, outside } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(path.join(dir, "retired"), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, "key.pem"), "old key", { mode: 0o600 });
    writeFileSync(path.join(dir, "chain.pem"), "chain");
    writeFileSync(path.join(dir, "retired", "a.pem"), "retired");
    writeFileSync(path.join(dir, ".cert.pem.0123456789ab.tmp"), "stray");
    symlinkSync(outside, path.join(dir, "link"));
    const chainInode = statSync(path.join(dir, "chain.pem")).ino;

    const build = startFolder(dir, 0o700, new Set([path.join(dir, "key.pem")]));
    expect(build.existed).toBe(true);
    expect(path.basename(build.fresh)).toMatch(/^\.web\.[0-9a-f]{12}\.new$/);
    expect(statSync(build.fresh).mode & 0o777).toBe(0o700);
    expect(readdirSync(build.fresh).sort()).toEqual(["chain.pem", "link", "retired"]);
    writeFileSync(placeIn(build, path.join(dir, "key.pem")), "new key", { mode: 0o600 });
    writeFileSync(placeIn(build, path.join(dir, "retired", "b.pem")), "retired too");
    swapFolder(build);
    expect(existsSync(build.aside)).toBe(true);
    finishFolder(build);

    expect(readdirSync(servers)).toEqual(["web"]);
    expect(readFileSync(path.join(dir, "key.pem"), "utf8")).toBe("new key");
    expect(statSync(path.join(dir, "chain.pem")).ino).toBe(chainInode);
    expect(readdirSync(path.join(dir, "retired")).sort()).toEqual(["a.pem", "b.pem"]);
    expect(statSync(path.join(dir, "retired")).mode & 0o777).toBe(0o700);
    expect(readlinkSync(path.join(dir, "link"))).toBe(outside);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("a new folder appears with one rename; an abandoned build leaves nothing", () => {
    const { servers } = tree();
    const dir = path.join(servers, "api");
    const build = startFolder(dir, 0o700, new Set());
    expect(build.existed).toBe(false);
    writeFileSync(placeIn(build, path.join(dir, "key.pem")), "k");
    swapFolder(build);
    finishFolder(build);
    expect(readdirSync(servers)).toEqual(["api"]);

    const other = startFolder(path.join(servers, "other"), 0o700, new Set());
    abandonFolder(other);
    expect(readdirSync(servers)).toEqual(["api"]);
  });

  it("never writes through a symlinked subfolder, and refuses paths outside the folder", () => {
    const { servers, outside } = tree();
    const dir = path.join(servers, "root");
    mkdirSync(dir);
    symlinkSync(outside, path.join(dir, "retired"));
    const build = startFolder(dir, 0o700, new Set());
    expect(() => placeIn(build, path.join(dir, "retired", "x.pem"))).toThrow(/refusing to write into .*root\/retired: it is a symlink/);
    expect(() => placeIn(build, path.join(servers, "elsewhere", "x.pem"))).toThrow(/outside/);
    abandonFolder(build);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
    expect(readdirSync(servers)).toEqual(["root"]);
  });

  it("refuses to carry over what is not a file, a folder or a symlink (a FIFO), and leaves no new folder", () => {
    const { servers } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(dir);
    execFileSync("mkfifo", [path.join(dir, "pipe")]);
    expect(() => startFolder(dir, 0o700, new Set())).toThrow(/refusing to replace .*web: .*pipe is not a file, a folder or a symlink/);
    expect(readdirSync(servers)).toEqual(["web"]);
  });

  it("recovery: puts back an .old whose folder is missing, removes the other leftovers as entries, leaves near-miss names", () => {
    const { out, servers, outside } = tree();
    mkdirSync(path.join(servers, ".web.0123456789ab.old"), { mode: 0o700 });
    writeFileSync(path.join(servers, ".web.0123456789ab.old", "key.pem"), "kept");
    mkdirSync(path.join(servers, ".web.0123456789ab.new"));
    mkdirSync(path.join(servers, "api"));
    mkdirSync(path.join(servers, ".api.0123456789ab.old"));
    symlinkSync(outside, path.join(servers, ".db.0123456789ab.old"));
    writeFileSync(path.join(servers, ".mail.0123456789ab.old"), "a file");
    symlinkSync(outside, path.join(servers, ".near.0123.old"));

    expect(recoverFolderSwaps(out, [servers, path.join(out, "clients")])).toEqual(["servers/web"]);
    expect(readFileSync(path.join(servers, "web", "key.pem"), "utf8")).toBe("kept");
    expect(readdirSync(servers).sort()).toEqual([".near.0123.old", "api", "web"]);
    expect(lstatSync(path.join(servers, ".near.0123.old")).isSymbolicLink()).toBe(true);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("recovery lists nothing through a kind folder that is a symlink", () => {
    const { out, outside } = tree();
    rmSync(path.join(out, "servers"), { recursive: true });
    mkdirSync(path.join(outside, ".web.0123456789ab.new"));
    symlinkSync(outside, path.join(out, "servers"));
    expect(recoverFolderSwaps(out, [path.join(out, "servers")])).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual([".web.0123456789ab.new", "precious.txt"]);
  });
});
