import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runHooks } from "../../src/apply/hooks.js";
import type { Config } from "../../src/config/types.js";
import { project, provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";

const T0 = "2027-03-01T00:00:00Z";

function hooksYaml(serverHook: string, clientHook = `"echo client $PROVISION_ACTION >> hooks.log"`): string {
  return `version: 1
cas:
  root: { validity: 10y }
  intermediate: { issuer: root, validity: 2y }
servers:
  web:
    issuer: intermediate
    altNames: [web.test]
    validity: 30d
    afterChange: ${serverHook}
clients:
  bob:
    issuer: intermediate
    altNames: [bob@example.test]
    afterChange: ${clientHook}
`;
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : []);

describe("afterChange hooks", () => {
  it("run once per identity whose files changed, after they are committed, with PROVISION_* set; a no-op run runs none", async () => {
    const hook = `'test -s "$PROVISION_DIR/cert.pem" && echo "$PROVISION_NAME $PROVISION_KIND $PROVISION_ACTION $(basename "$PROVISION_OUTPUT")" >> hooks.log && echo said-by-hook'`;
    const p = project(hooksYaml(hook));
    const log = path.join(p.dir, "hooks.log");
    const first = await provision(["--now", T0], { cwd: p.dir });
    expect(first.code, first.stderr).toBe(0);
    expect(lines(log)).toEqual(["web server create pki", "client create"]);
    expect(first.stderr).toContain("[web] said-by-hook");
    expect(first.stdout).not.toContain("[web] said-by-hook"); // stdout stays the plan's

    const again = await provision(["--now", T0], { cwd: p.dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(lines(log)).toHaveLength(2);

    // 25 days later only web (30d, renewed after two thirds) is due: only its hook runs, as a renewal.
    const later = await provision(["--now", "2027-03-26T00:00:00Z"], { cwd: p.dir });
    expect(later.code, later.stderr).toBe(0);
    expect(lines(log)).toEqual(["web server create pki", "client create", "web server renew pki"]);
  });

  it("a chain refreshed under a renewed intermediate counts as a change: the leaf's hook runs with action refresh", async () => {
    const hook = `'echo "$PROVISION_NAME $PROVISION_ACTION" >> hooks.log'`;
    const p = project(hooksYaml(hook, hook).replace("intermediate: { issuer: root, validity: 2y }", "intermediate: { issuer: root, validity: 2y, renewBefore: 400d }"));
    const log = path.join(p.dir, "hooks.log");
    expect((await provision(["--now", T0], { cwd: p.dir })).code).toBe(0);
    expect((await provision(["--now", "2028-01-20T00:00:00Z"], { cwd: p.dir })).code).toBe(0); // the leaves renew
    expect(lines(log)).toEqual(["web create", "bob create", "web renew", "bob renew"]);
    // Ten days on, only the intermediate is due (its 400-day window opened on 2028-01-26): it renews with the
    // same key, the leaves keep their certificates, and their chain files change.
    const run = await provision(["--now", "2028-01-30T00:00:00Z", "--json"], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout) as { actions: { name: string; action: string }[]; hooks: { name: string; action: string }[] };
    expect(plan.actions.map((a) => `${a.name} ${a.action}`)).toEqual(["root unchanged", "intermediate renew", "web unchanged", "bob unchanged"]);
    expect(plan.hooks.map((h) => `${h.name} ${h.action}`)).toEqual(["web refresh", "bob refresh"]);
    expect(lines(log).slice(4)).toEqual(["web refresh", "bob refresh"]);
  });

  it("a revocation runs the revoked identity's hook (revoke) and the CA's (crl: its CRL is re-signed); a CRL refresh alone runs the CA's", async () => {
    const hook = `'echo "$PROVISION_NAME $PROVISION_ACTION" >> hooks.log'`;
    const p = project(hooksYaml(hook, hook).replace("intermediate: { issuer: root, validity: 2y }", `intermediate: { issuer: root, validity: 2y, crlValidity: 7d, afterChange: ${hook} }`));
    const log = path.join(p.dir, "hooks.log");
    expect((await provision(["--now", T0], { cwd: p.dir })).code).toBe(0);
    expect(lines(log)).toEqual(["intermediate create", "web create", "bob create"]);
    // bob left: his folder goes, his serial enters the intermediate's CRL; web is untouched.
    p.write(readFileSync(path.join(p.dir, "pki.yaml"), "utf8").replace("altNames: [bob@example.test]", "altNames: [bob@example.test]\n    revoked: true"));
    const revoked = await provision(["--now", "2027-03-01T01:00:00Z"], { cwd: p.dir });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(lines(log).slice(3)).toEqual(["intermediate crl", "bob revoke"]);
    // Nothing changes for two days: no hook. Inside the refresh window (half of 7d) only the CRL is re-signed.
    expect((await provision(["--now", "2027-03-03T00:00:00Z"], { cwd: p.dir })).code).toBe(0);
    expect(lines(log)).toHaveLength(5);
    expect((await provision(["--now", "2027-03-05T00:00:00Z"], { cwd: p.dir })).code).toBe(0);
    expect(lines(log).slice(5)).toEqual(["intermediate crl"]);
  });

  it("a list runs as an argv without a shell: nothing in it is interpreted", async () => {
    const p = project(hooksYaml(`[node, -e, "require('fs').writeFileSync('argv.txt', process.argv[1])", "$(touch pwned) && ; | x"]`));
    const run = await provision(["--now", T0], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(path.join(p.dir, "argv.txt"), "utf8")).toBe("$(touch pwned) && ; | x");
    expect(existsSync(path.join(p.dir, "pwned"))).toBe(false);
  });

  it("a failing hook exits 1 after all hooks ran; files stay committed; the next run retries only the failed one", async () => {
    const p = project(hooksYaml(`'echo "web $PROVISION_ACTION" >> hooks.log; exit 3'`));
    const log = path.join(p.dir, "hooks.log");
    const first = await provision(["--now", T0], { cwd: p.dir });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/afterChange failed for web \(exit code 3\)/);
    expect(first.stderr).not.toMatch(/This is a bug|at .*\.ts:\d+/);
    expect(lines(log)).toEqual(["web create", "client create"]);
    expect(existsSync(path.join(p.out, "servers/web/cert.pem"))).toBe(true);
    expect(existsSync(path.join(p.out, "state.json"))).toBe(true);

    const plan = await provision(["plan", "--now", T0], { cwd: p.dir });
    expect(plan.code).toBe(2); // a pending hook is pending work
    expect(plan.stdout).toContain("hook web (retry)");

    const before = snapshotTree(p.out);
    const retried = await provision(["--now", T0], { cwd: p.dir });
    expect(retried.code).toBe(1);
    expect(lines(log)).toEqual(["web create", "client create", "web retry"]);

    p.write(hooksYaml(`'echo "web $PROVISION_ACTION fixed" >> hooks.log'`));
    const fixed = await provision(["--now", T0], { cwd: p.dir });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(lines(log).at(-1)).toBe("web retry fixed");
    const quiet = await provision(["--now", T0], { cwd: p.dir });
    expect(quiet.code).toBe(0);
    expect(lines(log)).toHaveLength(4);
    // Certificates were never re-issued by the retries.
    const after = snapshotTree(p.out);
    expect(after["servers/web/cert.pem"]).toEqual(before["servers/web/cert.pem"]);
  });

  it("plan and --dry-run show which hooks would run, and run none", async () => {
    const p = project(hooksYaml(`'touch ran-web'`, `'touch ran-client'`));
    const dry = await provision(["--dry-run", "--now", T0], { cwd: p.dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("hook web (create): touch ran-web");
    expect(dry.stdout).toContain("hook bob (create): touch ran-client");
    const plan = await provision(["plan", "--json", "--now", T0], { cwd: p.dir });
    expect(JSON.parse(plan.stdout).hooks.map((h: { name: string }) => h.name)).toEqual(["web", "bob"]);
    expect(existsSync(path.join(p.dir, "ran-web")) || existsSync(path.join(p.dir, "ran-client"))).toBe(false);
  });

  it("a hook that outlives its timeout is stopped and reported", async () => {
    const p = project("version: 1\n");
    const config = { file: "pki.yaml", baseDir: p.dir, outputDir: p.out, identities: [] } as unknown as Config;
    const started = Date.now();
    const [outcome] = await runHooks(config, [{ name: "web", kind: "server", action: "create", command: "sleep 30", timeoutSeconds: 1 }], { stderr: () => undefined, env: process.env });
    expect(outcome!.ok).toBe(false);
    expect(outcome!.problem).toBe("timed out after 1s");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a forged hooks-pending.json cannot run anything pki.yaml does not configure", async () => {
    const p = project(hooksYaml(`'echo web >> hooks.log'`, `'echo bob >> hooks.log'`));
    const log = path.join(p.dir, "hooks.log");
    expect((await provision(["--now", T0], { cwd: p.dir })).code).toBe(0);
    const pending = path.join(p.out, "hooks-pending.json");
    writeFileSync(pending, JSON.stringify({ version: 1, pending: [{ name: "../../x", action: "retry" }] }));
    const damaged = await provision(["--now", T0], { cwd: p.dir });
    expect(damaged.code).toBe(0);
    expect(damaged.stdout).toMatch(/hooks-pending.json is damaged/);
    expect(lines(log)).toHaveLength(2);
    // A well-formed entry for a CA without afterChange runs nothing; one for web runs web's own command.
    writeFileSync(pending, JSON.stringify({ version: 1, pending: [{ name: "root", action: "retry" }, { name: "web", action: "retry" }] }));
    const forged = await provision(["--now", T0], { cwd: p.dir });
    expect(forged.code, forged.stderr).toBe(0);
    expect(lines(log)).toEqual(["web", "bob", "web"]);
    expect(existsSync(pending)).toBe(false);
  });
});
