import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProvisionError } from "../../src/errors.js";
import {
  assertInside,
  chmodPrivate,
  checkBeforeDelete,
  deleteInside,
  prepareFolder,
  prepareOutputFolder,
  prepareWholeFolder,
  readOutputBytes,
  readOutputFile,
  readUserFile,
} from "../../src/store/guard.js";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.js";

/**
 * The output-tree guard in process, against real folders: real symlinks, real modes, a real other owner
 * (the suite runs as root, so chown works). Every refusal has a twin that passes, and every refusal checks
 * that nothing was written through the hostile entry (the sandbox's decoys outside the project are
 * fingerprinted).
 */

let sb: Sandbox;
let out: string;
const OTHER_UID = 65534;
const me = process.getuid!();
const modeOf = (p: string) => lstatSync(p).mode & 0o777;

beforeEach(() => {
  sb = makeSandbox();
  out = sb.out;
});
afterEach(() => sb.remove());

/** Runs `f`, expects a ProvisionError, returns it. */
function refusal(f: () => unknown): ProvisionError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    return error as ProvisionError;
  }
  throw new Error("expected a refusal, got none");
}

/**
 * Runs `f` under a umask that would take bits the guard wants, so the chmod after mkdir is what gives the
 * mode. Vitest's forks can set it; Stryker's runner uses worker threads, which cannot, so
 * vitest.mutate.config.ts sets 077 for its whole process instead.
 */
function withUmask(mask: number, f: () => unknown): void {
  let old: number | undefined;
  try {
    old = process.umask(mask);
  } catch {
    // a worker thread: the process's umask applies
  }
  try {
    f();
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

function makeOut(mode = 0o755): void {
  mkdirSync(out);
  chmodSync(out, mode);
}

describe("prepareOutputFolder", () => {
  it("creates a missing output folder and its parents, with exactly the mode asked for (whatever the umask)", () => {
    const deep = path.join(sb.dir, "a", "b", "pki");
    withUmask(0o077, () => expect(prepareOutputFolder(deep, 0o750)).toBe(true));
    expect(modeOf(deep)).toBe(0o750);
    expect(prepareOutputFolder(deep, 0o750)).toBe(false);
  });

  it("takes the public folder mode when none is given", () => {
    withUmask(0o077, () => prepareOutputFolder(out));
    expect(modeOf(out)).toBe(0o755);
  });

  it("leaves an existing folder's mode alone: a 0700 output folder stays 0700", () => {
    makeOut(0o700);
    expect(prepareOutputFolder(out, 0o755)).toBe(false);
    expect(modeOf(out)).toBe(0o700);
  });

  it("accepts an output folder that is a symlink the user made to a folder of their own", () => {
    const real = path.join(sb.dir, "real");
    mkdirSync(real);
    symlinkSync(real, out);
    expect(prepareOutputFolder(out)).toBe(false);
    expect(lstatSync(out).isSymbolicLink()).toBe(true);
  });

  it("refuses an output folder that is a file, with a hint about output:", () => {
    writeFileSync(out, "x");
    const e = refusal(() => prepareOutputFolder(out));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to write into ${out}: it is not a folder`);
    expect(e.hint).toBe("point output: in pki.yaml at a folder");
  });

  it("refuses an output folder below a file", () => {
    writeFileSync(path.join(sb.dir, "file"), "x");
    const below = path.join(sb.dir, "file", "pki");
    const e = refusal(() => prepareOutputFolder(below));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to write into ${below}: a part of its path is a file, not a folder`);
    expect(e.hint).toBe("point output: in pki.yaml at a folder");
  });

  it("refuses an output folder that is a dangling symlink (mkdir finds the link in the way)", () => {
    symlinkSync(path.join(sb.dir, "nowhere"), out);
    const e = refusal(() => prepareOutputFolder(out));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to write into ${out}: a part of its path is a file, not a folder`);
    expect(e.hint).toBe("point output: in pki.yaml at a folder");
    expect(existsSync(path.join(sb.dir, "nowhere"))).toBe(false);
  });

  it("reports another failure to create it as a file-system error naming the folder", () => {
    const loop = path.join(sb.dir, "loop");
    symlinkSync(loop, loop);
    const e = refusal(() => prepareOutputFolder(path.join(loop, "pki")));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot check .*loop\/pki: /);
  });

  it("a failure to create it that is no file in the way is reported as such (procfs refuses mkdir)", () => {
    const e = refusal(() => prepareOutputFolder("/proc/self/pki"));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot create \/proc\/self\/pki: /);
  });

  it("refuses an output folder group or others can write, and names its mode", () => {
    makeOut();
    for (const [mode, shown] of [[0o775, "0775"], [0o757, "0757"], [0o020, "0020"], [0o002, "0002"]] as const) {
      chmodSync(out, mode);
      const e = refusal(() => prepareOutputFolder(out));
      expect(e.code).toBe("unsafe-path");
      expect(e.message).toBe(`refusing to write into ${out}: others can write to that folder (mode ${shown})`);
      expect(e.hint).toBe(`run chmod go-w ${out}, or point output: somewhere private`);
    }
    for (const mode of [0o755, 0o700, 0o555]) {
      chmodSync(out, mode);
      expect(prepareOutputFolder(out)).toBe(false);
    }
  });

  it("refuses an output folder another user owns", () => {
    makeOut();
    chownSync(out, OTHER_UID, OTHER_UID);
    const e = refusal(() => prepareOutputFolder(out));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to write into ${out}: it belongs to uid ${OTHER_UID}, not to you (uid ${me})`);
    expect(e.hint).toBe("chown it to yourself, or point output: somewhere of your own");
  });
});

