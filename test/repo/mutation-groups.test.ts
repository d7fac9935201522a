// `npm run mutate` runs the groups of scripts/mutation-groups.mjs. These checks keep that table honest as the
// code moves: a new module of src/config, src/plan, src/x509 or src/store must be given a group (or a stated
// reason not to be mutated), and a renamed test file must not silently leave a group with nothing to run.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
// @ts-expect-error a plain .mjs script without types
import { groups, mutatedFolders, unscored } from "../../scripts/mutation-groups.mjs";

type Group = { mutate: string[]; tests: string[] };
const fileOf = (entry: string): string => entry.replace(/:\d+-\d+$/, "");

describe("npm run mutate's groups", () => {
  it("give every module of the mutated folders a group or a reason", () => {
    const modules = (mutatedFolders as string[]).flatMap((folder) =>
      readdirSync(path.join(ROOT, folder)).filter((f) => f.endsWith(".ts")).map((f) => `${folder}/${f}`),
    );
    const grouped = new Set((groups as Group[]).flatMap((g) => g.mutate.map(fileOf)));
    expect(modules.filter((m) => !grouped.has(m) && !(unscored as Map<string, string>).has(m))).toEqual([]);
    expect([...(unscored as Map<string, string>).keys()].filter((m) => grouped.has(m) || !modules.includes(m))).toEqual([]);
  });

  it("name only files that exist, and no line range twice", () => {
    const named = (groups as Group[]).flatMap((g) => [...g.mutate.map(fileOf), ...g.tests]);
    expect(named.filter((f) => !existsSync(path.join(ROOT, f)))).toEqual([]);
    const entries = (groups as Group[]).flatMap((g) => g.mutate);
    expect(entries.filter((e, i) => entries.indexOf(e) !== i)).toEqual([]);
    // A whole file and a range of it in two groups would count its mutants twice in the summary.
    const whole = new Set(entries.filter((e) => e === fileOf(e)));
    expect(entries.filter((e) => e !== fileOf(e) && whole.has(fileOf(e)))).toEqual([]);
  });

  it("are listed by --list, chosen by path prefix, and an unknown option is refused", async () => {
    const all = await execa("node", ["scripts/mutate.mjs", "--list"], { cwd: ROOT });
    expect(all.stdout.split("\n")).toHaveLength((groups as Group[]).length);
    const crl = await execa("node", ["scripts/mutate.mjs", "--list", "src/x509/crl.ts"], { cwd: ROOT });
    expect(crl.stdout).toBe("MUTATE_TESTS=test/x509/crl.test.ts npx stryker run --mutate 'src/x509/crl.ts'");
    const bad = await execa("node", ["scripts/mutate.mjs", "--lsit"], { cwd: ROOT, reject: false });
    expect([bad.exitCode, bad.stderr]).toEqual([2, expect.stringContaining("unknown option --lsit")]);
    const none = await execa("node", ["scripts/mutate.mjs", "--list", "src/nowhere"], { cwd: ROOT, reject: false });
    expect(none.exitCode).toBe(2);
  });
});
