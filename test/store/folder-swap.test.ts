import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { abandonFolder, finishFolder, foldersOf, placeIn, recoverFolderSwaps, startFolder, swapFolder, swapLeftover } from "../../src/store/folder-swap.js";
import { ProvisionError } from "../../src/errors.js";

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
    let error: unknown;
    try {
      startFolder(dir, 0o700, new Set());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toMatch(/^refusing to replace .*web: .*pipe is not a file, a folder or a symlink$/);
    expect((error as ProvisionError).code).toBe("unsafe-path");
    expect((error as ProvisionError).hint).toBe("remove it and run again");
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

  it("swapLeftover: exactly `.<identity name>.<12 lowercase hex>.new|old`", () => {
    expect(swapLeftover(".web.0123456789ab.old")).toEqual({ name: "web", stage: "old" });
    expect(swapLeftover(".a.b_c-9.abcdefabcdef.new")).toEqual({ name: "a.b_c-9", stage: "new" });
    expect(swapLeftover(`.${"a".repeat(64)}.0123456789ab.new`)).toEqual({ name: "a".repeat(64), stage: "new" });
    for (const near of [
      "web.0123456789ab.old",
      "x.web.0123456789ab.old",
      ".web.0123456789ab.old.x",
      ".web.0123456789ab.older",
      ".web.0123456789ab.tmp",
      ".web.0123456789AB.old",
      ".web.0123456789a.old",
      ".web.0123456789abc.old",
      ".-web.0123456789ab.old",
      "._web.0123456789ab.old",
      ".web/x.0123456789ab.old",
      "..0123456789ab.old",
      `.${"a".repeat(65)}.0123456789ab.old`,
    ]) expect({ near, match: swapLeftover(near) }).toEqual({ near, match: null });
  });

  it("gives the new folder and the folders it builds their modes whatever the umask; a subfolder keeps its mode; foldersOf lists them all", () => {
    const { servers } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(path.join(dir, "keep"), { recursive: true });
    chmodSync(path.join(dir, "keep"), 0o750);
    writeFileSync(path.join(dir, "a.pem"), "a");
    chmodSync(path.join(dir, "a.pem"), 0o640);
    const build = startFolder(dir, 0o751, new Set());
    expect(statSync(build.fresh).mode & 0o777).toBe(0o751);
    expect(statSync(path.join(build.fresh, "keep")).mode & 0o777).toBe(0o750);
    expect(statSync(path.join(build.fresh, "a.pem")).mode & 0o777).toBe(0o640);
    const target = placeIn(build, path.join(dir, "new", "deeper", "x.pem"));
    expect(target).toBe(path.join(build.fresh, "new", "deeper", "x.pem"));
    expect(statSync(path.join(build.fresh, "new")).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(build.fresh, "new", "deeper")).mode & 0o777).toBe(0o755);
    expect(placeIn(build, path.join(dir, "new", "y.pem"))).toBe(path.join(build.fresh, "new", "y.pem"));
    expect(foldersOf(build).sort()).toEqual([build.fresh, path.join(build.fresh, "keep"), path.join(build.fresh, "new"), path.join(build.fresh, "new", "deeper")].sort());
    abandonFolder(build);
    expect(existsSync(build.fresh)).toBe(false);
  });

  it("placeIn refuses the folder itself, a sibling whose name starts with it, and a file where a folder should be", () => {
    const { servers } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "cert.pem"), "c");
    const build = startFolder(dir, 0o700, new Set());
    onTestFinished(() => abandonFolder(build));
    expect(() => placeIn(build, dir)).toThrow(`refusing to write ${dir}: it is outside ${dir}`);
    expect(() => placeIn(build, path.join(servers, "web2", "x.pem"))).toThrow(/outside/);
    expect(() => placeIn(build, path.join(servers, "..web", "x.pem"))).toThrow(/outside/);
    let error: unknown;
    try {
      placeIn(build, path.join(dir, "cert.pem", "x.pem"));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toBe(`refusing to write into ${path.join(dir, "cert.pem")}: it is not a folder`);
    expect((error as ProvisionError).code).toBe("unsafe-path");
    let outside: unknown;
    try {
      placeIn(build, path.join(servers, "web2", "x.pem"));
    } catch (e) {
      outside = e;
    }
    expect((outside as ProvisionError).code).toBe("unsafe-path");
    expect((error as ProvisionError).hint).toMatch(/^provision never follows a symlink/);
  });

  it("a new folder whose parent is missing cannot be started: an fs error naming it", () => {
    const { servers } = tree();
    const dir = path.join(servers, "missing", "web");
    expect(() => startFolder(dir, 0o700, new Set())).toThrow(new RegExp(`^cannot create ${path.join(servers, "missing")}/\\.web\\.[0-9a-f]{12}\\.new: `));
  });

  it("a second rename that fails puts the old folder back; a first that fails changes nothing", () => {
    const { servers } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "key.pem"), "old");
    const build = startFolder(dir, 0o700, new Set());
    rmSync(build.fresh, { recursive: true });
    expect(() => swapFolder(build)).toThrow(new RegExp(`^cannot rename ${dir}: `));
    expect(build.swapped).toBe(false);
    expect(readdirSync(servers)).toEqual(["web"]);
    expect(readFileSync(path.join(dir, "key.pem"), "utf8")).toBe("old");

    const again = startFolder(dir, 0o700, new Set());
    rmSync(dir, { recursive: true });
    expect(() => swapFolder(again)).toThrow(new RegExp(`^cannot rename ${dir}: `));
    expect(again.swapped).toBe(false);
    abandonFolder(again);
    expect(readdirSync(servers)).toEqual([]);
  });

  it("a new folder whose name was taken meanwhile (a folder with files) is not replaced", () => {
    const { servers } = tree();
    const dir = path.join(servers, "api");
    const build = startFolder(dir, 0o700, new Set());
    mkdirSync(dir);
    writeFileSync(path.join(dir, "theirs.pem"), "t");
    expect(() => swapFolder(build)).toThrow(/^cannot rename /);
    abandonFolder(build);
    expect(readdirSync(servers)).toEqual(["api"]);
    expect(readdirSync(dir)).toEqual(["theirs.pem"]);
  });

  it("finishFolder removes only the old version of a replaced folder", () => {
    const { servers } = tree();
    const dir = path.join(servers, "web");
    mkdirSync(dir);
    const build = startFolder(dir, 0o700, new Set());
    swapFolder(build);
    expect(build.swapped).toBe(true);
    abandonFolder(build); // after the swap: nothing to abandon, the new version stays
    expect(existsSync(dir)).toBe(true);
    finishFolder(build);
    expect(readdirSync(servers)).toEqual(["web"]);
  });

  it("recovery never restores an .old others could have made: another owner's, or group/other-writable; nor a .new", () => {
    const { out, servers } = tree();
    mkdirSync(path.join(servers, ".a.0123456789ab.old"));
    chownSync(path.join(servers, ".a.0123456789ab.old"), 65534, 65534);
    mkdirSync(path.join(servers, ".b.0123456789ab.old"));
    chmodSync(path.join(servers, ".b.0123456789ab.old"), 0o775);
    mkdirSync(path.join(servers, ".c.0123456789ab.old"));
    chmodSync(path.join(servers, ".c.0123456789ab.old"), 0o757);
    mkdirSync(path.join(servers, ".d.0123456789ab.new"));
    mkdirSync(path.join(servers, ".e.0123456789ab.old"));
    chmodSync(path.join(servers, ".e.0123456789ab.old"), 0o755);
    expect(recoverFolderSwaps(out, [servers, path.join(out, "missing")])).toEqual(["servers/e"]);
    expect(readdirSync(servers)).toEqual(["e"]);
  });

  it("recovery refuses to delete below a kind folder that is not inside the output folder", () => {
    const { out, outside } = tree();
    mkdirSync(path.join(outside, ".web.0123456789ab.new"));
    expect(() => recoverFolderSwaps(out, [outside])).toThrow(ProvisionError);
    expect(readdirSync(outside).sort()).toEqual([".web.0123456789ab.new", "precious.txt"]);
  });
});