describe("prepareFolder", () => {
  it("creates the folders on the way: the public mode above, the mode asked for at the last level", () => {
    makeOut();
    const dir = path.join(out, "cas", "root");
    withUmask(0o077, () => prepareFolder(out, dir, 0o700));
    expect(modeOf(path.join(out, "cas"))).toBe(0o755);
    expect(modeOf(dir)).toBe(0o700);
  });

  it("creates a missing output folder with the public folder mode", () => {
    withUmask(0o077, () => prepareFolder(out, path.join(out, "cas"), 0o700));
    expect(modeOf(out)).toBe(0o755);
    expect(modeOf(path.join(out, "cas"))).toBe(0o700);
  });

  it("narrows an existing last folder to the mode asked for, never widens it, and leaves the folders above alone", () => {
    makeOut();
    const cas = path.join(out, "cas");
    const dir = path.join(cas, "root");
    mkdirSync(dir, { recursive: true });
    chmodSync(cas, 0o711);
    chmodSync(dir, 0o755);
    prepareFolder(out, dir, 0o700);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(cas)).toBe(0o711);

    chmodSync(dir, 0o751);
    prepareFolder(out, dir, 0o750);
    expect(modeOf(dir)).toBe(0o750);

    chmodSync(dir, 0o700);
    prepareFolder(out, dir, 0o755);
    expect(modeOf(dir)).toBe(0o700);

    chmodSync(dir, 0o500);
    prepareFolder(out, dir, 0o755);
    expect(modeOf(dir)).toBe(0o500);

    // Readable by others, by no one else: nothing of it is wanted, so nothing is left.
    chmodSync(dir, 0o055);
    prepareFolder(out, dir, 0o700);
    expect(modeOf(dir)).toBe(0o000);
  });

  it("a folder that cannot be created or narrowed is a file-system error naming it (procfs refuses both)", () => {
    const e = refusal(() => prepareFolder("/proc/self", "/proc/self/pki", 0o700));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot create \/proc\/self\/pki: /);
    const narrow = refusal(() => prepareFolder("/proc/self", "/proc/self/net", 0o700));
    expect(narrow.code).toBe("fs-error");
    expect(narrow.message).toMatch(/^cannot chmod \/proc\/self\/net: /);
  });

  it("the output folder itself is checked, not chmod'ed, and may be a symlink the user made", () => {
    makeOut(0o700);
    prepareFolder(out, out, 0o755);
    expect(modeOf(out)).toBe(0o700);
    const real = path.join(sb.dir, "real");
    mkdirSync(real);
    chmodSync(real, 0o755);
    const link = path.join(sb.dir, "link");
    symlinkSync(real, link);
    const checked = new Set<string>();
    prepareFolder(link, link, 0o700, checked);
    expect([...checked]).toEqual([link]);
    expect(modeOf(real)).toBe(0o755);
    prepareFolder(link, path.join(link, "cas"), 0o700);
    expect(modeOf(path.join(real, "cas"))).toBe(0o700);
    chmodSync(out, 0o777);
    expect(refusal(() => prepareFolder(out, path.join(out, "cas"), 0o755)).message).toMatch(/others can write to that folder \(mode 0777\)/);
    expect(existsSync(path.join(out, "cas"))).toBe(false);
  });

  it("refuses a symlink anywhere below the output folder, and writes nothing through it", () => {
    makeOut();
    const before = sb.outside();
    symlinkSync(sb.victimDir, path.join(out, "cas"));
    for (const dir of [path.join(out, "cas"), path.join(out, "cas", "root"), path.join(out, "cas", "root", "deeper")]) {
      const e = refusal(() => prepareFolder(out, dir, 0o700));
      expect(e.code).toBe("unsafe-path");
      expect(e.message).toBe(`refusing to write into ${path.join(out, "cas")}: it is a symlink`);
      expect(e.hint).toMatch(/^provision never follows a symlink inside the output folder/);
    }
    expect(sb.outside()).toBe(before);
  });

  it("refuses a file where a folder should be, with the hint to remove it", () => {
    makeOut();
    writeFileSync(path.join(out, "cas"), "x");
    const e = refusal(() => prepareFolder(out, path.join(out, "cas", "root"), 0o700));
    expect(e.message).toBe(`refusing to write into ${path.join(out, "cas")}: it is not a folder`);
    expect(e.hint).toBe("remove what stands there and run again");
    expect(refusal(() => checkBeforeDelete(out, path.join(out, "cas", "root", "key.pem"))).hint).toBe("remove what stands there and run again");
  });

  it("an output folder that is a file gets the hint about output:, whichever call meets it first", () => {
    writeFileSync(out, "x");
    for (const call of [() => prepareFolder(out, path.join(out, "cas"), 0o700), () => checkBeforeDelete(out, path.join(out, "cas"))]) {
      const e = refusal(call);
      expect(e.message).toBe(`refusing to write into ${out}: it is not a folder`);
      expect(e.hint).toBe("point output: in pki.yaml at a folder");
    }
  });

  it("refuses a folder below the output folder that others can write or another user owns", () => {
    makeOut();
    const cas = path.join(out, "cas");
    mkdirSync(cas);
    chmodSync(cas, 0o777);
    expect(refusal(() => prepareFolder(out, path.join(cas, "root"), 0o700)).message).toBe(`refusing to write into ${cas}: others can write to that folder (mode 0777)`);
    // The last level too, although it would be narrowed: it was open, so what is in it cannot be trusted.
    expect(refusal(() => prepareFolder(out, cas, 0o700)).message).toMatch(/others can write/);
    expect(existsSync(path.join(cas, "root"))).toBe(false);
    chmodSync(cas, 0o755);
    chownSync(cas, OTHER_UID, OTHER_UID);
    expect(refusal(() => prepareFolder(out, path.join(cas, "root"), 0o700)).message).toMatch(/it belongs to uid 65534/);
  });

  it("refuses a folder outside the output folder, whatever the mode", () => {
    makeOut();
    for (const dir of [sb.victimDir, path.join(out, "..", "victim"), path.join(out, "..")]) {
      const e = refusal(() => prepareFolder(out, dir, 0o700));
      expect(e.code).toBe("unsafe-path");
      expect(e.message).toBe(`refusing to touch ${dir}: it is outside the output folder ${out}`);
    }
    expect(existsSync(path.join(sb.dir, "victim"))).toBe(false);
  });

  it("a folder already checked in this run is not checked again (the set is the run's memory)", () => {
    makeOut();
    const checked = new Set<string>();
    prepareFolder(out, path.join(out, "cas", "root"), 0o700, checked);
    expect([...checked]).toEqual([out, path.join(out, "cas"), path.join(out, "cas", "root")]);
    chmodSync(path.join(out, "cas", "root"), 0o755);
    prepareFolder(out, path.join(out, "cas", "root"), 0o700, checked);
    expect(modeOf(path.join(out, "cas", "root"))).toBe(0o755);
    prepareFolder(out, path.join(out, "cas", "root"), 0o700);
    expect(modeOf(path.join(out, "cas", "root"))).toBe(0o700);
    chmodSync(out, 0o777);
    prepareFolder(out, path.join(out, "cas", "root"), 0o700, checked);
    expect(refusal(() => prepareFolder(out, path.join(out, "cas", "root"), 0o700)).message).toMatch(/others can write/);
  });
});

