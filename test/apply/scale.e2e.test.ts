import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, beforeAll } from "vitest";
import { BIN, project } from "../helpers/cli.js";
import { execaLogged } from "../helpers/spawn.js";
import { verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

/** n P-256 servers under an intermediate, sharing their settings through a merge key. */
function serversYaml(n: number, validity = "30d"): string {
  let yaml = `version: 1\nx-leaf: &leaf { issuer: int, validity: ${validity} }\ncas:\n  root: {}\n  int: { issuer: root, pathLength: 0 }\nservers:\n`;
  for (let i = 0; i < n; i++) yaml += `  s${i}: { <<: *leaf, altNames: [s${i}.test] }\n`;
  return yaml;
}

/** The built CLI under an open-file limit, as on a Mac (256 by default). */
async function provisionLimited(limit: number, args: string[], cwd: string) {
  const result = await execaLogged("bash", ["-c", `ulimit -n ${limit} && exec node "$@"`, "bash", BIN, ...args], { cwd, reject: false });
  return { code: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe("many identities on a small open-file limit", () => {
  beforeAll(() => { requireTool("bash", "bash"); });
  it("300 servers are created and all re-issued under ulimit -n 256 (a Mac's default)", async () => {
    const p = project(serversYaml(300));
    const created = await provisionLimited(256, [], p.dir);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/done: 302 create; 1211 file\(s\) written/);
    expect(readdirSync(path.join(p.out, "servers"))).toHaveLength(300);
    expect((await verifyLeaf(p.out, "servers", "s299", ["-verify_hostname", "s299.test"])).ok).toBe(true);
    const before = readFileSync(path.join(p.out, "servers/s150/cert.pem"), "utf8");

    // 900 files rewritten with 256 descriptors. (Not less: loading zod alone can take over 100 on a slow run,
    // as the ESM loader opens its ~50 locale files at once.)
    p.write(serversYaml(300, "20d"));
    const reissued = await provisionLimited(256, [], p.dir);
    expect(reissued.code, reissued.stderr).toBe(0);
    expect(reissued.stdout).toMatch(/done: 2 unchanged, 300 reissue; 901 file\(s\) written/);
    expect(readFileSync(path.join(p.out, "servers/s150/cert.pem"), "utf8")).not.toBe(before);
    expect((await verifyLeaf(p.out, "servers", "s150", ["-verify_hostname", "s150.test"])).ok).toBe(true);
  });
});
