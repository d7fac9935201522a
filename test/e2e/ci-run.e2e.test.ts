import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it, beforeAll } from "vitest";
import { execaLogged, execaReadingKeys } from "../helpers/spawn.js";
import { TEST_SECRETS } from "../helpers/secrets.js";
import { BIN, project, ROOT } from "../helpers/cli.js";
import { requireTool } from "../helpers/require-tool.js";

const CI = path.join(ROOT, "examples/ci");
const PASSPHRASE = { PKI_PASSPHRASE: TEST_SECRETS.ciNightly };

/** A sandbox: a bare repository playing "origin" with pki.yaml on main, and shims for npx/npm. */
async function sandbox() {
  const p = project("");
  const origin = path.join(p.dir, "origin.git");
  const seed = path.join(p.dir, "seed");
  const shims = path.join(p.dir, "shims");
  mkdirSync(shims);
  writeFileSync(path.join(shims, "npx"), `#!/bin/sh\n[ "$1" = provision ] || exit 127\nshift\nexec node ${JSON.stringify(BIN)} "$@"\n`);
  writeFileSync(path.join(shims, "npm"), "#!/bin/sh\nexit 0\n");
  chmodSync(path.join(shims, "npx"), 0o755);
  chmodSync(path.join(shims, "npm"), 0o755);
  const git = (cwd: string, ...args: string[]) => execaLogged("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd });
  await execaLogged("git", ["init", "-q", "--bare", "-b", "main", origin]);
  await execaLogged("git", ["clone", "-q", origin, seed]);
  writeFileSync(path.join(seed, "pki.yaml"), readFileSync(path.join(CI, "pki.yaml"), "utf8").replace(/^# yaml-language-server.*\n/, ""));
  writeFileSync(path.join(seed, ".gitignore"), "pki/\n");
  await git(seed, "add", "-A");
  await git(seed, "commit", "-qm", "pki.yaml");
  await git(seed, "push", "-q", "origin", "HEAD:main");
  const env = { ...process.env, ...PASSPHRASE, PATH: `${shims}:${process.env.PATH}`, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  let runs = 0;
  const freshCheckout = async () => {
    const dir = path.join(p.dir, `run-${++runs}`);
    await execaLogged("git", ["clone", "-q", origin, dir]);
    return dir;
  };
  const editSpec = async (edit: (yaml: string) => string) => {
    await git(seed, "pull", "-q", "origin", "main");
    writeFileSync(path.join(seed, "pki.yaml"), edit(readFileSync(path.join(seed, "pki.yaml"), "utf8")));
    await git(seed, "commit", "-qam", "edit");
    await git(seed, "push", "-q", "origin", "HEAD:main");
  };
  const show = async (file: string) => (await execaReadingKeys("git", ["show", `pki-state:${file}`], { cwd: origin, reject: false })).stdout;
  const stateCommits = async () => Number((await execaLogged("git", ["rev-list", "--count", "pki-state"], { cwd: origin, reject: false })).stdout || 0);
  return { dir: p.dir, origin, env, freshCheckout, editSpec, show, stateCommits };
}

/** Runs the `run` steps of the GitHub workflow the way Actions does (bash -eo pipefail), honouring `if:`. */
async function runGithubJob(checkout: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const workflow = parse(readFileSync(path.join(CI, "github-actions.yml"), "utf8"));
  const job = workflow.jobs.rotate;
  const outputFile = path.join(checkout, "..", `${path.basename(checkout)}.github-output`);
  writeFileSync(outputFile, "");
  const outputs: Record<string, string> = {};
  for (const step of job.steps as { run?: string; if?: string; id?: string }[]) {
    if (!step.run) continue;
    if (step.if) {
      const m = /^steps\.(\w+)\.outputs\.(\w+) == '(\w+)'$/.exec(step.if)!;
      if (outputs[`${m[1]}.${m[2]}`] !== m[3]) continue;
    }
    writeFileSync(outputFile, "");
    const result = await execaLogged("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], { cwd: checkout, env: { ...env, GITHUB_OUTPUT: outputFile }, reject: false });
    expect(result.exitCode, `${step.run}\n${result.stdout}\n${result.stderr}`).toBe(0);
    for (const line of readFileSync(outputFile, "utf8").split("\n").filter(Boolean)) {
      const [key, value] = line.split("=");
      if (step.id) outputs[`${step.id}.${key}`] = value!;
    }
  }
  return outputs;
}

describe("the CI examples, run for real against a local git remote", () => {
  beforeAll(() => { requireTool("git", "git"); requireTool("npm", "npm"); requireTool("openssl", "openssl"); });
  it("GitHub Actions: the first night creates pki-state, a quiet night changes nothing, a changed spec is renewed and pushed", async () => {
    const s = await sandbox();
    const first = await runGithubJob(await s.freshCheckout(), s.env);
    expect(first["plan.pending"]).toBe("true");
    expect(await s.stateCommits()).toBe(1);
    const rootKey = await s.show("cas/root/key.pem");
    expect(rootKey).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(await s.show("ca-bundle.pem")).toMatch(/BEGIN CERTIFICATE/);

    const quiet = await runGithubJob(await s.freshCheckout(), s.env);
    expect(quiet["plan.pending"]).toBe("false");
    expect(await s.stateCommits()).toBe(1);

    await s.editSpec((yaml) => yaml.replace("altNames: [api.internal.example.test]", "altNames: [api.internal.example.test, api2.internal.example.test]"));
    const changed = await runGithubJob(await s.freshCheckout(), s.env);
    expect(changed["plan.pending"]).toBe("true");
    expect(await s.stateCommits()).toBe(2);
    expect(await s.show("cas/root/key.pem")).toBe(rootKey);
    const cert = path.join(s.dir, "api.pem");
    writeFileSync(cert, await s.show("servers/api/cert.pem"));
    expect((await execaLogged("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"])).stdout).toMatch(/DNS:api2\.internal\.example\.test/);
  }, 120_000);

  it("GitLab CI: the job script creates pki-state on the first run and exits 0 with nothing to renew", async () => {
    const s = await sandbox();
    const pipeline = parse(readFileSync(path.join(CI, "gitlab-ci.yml"), "utf8"));
    const script = `set -eo pipefail\n${(pipeline["rotate-certificates"].script as string[]).join("\n")}\n`;
    const env = { ...s.env, PKI_PUSH_URL: s.origin };
    const first = await execaLogged("bash", ["-c", script], { cwd: await s.freshCheckout(), env, reject: false });
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(await s.stateCommits()).toBe(1);
    const second = await execaLogged("bash", ["-c", script], { cwd: await s.freshCheckout(), env, reject: false });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/nothing to renew/);
    expect(await s.stateCommits()).toBe(1);
  }, 120_000);

  it("GitLab CI on a reused build directory (GIT_STRATEGY fetch): the script runs again in the same folder", async () => {
    const s = await sandbox();
    const pipeline = parse(readFileSync(path.join(CI, "gitlab-ci.yml"), "utf8"));
    const script = `set -eo pipefail\n${(pipeline["rotate-certificates"].script as string[]).join("\n")}\n`;
    const env = { ...s.env, PKI_PUSH_URL: s.origin };
    const build = await s.freshCheckout();
    // What the runner does before each job in a kept build folder: fetch, check out, git clean -ffdx (which
    // deletes the pki/ worktree folder but leaves it registered in .git/worktrees).
    const runnerPrepares = async () => {
      await execaLogged("git", ["fetch", "-q", "origin", "main"], { cwd: build });
      await execaLogged("git", ["checkout", "-q", "-f", "FETCH_HEAD"], { cwd: build });
      await execaLogged("git", ["clean", "-q", "-ffdx"], { cwd: build });
    };
    const first = await execaLogged("bash", ["-c", script], { cwd: build, env, reject: false });
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    await s.editSpec((yaml) => yaml.replace("altNames: [api.internal.example.test]", "altNames: [api.internal.example.test, api3.internal.example.test]"));
    await runnerPrepares();
    const second = await execaLogged("bash", ["-c", script], { cwd: build, env, reject: false });
    expect(second.exitCode, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(await s.stateCommits()).toBe(2);
    // And when the runner does not clean (GIT_CLEAN_FLAGS: none), the old pki/ folder is still there.
    await s.editSpec((yaml) => yaml.replace("api3.internal.example.test]", "api3.internal.example.test, api4.internal.example.test]"));
    await execaLogged("git", ["fetch", "-q", "origin", "main"], { cwd: build });
    await execaLogged("git", ["checkout", "-q", "-f", "FETCH_HEAD"], { cwd: build });
    const third = await execaLogged("bash", ["-c", script], { cwd: build, env, reject: false });
    expect(third.exitCode, `${third.stdout}\n${third.stderr}`).toBe(0);
    expect(await s.stateCommits()).toBe(3);
    expect(await s.show("servers/api/cert.pem")).toMatch(/BEGIN CERTIFICATE/);
  }, 180_000);
});