describe("prepareWholeFolder (a folder written as a whole, by folder-swap)", () => {
  it("a missing folder: the folders above it are made ready, the folder itself is left to the swap", () => {
    makeOut();
    const dir = path.join(out, "servers", "web");
    expect(prepareWholeFolder(out, dir, 0o700)).toBe(false);
    expect(modeOf(path.join(out, "servers"))).toBe(0o755);
    expect(existsSync(dir)).toBe(false);
  });

  it("an existing folder is checked and narrowed like prepareFolder's last level; a symlink there is refused", () => {
    makeOut();
    const dir = path.join(out, "servers", "web");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    expect(prepareWholeFolder(out, dir, 0o700)).toBe(true);
    expect(modeOf(dir)).toBe(0o700);
    const checked = new Set<string>([path.join(out, "clients", "bob")]);
    expect(prepareWholeFolder(out, path.join(out, "clients", "bob"), 0o700, checked)).toBe(true);
    rmSync(dir, { recursive: true });
    symlinkSync(sb.victimDir, dir);
    expect(refusal(() => prepareWholeFolder(out, dir, 0o700)).message).toBe(`refusing to write into ${dir}: it is a symlink`);
  });
});

describe("assertInside and checkBeforeDelete", () => {
  it("a file inside is fine; the output folder itself, or anything outside, is refused", () => {
    makeOut();
    expect(() => assertInside(out, path.join(out, "state.json"))).not.toThrow();
    expect(() => assertInside(out, path.join(out, "cas", "root", "key.pem"))).not.toThrow();
    // A path that names the output folder itself (unnormalised, so its parent is inside) is refused too.
    expect(refusal(() => assertInside(out, `${out}/.`)).code).toBe("unsafe-path");
    expect(refusal(() => assertInside(out, `${out}/.`)).message).toBe(`refusing to touch the output folder ${out} itself`);
    expect(refusal(() => assertInside(out, `${out}/cas/..`)).message).toBe(`refusing to touch the output folder ${out} itself`);
    expect(refusal(() => assertInside(out, out)).message).toMatch(/outside the output folder/);
    expect(refusal(() => assertInside(out, path.join(out, "..", "x.pem"))).message).toMatch(/outside the output folder/);
    expect(refusal(() => assertInside(out, "/etc/passwd")).message).toBe(`refusing to touch /etc: it is outside the output folder ${out}`);
  });

  it("checkBeforeDelete: true when every folder on the way is sound, false when one is missing", () => {
    expect(checkBeforeDelete(out, path.join(out, "cas"))).toBe(false);
    makeOut();
    expect(checkBeforeDelete(out, path.join(out, "cas"))).toBe(true);
    expect(checkBeforeDelete(out, path.join(out, "cas", "root"))).toBe(false);
    expect(checkBeforeDelete(out, path.join(out, "cas", "root", "key.pem"))).toBe(false);
    mkdirSync(path.join(out, "cas"));
    expect(checkBeforeDelete(out, path.join(out, "cas", "root", "key.pem"))).toBe(false);
    mkdirSync(path.join(out, "cas", "root"));
    expect(checkBeforeDelete(out, path.join(out, "cas", "root", "key.pem"))).toBe(true);
  });

  it("checkBeforeDelete goes through an output folder that is a symlink the user made", () => {
    const real = path.join(sb.dir, "real");
    mkdirSync(path.join(real, "cas"), { recursive: true });
    symlinkSync(real, out);
    expect(checkBeforeDelete(out, path.join(out, "cas", "root"))).toBe(true);
  });

  it("checkBeforeDelete refuses a symlink or an open folder on the way, and an open output folder", () => {
    makeOut();
    symlinkSync(sb.victimDir, path.join(out, "cas"));
    expect(refusal(() => checkBeforeDelete(out, path.join(out, "cas", "precious.txt"))).message).toMatch(/it is a symlink/);
    mkdirSync(path.join(out, "servers"));
    chmodSync(path.join(out, "servers"), 0o775);
    expect(refusal(() => checkBeforeDelete(out, path.join(out, "servers", "web"))).message).toMatch(/others can write/);
    chmodSync(out, 0o777);
    expect(refusal(() => checkBeforeDelete(out, path.join(out, "x"))).message).toMatch(/^refusing to write into .*\/pki: others can write/);
  });
});

