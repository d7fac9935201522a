import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyPki, loadPki, ProvisionError } from "../../src/api.js";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A root and one server whose afterChange appends its name and action to a log, or fails while `fail` exists. */
function project(): { log: string; fail: string } {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-apply-pki-")));
  const log = path.join(dir, "hooks.log");
  const fail = path.join(dir, "fail");
  writeFileSync(
    path.join(dir, "pki.yaml"),
    `version: 1\ncas:\n  root: {}\nservers:\n  web:\n    issuer: root\n    altNames: [web.test]\n    afterChange: 'test ! -e ${fail} && echo "$PROVISION_NAME $PROVISION_ACTION" >> ${log}'\n`,
  );
  return { log, fail };
}

describe("applyPki runs afterChange hooks as provision does (one shared apply)", () => {
  it("runs the hook of what changed, and none on a no-op run", async () => {
    const { log } = project();
    const { config } = await loadPki("pki.yaml", { cwd: dir });
    const output: string[] = [];
    const first = await applyPki(config, { hookOutput: (t) => output.push(t) });
    expect(first.hookResults).toEqual([{ name: "web", action: "create", ok: true, problem: null }]);
    expect(readFileSync(log, "utf8")).toBe("web create\n");
    const again = await applyPki(config);
    expect(again.written).toEqual([]);
    expect(again.hookResults).toEqual([]);
    expect(readFileSync(log, "utf8")).toBe("web create\n");
  });

  it("failing twin: a failing hook rejects with hook-failed after the files are committed; the next call retries it", async () => {
    const { log, fail } = project();
    writeFileSync(fail, "");
    const { config } = await loadPki("pki.yaml", { cwd: dir });
    const error = await applyPki(config, { hookOutput: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).code).toBe("hook-failed");
    expect(existsSync(path.join(dir, "pki/servers/web/cert.pem"))).toBe(true);
    expect(existsSync(log)).toBe(false);
    rmSync(fail);
    const retry = await applyPki(config);
    expect(retry.written).toEqual([]);
    expect(retry.hookResults).toEqual([{ name: "web", action: "retry", ok: true, problem: null }]);
    expect(readFileSync(log, "utf8")).toBe("web retry\n");
  });
});
