import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../src/cli/args.js";
import { project, provision, ROOT } from "../helpers/cli.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { verifyLeaf } from "../helpers/openssl.js";

const CI = path.join(ROOT, "examples/ci");

/** Every `npx provision …` invocation in a text, as argv. */
function provisionCommands(text: string): string[][] {
  return [...text.matchAll(/npx provision([^;\n>|]*)/g)].map((m) => m[1]!.trim().split(/\s+/).filter(Boolean));
}

describe("CI examples", () => {
  it("the README's passphrase rotation: its env: lines pass both secrets the way the workflow passes the first", () => {
    const readme = readFileSync(path.join(CI, "README.md"), "utf8");
    const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("Changing the passphrase")))![1]!;
    const env = parse(block).env as Record<string, string>;
    expect(Object.keys(env)).toEqual(["PKI_PASSPHRASE", "PKI_PASSPHRASE_2027"]);
    const workflow = parse(readFileSync(path.join(CI, "github-actions.yml"), "utf8"));
    expect(env.PKI_PASSPHRASE).toBe(workflow.jobs.rotate.env.PKI_PASSPHRASE);
    expect(env.PKI_PASSPHRASE_2027).toBe("${{ secrets.PKI_PASSPHRASE_2027 }}");
    // The docs say who can read the state branch, not that it is private.
    for (const file of ["README.md", "github-actions.yml", "gitlab-ci.yml", "pki.yaml"]) {
      expect(readFileSync(path.join(CI, file), "utf8"), file).not.toMatch(/private branch/);
    }
    expect(readme).toMatch(/everyone with read access to the repository/);
  });

  it("the GitHub Actions workflow is a valid workflow that plans, renews on exit 2 and fails on 1", () => {
    const text = readFileSync(path.join(CI, "github-actions.yml"), "utf8");
    const workflow = parse(text, { uniqueKeys: true });
    expect(workflow.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    const steps = workflow.jobs.rotate.steps as { run?: string; uses?: string; if?: string; id?: string }[];
    expect(workflow.jobs.rotate["runs-on"]).toBe("ubuntu-latest");
    for (const step of steps) expect(Boolean(step.run) !== Boolean(step.uses), JSON.stringify(step)).toBe(true);
    const plan = steps.find((s) => s.id === "plan")!;
    expect(plan.run).toMatch(/npx provision plan/);
    expect(plan.run).toMatch(/if \[ "\$code" -eq 1 \]; then exit 1; fi/);
    expect(steps.find((s) => s.run === "npx provision")?.if).toBe("steps.plan.outputs.pending == 'true'");
    expect(workflow.jobs.rotate.env.PKI_PASSPHRASE).toBe("${{ secrets.PKI_PASSPHRASE }}");
    for (const argv of provisionCommands(text)) expect(() => parseCliArgs(argv)).not.toThrow();
  });

  it("the GitLab job is valid GitLab CI YAML that plans, renews on exit 2 and fails on 1", () => {
    const text = readFileSync(path.join(CI, "gitlab-ci.yml"), "utf8");
    const pipeline = parse(text, { uniqueKeys: true });
    const job = pipeline["rotate-certificates"];
    expect(pipeline.stages).toContain(job.stage);
    expect(job.rules[0].if).toBe('$CI_PIPELINE_SOURCE == "schedule"');
    expect(job.script.every((line: unknown) => typeof line === "string")).toBe(true);
    const script = job.script.join("\n");
    expect(script).toMatch(/npx provision plan; code=\$\?/);
    expect(script).toMatch(/if \[ "\$code" -eq 1 \]; then exit 1; fi/);
    expect(job.artifacts.paths).toContain("pki/ca-bundle.pem");
    for (const argv of provisionCommands(text)) expect(() => parseCliArgs(argv)).not.toThrow();
  });

  it("their pki.yaml provisions with every key encrypted under PKI_PASSPHRASE", async () => {
    const p = project(readFileSync(path.join(CI, "pki.yaml"), "utf8"));
    const env = { PKI_PASSPHRASE: TEST_SECRETS.ci };
    expect((await provision(["plan"], { cwd: p.dir, env })).code).toBe(2);
    const run = await provision([], { cwd: p.dir, env });
    expect(run.code, run.stderr).toBe(0);
    for (const key of ["cas/root", "cas/issuing", "servers/api", "clients/billing"]) {
      expect(readFileSync(path.join(p.out, key, "key.pem"), "utf8")).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    }
    expect((await verifyLeaf(p.out, "servers", "api", ["-verify_hostname", "api.internal.example.test"])).ok).toBe(true);
    expect((await provision(["plan"], { cwd: p.dir, env: {} })).code).toBe(0);
  });
});