describe("deleteInside", () => {
  it("deletes a file, then the folders it leaves empty, up to but not including the output folder", () => {
    makeOut();
    const key = path.join(out, "clients", "bob", "key.pem");
    mkdirSync(path.dirname(key), { recursive: true });
    writeFileSync(key, "k");
    expect(deleteInside(out, key)).toBe(true);
    expect(existsSync(path.join(out, "clients"))).toBe(false);
    expect(statSync(out).isDirectory()).toBe(true);
    expect(deleteInside(out, key)).toBe(false);
  });

  it("stops removing folders at the first one that still holds something", () => {
    makeOut();
    mkdirSync(path.join(out, "clients", "bob"), { recursive: true });
    mkdirSync(path.join(out, "clients", "alice"));
    writeFileSync(path.join(out, "clients", "bob", "key.pem"), "k");
    writeFileSync(path.join(out, "clients", "bob", "cert.pem"), "c");
    expect(deleteInside(out, path.join(out, "clients", "bob", "key.pem"))).toBe(true);
    expect(existsSync(path.join(out, "clients", "bob", "cert.pem"))).toBe(true);
    expect(deleteInside(out, path.join(out, "clients", "bob"))).toBe(true);
    expect(existsSync(path.join(out, "clients", "bob"))).toBe(false);
    expect(existsSync(path.join(out, "clients", "alice"))).toBe(true);
  });

  it("a missing target in existing folders: false, and the empty folders are still tidied", () => {
    makeOut();
    mkdirSync(path.join(out, "clients", "bob"), { recursive: true });
    expect(deleteInside(out, path.join(out, "clients", "bob", "key.pem"))).toBe(false);
    expect(existsSync(path.join(out, "clients"))).toBe(false);
  });

  it("removes a symlink as a link: what it points at survives", () => {
    makeOut();
    const before = sb.outside();
    symlinkSync(sb.victimDir, path.join(out, "cas"));
    expect(deleteInside(out, path.join(out, "cas"))).toBe(true);
    expect(existsSync(path.join(out, "cas"))).toBe(false);
    expect(sb.outside()).toBe(before);
  });

  it("never deletes through a symlink on the way, nor outside the output folder", () => {
    makeOut();
    const before = sb.outside();
    symlinkSync(sb.victimDir, path.join(out, "cas"));
    expect(refusal(() => deleteInside(out, path.join(out, "cas", "precious.txt"))).message).toMatch(/it is a symlink/);
    expect(refusal(() => deleteInside(out, path.join(out, "..", "victim.txt"))).message).toMatch(/outside the output folder/);
    expect(refusal(() => deleteInside(out, `${out}/.`)).message).toMatch(/the output folder .* itself/);
    expect(refusal(() => deleteInside(out, out)).message).toMatch(/outside the output folder/);
    expect(sb.outside()).toBe(before);
    expect(existsSync(out)).toBe(true);
  });

  it("a file the file system refuses to remove is a file-system error naming it (procfs)", () => {
    const e = refusal(() => deleteInside("/proc/self", "/proc/self/comm"));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot remove \/proc\/self\/comm: /);
  });

  it("with no output folder there is nothing to delete", () => {
    expect(deleteInside(out, path.join(out, "state.json"))).toBe(false);
  });
});

