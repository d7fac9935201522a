import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

describe("the repository", () => {
  it("tracks no private key and no provision output folder", async () => {
    const files = (await execa("git", ["ls-files"], { cwd: ROOT })).stdout.split("\n").filter(Boolean);
    expect(files.filter((f) => /(^|\/)pki\/|state\.json$|\.p12$/.test(f))).toEqual([]);
    const withKeys = files.filter((f) => !f.endsWith(".ts") && !f.endsWith(".md") && /-----BEGIN (ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.test(readFileSync(path.join(ROOT, f), "latin1")));
    expect(withKeys).toEqual([]);
  });
});
