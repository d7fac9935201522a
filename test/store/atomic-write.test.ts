import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ProvisionError } from "../../src/errors.js";
import { forEachLimited, MAX_OPEN_FILES, removeStaleTemps, wholeFolderOf, writeFilesAtomically } from "../../src/store/atomic-write.js";

/**
 * writeFilesAtomically against real folders: what it writes (content, mode), what it refuses before writing
 * anything (a symlink target, a private file in a folder others can write to), what a failure leaves (the old
 * files, no temp file), and the whole-folder writes (store/folder-swap.ts). The kill-at-every-point test is
 * test/apply/faults.e2e.test.ts.
 */
function folder(): { dir: string; outside: string } {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-atomic-")));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, "pki");
  const outside = path.join(root, "outside");
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  mkdirSync(outside);
  writeFileSync(path.join(outside, "precious.txt"), "keep");
  return { dir, outside };
}

async function refusal(run: Promise<unknown>): Promise<ProvisionError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProvisionError);
  return error as ProvisionError;
}

const mode = (file: string) => statSync(file).mode & 0o7777;

describe("writeFilesAtomically", () => {
  it("writes each file with its content and exactly its mode, replacing what was there, and leaves no temp file", async () => {
    const { dir } = folder();
    writeFileSync(path.join(dir, "cert.pem"), "old", { mode: 0o666 });
    await writeFilesAtomically([
      { path: path.join(dir, "cert.pem"), content: "new cert", mode: 0o644 },
      { path: path.join(dir, "key.pem"), content: Buffer.from([0, 1, 2, 255]), mode: 0o600 },
    ]);
    expect(readFileSync(path.join(dir, "cert.pem"), "utf8")).toBe("new cert");
    expect(readFileSync(path.join(dir, "key.pem"))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(mode(path.join(dir, "cert.pem"))).toBe(0o644);
    expect(mode(path.join(dir, "key.pem"))).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["cert.pem", "key.pem"]);
  });

  it("more files than it may hold open at once: every one written", async () => {
    const { dir } = folder();
    const count = MAX_OPEN_FILES * 2 + 3;
    expect(MAX_OPEN_FILES).toBe(16);
    await writeFilesAtomically(Array.from({ length: count }, (_, i) => ({ path: path.join(dir, `f${i}.pem`), content: `file ${i}`, mode: 0o644 })));
    expect(readdirSync(dir)).toHaveLength(count);
    for (let i = 0; i < count; i++) expect(readFileSync(path.join(dir, `f${i}.pem`), "utf8")).toBe(`file ${i}`);
  });

  it("refuses a target that is a symlink, before writing anything; what the link points to is untouched", async () => {
    const { dir, outside } = folder();
    symlinkSync(path.join(outside, "precious.txt"), path.join(dir, "cert.pem"));
    const error = await refusal(writeFilesAtomically([
      { path: path.join(dir, "other.pem"), content: "x", mode: 0o644 },
      { path: path.join(dir, "cert.pem"), content: "x", mode: 0o644 },
    ]));
    expect(error.code).toBe("unsafe-path");
    expect(error.message).toBe(`refusing to write ${path.join(dir, "cert.pem")}: it is a symlink`);
    expect(error.hint).toBe("provision never writes through symlinks; remove the link and run again");
    expect(readFileSync(path.join(outside, "precious.txt"), "utf8")).toBe("keep");
    expect(readdirSync(dir)).toEqual(["cert.pem"]);
    // A dangling link too.
    rmSync(path.join(dir, "cert.pem"));
    symlinkSync(path.join(outside, "new.txt"), path.join(dir, "cert.pem"));
    await refusal(writeFilesAtomically([{ path: path.join(dir, "cert.pem"), content: "x", mode: 0o644 }]));
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("refuses a private file (no bits for group or others) in a folder others can write to; a public one is written there", async () => {
    const { dir } = folder();
    const open = path.join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const error = await refusal(writeFilesAtomically([{ path: path.join(open, "key.pem"), content: "k", mode: 0o600 }]));
    expect(error.code).toBe("unsafe-path");
    expect(error.message).toBe(`refusing to write a private key into ${open}: others can write to that folder`);
    expect(error.hint).toBe(`run chmod o-w ${open}`);
    // Checked for every private file's folder, not only the first one's.
    const closed = path.join(dir, "closed");
    mkdirSync(closed);
    chmodSync(closed, 0o755);
    await refusal(writeFilesAtomically([
      { path: path.join(closed, "key.pem"), content: "k", mode: 0o600 },
      { path: path.join(open, "key.pem"), content: "k", mode: 0o600 },
    ]));
    expect(readdirSync(closed)).toEqual([]);
    // Group-writable only, a public file, a file readable by the group (0640: not private): not refused.
    chmodSync(open, 0o775);
    await writeFilesAtomically([{ path: path.join(open, "key.pem"), content: "k", mode: 0o600 }]);
    chmodSync(open, 0o777);
    await writeFilesAtomically([
      { path: path.join(open, "cert.pem"), content: "c", mode: 0o644 },
      { path: path.join(open, "shared.pem"), content: "s", mode: 0o640 },
    ]);
    expect(readdirSync(open).sort()).toEqual(["cert.pem", "key.pem", "shared.pem"]);
  });

  it("a write that fails leaves every file as it was and no temp file, and names the file", async () => {
    const { dir } = folder();
    writeFileSync(path.join(dir, "cert.pem"), "old");
    const error = await refusal(writeFilesAtomically([
      { path: path.join(dir, "cert.pem"), content: "new", mode: 0o644 },
      { path: path.join(dir, "missing", "key.pem"), content: "k", mode: 0o644 },
    ]));
    expect(error.code).toBe("fs-error");
    expect(error.message).toMatch(new RegExp(`^cannot write ${path.join(dir, "missing", "key.pem")}: `));
    expect(readFileSync(path.join(dir, "cert.pem"), "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["cert.pem"]);
  });

  it("a rename that fails (a folder stands at the target) leaves no temp file, and the files before it are new", async () => {
    const { dir } = folder();
    mkdirSync(path.join(dir, "b.pem", "x"), { recursive: true });
    const error = await refusal(writeFilesAtomically([
      { path: path.join(dir, "a.pem"), content: "a", mode: 0o644 },
      { path: path.join(dir, "b.pem"), content: "b", mode: 0o644 },
      { path: path.join(dir, "c.pem"), content: "c", mode: 0o644 },
    ]));
    expect(error.message).toMatch(new RegExp(`^cannot rename ${path.join(dir, "b.pem")}: `));
    expect(readdirSync(dir).sort()).toEqual(["a.pem", "b.pem"]);
    expect(readFileSync(path.join(dir, "a.pem"), "utf8")).toBe("a");
  });

  it("writes below a whole folder go into its new version, swapped in; the files not written are kept (same inode)", async () => {
    const { dir } = folder();
    const web = path.join(dir, "servers", "web");
    mkdirSync(web, { recursive: true });
    writeFileSync(path.join(web, "key.pem"), "old key", { mode: 0o600 });
    writeFileSync(path.join(web, "chain.pem"), "chain");
    const chainInode = statSync(path.join(web, "chain.pem")).ino;
    const webInode = statSync(web).ino;
    await writeFilesAtomically(
      [
        { path: path.join(web, "key.pem"), content: "new key", mode: 0o600 },
        { path: path.join(web, "sub", "deep.pem"), content: "deep", mode: 0o644 },
        { path: path.join(dir, "state.json"), content: "{}", mode: 0o644 },
      ],
      [{ dir: web, mode: 0o700 }],
    );
    expect(readFileSync(path.join(web, "key.pem"), "utf8")).toBe("new key");
    expect(readFileSync(path.join(web, "sub", "deep.pem"), "utf8")).toBe("deep");
    expect(statSync(path.join(web, "chain.pem")).ino).toBe(chainInode);
    expect(statSync(web).ino).not.toBe(webInode);
    expect(mode(web)).toBe(0o700);
    expect(readdirSync(path.join(dir, "servers"))).toEqual(["web"]);
    expect(readdirSync(dir).sort()).toEqual(["servers", "state.json"]);
  });

  it("a whole folder that does not exist yet is created by one rename; a failure leaves no new folder", async () => {
    const { dir } = folder();
    const api = path.join(dir, "api");
    await writeFilesAtomically([{ path: path.join(api, "key.pem"), content: "k", mode: 0o600 }], [{ dir: api, mode: 0o700 }]);
    expect(readdirSync(api)).toEqual(["key.pem"]);
    const db = path.join(dir, "db");
    await refusal(writeFilesAtomically(
      [
        { path: path.join(db, "key.pem"), content: "k", mode: 0o600 },
        { path: path.join(dir, "missing", "x.pem"), content: "x", mode: 0o644 },
      ],
      [{ dir: db, mode: 0o700 }],
    ));
    expect(readdirSync(dir)).toEqual(["api"]);
  });
});

describe("writeFilesAtomically's descriptors", () => {
  it("closes every file it opened, after a success and after a failure", async () => {
    const { dir } = folder();
    const open = () => readdirSync("/proc/self/fd").length;
    const before = open();
    await writeFilesAtomically(Array.from({ length: 20 }, (_, i) => ({ path: path.join(dir, `f${i}.pem`), content: "x", mode: 0o644 })));
    expect(open()).toBe(before);
    await refusal(writeFilesAtomically([
      { path: path.join(dir, "a.pem"), content: "a", mode: 0o644 },
      { path: path.join(dir, "missing", "b.pem"), content: "b", mode: 0o644 },
    ]));
    expect(open()).toBe(before);
  });
});

describe("wholeFolderOf", () => {
  it("finds the folder holding a file at any depth, and none for a file outside or beside it", () => {
    const web = { dir: "/o/servers/web", mode: 0o700 };
    const root = { dir: "/o/cas/root", mode: 0o700 };
    const of = wholeFolderOf([web, root]);
    expect(of("/o/servers/web/key.pem")).toBe(web);
    expect(of("/o/cas/root/retired/a.pem")).toBe(root);
    expect(of("/o/servers/webx/key.pem")).toBeUndefined();
    expect(of("/o/servers/web")).toBeUndefined();
    expect(of("/o/state.json")).toBeUndefined();
    expect(wholeFolderOf([])("/o/servers/web/key.pem")).toBeUndefined();
    expect(wholeFolderOf([{ dir: "/", mode: 0o755 }])("/x")).toBeUndefined();
  });
});

describe("forEachLimited", () => {
  it("runs every item once, never more than the limit at a time, and starts them in order", async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
    let calls = 0;
    await forEachLimited([], 3, async () => void calls++);
    await forEachLimited([1], 3, async () => void calls++);
    expect(calls).toBe(1);
  });
});

describe("removeStaleTemps", () => {
  it("removes exactly the temp files a killed run leaves (.<name>.<12 hex>.tmp), counts them, and skips missing folders", async () => {
    const { dir } = folder();
    const names = [".cert.pem.0123456789ab.tmp", ".key.pem.abcdefabcdef.tmp", "cert.pem", ".cert.pem.0123456789a.tmp", ".cert.pem.0123456789abc.tmp", ".cert.pem.0123456789AB.tmp", "x.cert.pem.0123456789ab.tmp", ".cert.pem.0123456789ab.tmpx", "..0123456789ab.tmp"];
    for (const name of names) writeFileSync(path.join(dir, name), "x");
    expect(await removeStaleTemps([dir, path.join(dir, "missing")])).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(names.slice(2).sort());
    expect(existsSync(path.join(dir, ".cert.pem.0123456789ab.tmp"))).toBe(false);
    expect(lstatSync(dir).isDirectory()).toBe(true);
  });
});