/** The process's open file descriptors, to show that a call closes what it opened, on success and on refusal. */
const openFds = () => readdirSync("/proc/self/fd").length;

describe("chmodPrivate", () => {
  it("sets a regular file's mode, and a missing file is no error", () => {
    makeOut();
    const key = path.join(out, "key.pem");
    writeFileSync(key, "k", { mode: 0o644 });
    chmodPrivate(key, 0o600);
    expect(modeOf(key)).toBe(0o600);
    expect(() => chmodPrivate(path.join(out, "gone.pem"), 0o600)).not.toThrow();
  });

  it("never follows a symlink: the file it points at keeps its mode", () => {
    makeOut();
    chmodSync(sb.victimFile, 0o644);
    const link = path.join(out, "key.pem");
    symlinkSync(sb.victimFile, link);
    const e = refusal(() => chmodPrivate(link, 0o600));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot chmod .*key\.pem: /);
    expect(modeOf(sb.victimFile)).toBe(0o644);
  });

  it("refuses a folder or a FIFO (without waiting for a writer)", () => {
    makeOut();
    const dir = path.join(out, "key.pem");
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const e = refusal(() => chmodPrivate(dir, 0o600));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to chmod ${dir}: not a regular file`);
    expect(modeOf(dir)).toBe(0o755);
    const fifo = path.join(out, "fifo");
    execFileSync("mkfifo", ["-m", "644", fifo]);
    expect(refusal(() => chmodPrivate(fifo, 0o600)).message).toMatch(/not a regular file/);
    expect(modeOf(fifo)).toBe(0o644);
  });

  it("closes the file it opened, also when it refuses it", () => {
    makeOut();
    const key = path.join(out, "key.pem");
    writeFileSync(key, "k");
    mkdirSync(path.join(out, "dir"));
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      chmodPrivate(key, 0o600);
      refusal(() => chmodPrivate(path.join(out, "dir"), 0o600));
    }
    expect(openFds()).toBe(before);
  });
});

describe("reading files back", () => {
  it("readOutputFile reads a regular file as UTF-8; missing, or below a file, is null", () => {
    makeOut();
    const file = path.join(out, "state.json");
    writeFileSync(file, "{\"é\":1}");
    expect(readOutputFile(file)).toBe("{\"é\":1}");
    expect(readOutputFile(path.join(out, "gone.json"))).toBeNull();
    expect(readOutputFile(path.join(file, "below"))).toBeNull();
    expect(readOutputBytes(path.join(out, "gone.der"))).toBeNull();
  });

  it("readOutputBytes returns the bytes as they are, including ones that are no UTF-8", () => {
    makeOut();
    const der = path.join(out, "crl.der");
    const bytes = Buffer.from([0x30, 0x82, 0xff, 0x00, 0xc3]);
    writeFileSync(der, bytes);
    expect(readOutputBytes(der)).toEqual(bytes);
    writeFileSync(der, Buffer.alloc(0));
    expect(readOutputBytes(der)).toEqual(Buffer.alloc(0));
  });

  it("reads a file larger than one read() returns, whole", () => {
    makeOut();
    const file = path.join(out, "big.pem");
    const text = "0123456789abcdef".repeat(300_000);
    writeFileSync(file, text);
    expect(readOutputFile(file)).toBe(text);
  });

  it("a file of exactly the limit is read; one byte more is refused with both sizes", () => {
    makeOut();
    const file = path.join(out, "state.json");
    writeFileSync(file, "x".repeat(100));
    expect(readOutputFile(file, 100)).toBe("x".repeat(100));
    expect(readOutputBytes(file, 100)).toHaveLength(100);
    expect(readUserFile(file, 100)).toHaveLength(100);
    for (const read of [() => readOutputFile(file, 99), () => readOutputBytes(file, 99), () => readUserFile(file, 99)]) {
      const e = refusal(read);
      expect(e.code).toBe("unreadable");
      expect(e.message).toBe(`refusing to read ${file}: 100 bytes is more than the 99 provision reads`);
    }
  });

  it("a file of the output tree is never read through a symlink", () => {
    makeOut();
    const link = path.join(out, "state.json");
    symlinkSync(sb.victimFile, link);
    for (const read of [() => readOutputFile(link), () => readOutputBytes(link)]) {
      const e = refusal(read);
      expect(e.code).toBe("unsafe-path");
      expect(e.message).toBe(`refusing to read ${link}: it is a symlink`);
      expect(e.hint).toBe("provision never follows symlinks inside the output folder; remove the link and run again");
    }
  });

  it("a folder or a FIFO where a file of the output tree should be is refused, without hanging", () => {
    makeOut();
    const dir = path.join(out, "state.json");
    mkdirSync(dir);
    const e = refusal(() => readOutputFile(dir));
    expect(e.code).toBe("unsafe-path");
    expect(e.message).toBe(`refusing to read ${dir}: not a regular file`);
    expect(e.hint).toBe("remove what stands there and run again");
    const fifo = path.join(out, "crl.der");
    execFileSync("mkfifo", [fifo]);
    expect(refusal(() => readOutputBytes(fifo)).message).toMatch(/not a regular file/);
  });

  it("closes the file it read, also when it refuses it", () => {
    makeOut();
    const file = path.join(out, "state.json");
    writeFileSync(file, "{}");
    mkdirSync(path.join(out, "dir"));
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      readOutputFile(file);
      refusal(() => readOutputFile(path.join(out, "dir")));
      refusal(() => readOutputFile(file, 1));
    }
    expect(openFds()).toBe(before);
  });

  it("another failure to open is a file-system error, not a symlink", () => {
    makeOut();
    const long = path.join(out, "x".repeat(300));
    for (const read of [() => readOutputFile(long), () => readUserFile(long)]) {
      const e = refusal(read);
      expect(e.code).toBe("fs-error");
      expect(e.message).toMatch(/^cannot read .*x{300}: /);
    }
    const loop = path.join(out, "loop");
    symlinkSync(loop, loop);
    const e = refusal(() => readUserFile(loop));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot read .*loop: /);
  });

  it("a file whose size says more than it holds (sysfs says 4096) is read to its end, with nothing added", () => {
    const file = "/sys/devices/system/cpu/online";
    expect(statSync(file).size).toBeGreaterThan(readFileSync(file).length);
    expect(readUserFile(file)).toBe(readFileSync(file, "utf8"));
  });

  it("readUserFile follows a symlink the user gave, and names the file as the user wrote it", () => {
    makeOut();
    const link = path.join(out, "request.csr");
    symlinkSync(sb.victimFile, link);
    expect(readUserFile(link)).toBe(readFileSync(sb.victimFile, "utf8"));
    const e = refusal(() => readUserFile(path.join(out, "missing.csr"), 100, "missing.csr"));
    expect(e.code).toBe("fs-error");
    expect(e.message).toMatch(/^cannot read missing\.csr: /);
  });

  it("readUserFile refuses a device or a folder as unreadable (naming a file is the fix), instead of reading forever", () => {
    const e = refusal(() => readUserFile("/dev/zero", 100, "zero"));
    expect(e.code).toBe("unreadable");
    expect(e.message).toBe("refusing to read zero: not a regular file");
    expect(e.hint).toBe("name a file");
    expect(refusal(() => readUserFile(sb.victimDir)).code).toBe("unreadable");
  });
});
