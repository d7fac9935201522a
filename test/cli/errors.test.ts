import { mkdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, fsError, ProvisionError, withFs } from "../../src/errors.js";
import { project, provision, ROOT } from "../helpers/cli.js";

describe("fsError / withFs", () => {
  it("names the operation, the file and the cause with its errno code", () => {
    const error = fsError("read", "pki/cas/root/key.pem", Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }));
    expect(error).toBeInstanceOf(ProvisionError);
    expect(error.code).toBe("fs-error");
    expect(error.message).toBe("cannot read pki/cas/root/key.pem: permission denied (EACCES)");
    expect(error.hint).toMatch(/permissions/);
  });

  it("keeps an unknown errno code as is, and passes a ProvisionError through", () => {
    expect(fsError("write", "x", Object.assign(new Error("?"), { code: "EWEIRD" })).message).toBe("cannot write x: EWEIRD");
    const original = new ProvisionError("locked", "held");
    expect(fsError("read", "x", original)).toBe(original);
  });

  it("wraps synchronous throws and rejected promises alike", async () => {
    const dir = project("version: 1\n").dir;
    expect(() => withFs("read", "the-folder", () => readFileSync(dir))).toThrow("cannot read the-folder: is a folder (EISDIR)");
    await expect(withFs("read", "gone.pem", () => readFile(path.join(dir, "gone.pem")))).rejects.toThrow("cannot read gone.pem: no such file (ENOENT)");
    expect(withFs("read", "pki.yaml", () => readFileSync(path.join(dir, "pki.yaml"), "utf8"))).toBe("version: 1\n");
  });
});

describe("file-system errors at the command line", () => {
  it("inspect of a folder is a located error, not a bug report", async () => {
    const p = project("version: 1\n");
    mkdirSync(path.join(p.dir, "certs"));
    const run = await provision(["inspect", "certs"], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: refusing to read certs: not a regular file");
    expect(run.stderr).not.toMatch(/bug|at .*\.ts:/);
    const json = JSON.parse((await provision(["inspect", "certs", "--json"], { cwd: p.dir })).stdout) as { error: { code: string } };
    expect(json.error.code).toBe("unreadable");
  });

  it("-f pointing at a folder keeps the config-unreadable code", async () => {
    const p = project("version: 1\n");
    const run = await provision(["plan", "-f", ".", "--json"], { cwd: p.dir });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(error).toMatchObject({ code: "config-unreadable", message: "cannot read .: is a folder (EISDIR)" });
  });
});

describe("error codes", () => {
  it("the README lists exactly the codes ProvisionError can carry", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Error codes"));
    const table = section.slice(0, section.indexOf("\n#"));
    const listed = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(listed.filter((c) => c !== "internal").sort()).toEqual([...ERROR_CODES].sort());
  });
});
