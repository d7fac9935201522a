import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A folder of fixtures a test file builds in beforeAll (real runs of the built binary, openssl), and how to
 * drop it in afterAll.
 *
 * Stryker's vitest runner runs a test file again, beforeAll included, for every mutant: rebuilding the same
 * trees hundreds of times was most of a scoped run's time. When PROVISION_TEST_FIXTURES names a folder
 * (vitest.mutate.config.ts sets one for the runner's process, removed when it exits), a fixture is built once
 * per `key` (with the source of `build`) there and reused; each test still works on its own copy, or only reads it. Without the variable
 * (npm test) every file builds its own, as before. What beforeAll builds is out of a mutant's reach either way.
 */
export async function fixtureFolder(prefix: string, key: string, build: (dir: string) => Promise<void>): Promise<{ dir: string; drop: () => void }> {
  const shared = process.env.PROVISION_TEST_FIXTURES;
  if (!shared) {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
    await build(dir);
    return { dir, drop: () => rmSync(dir, { recursive: true, force: true }) };
  }
  mkdirSync(shared, { recursive: true, mode: 0o700 });
  const dir = path.join(realpathSync(shared), `${prefix}${createHash("sha256").update(`${key}\n${build.toString()}`).digest("hex").slice(0, 16)}`);
  if (!existsSync(dir)) {
    // Built aside and renamed in whole: a run stopped half-way leaves no half-built fixture to reuse.
    const building = realpathSync(mkdtempSync(`${dir}.building-`));
    await build(building);
    renameSync(building, dir);
  }
  return { dir, drop: () => {} };
}
