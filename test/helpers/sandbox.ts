import { createHash } from "node:crypto";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A sandbox for hostile-input tests: a fresh parent folder holding the project (pki.yaml + output folder,
 * copied from a template) and decoys beside it. `outside()` fingerprints everything in the parent except
 * the project, so a test can check that nothing outside the project was created, changed or deleted.
 */
export interface Sandbox {
  parent: string;
  dir: string;
  out: string;
  /** Decoys outside the project that a hostile state.json or symlink might aim at. */
  victimFile: string;
  victimDir: string;
  outside(): string;
  remove(): void;
}

/** `base`: where to make the parent folder (the fuzz test uses a tmpfs, where fsync costs nothing). */
export function makeSandbox(template?: string, base: string = tmpdir()): Sandbox {
  const parent = realpathSync(mkdtempSync(path.join(base, "provision-sandbox-")));
  const dir = path.join(parent, "project");
  if (template) cpSync(template, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  else mkdirSync(dir);
  const victimFile = path.join(parent, "victim.txt");
  const victimDir = path.join(parent, "victim-dir");
  writeFileSync(victimFile, "outside the output folder: must never change\n");
  mkdirSync(victimDir);
  writeFileSync(path.join(victimDir, "precious.txt"), "must survive --prune\n");
  mkdirSync(path.join(victimDir, "cas"));
  return {
    parent,
    dir,
    out: path.join(dir, "pki"),
    victimFile,
    victimDir,
    outside: () => fingerprintTree(parent, new Set([dir])),
    remove: () => rmSync(parent, { recursive: true, force: true }),
  };
}

/** One hash over every entry below `root` (names, types, modes, contents, link targets), skipping `skip`. */
export function fingerprintTree(root: string, skip: ReadonlySet<string> = new Set()): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (skip.has(full)) continue;
      const info = lstatSync(full);
      hash.update(`${path.relative(root, full)}\0${info.mode}\0${info.uid}\0`);
      if (info.isSymbolicLink()) hash.update(`link:${readlinkSync(full)}\0`);
      else if (info.isDirectory()) walk(full);
      else if (info.isFile()) hash.update(readFileSync(full)).update(`\0${info.mtimeMs}\0`);
    }
  };
  walk(root);
  return hash.digest("hex");
}
