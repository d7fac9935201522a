import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statfsSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { execaLogged, spawnLogged } from "../helpers/spawn.js";
import { verifyLeaf } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";

/**
 * A 10,000-identity first run, SIGKILLed three times, keeps what it committed (issue 13). It runs on a tmpfs
 * when there is one: a SIGKILL loses nothing the kernel already has, so fsync's cost buys this test nothing
 * (that a power loss leaves old or new is the fsync-then-rename order, which faults.e2e.test.ts checks
 * file by file). The kills are keyed to the run's own commits (the N-th rename of state.json, watched with
 * inotify on the output folder alone, not a timer nor a scan of 10,000 folders), so they land at the
 * same points on a fast or a loaded machine: just after a commit, while the next batch is being made.
 * Kills inside a batch's renames are the crash test's (faults.e2e.test.ts) at a small size.
 * Cost: one 10,000-identity create spread over four runs, three restarts that re-read what was committed, one
 * openssl verify of 9,998 certificates: about 60 s of CPU (3 minutes on two cores shared with a load of 10;
 * the earlier version, which polled a 10,000-entry folder and checked every new key, took 400 s).
 */
const TMPFS_MAGIC = 0x01021994;
const BASE = existsSync("/dev/shm") && statfsSync("/dev/shm").type === TMPFS_MAGIC ? "/dev/shm" : tmpdir();
const SERVERS = 9998; // + root + intermediate = 10,000 identities, 20 batches of 500
const BATCH = 500;

function serversYaml(n: number): string {
  let yaml = `version: 1\nx-leaf: &leaf { issuer: int, validity: 30d }\ncas:\n  root: {}\n  int: { issuer: root, pathLength: 0 }\nservers:\n`;
  for (let i = 0; i < n; i++) yaml += `  s${i}: { <<: *leaf, altNames: [s${i}.test] }\n`;
  return yaml;
}

/** The certificate hash state.json records for each identity (empty before the first commit). */
function recorded(out: string): Map<string, string> {
  const file = path.join(out, "state.json");
  if (!existsSync(file)) return new Map();
  const state = JSON.parse(readFileSync(file, "utf8")) as { identities: Record<string, { certSha256: string }> };
  return new Map(Object.entries(state.identities).map(([name, record]) => [name, record.certSha256]));
}

const limited = ["-c", 'ulimit -n 256 && exec node "$0" "$@"', BIN];

/** Runs provision under ulimit -n 256 and SIGKILLs it once it has committed `commits` batches (state.json renamed in). */
async function killAfterCommits(cwd: string, out: string, commits: number): Promise<{ killed: boolean; seen: number }> {
  const run = spawnLogged("bash", limited, { cwd });
  let seen = 0;
  const watcher = watch(out, (_event, filename) => {
    if (filename === "state.json" && ++seen === commits) run.child.kill("SIGKILL");
  });
  const { signal } = await run.exited;
  watcher.close();
  return { killed: signal === "SIGKILL", seen };
}

describe("an interrupted large first run keeps what it finished", () => {
  beforeAll(() => {
    requireTool("bash", "bash");
    requireTool("openssl", "openssl");
  });

  it("10,000 P-256 identities under ulimit -n 256, killed after commits 2, 9 and 16: each retry continues, nothing committed is redone", async () => {
    const dir = realpathSync(mkdtempSync(path.join(BASE, "provision-scale-")));
    const out = path.join(dir, "pki");
    writeFileSync(path.join(dir, "pki.yaml"), serversYaml(SERVERS));
    mkdirSync(out, { mode: 0o755 }); // so the watcher can start before the first run does
    try {
      const kept: Map<string, string>[] = [];
      let committed = 0;
      for (const commits of [2, 7, 7]) {
        const run = await killAfterCommits(dir, out, commits);
        expect(run.killed, `the run ended by itself after ${run.seen} commits`).toBe(true);
        committed += commits;
        const now = recorded(out);
        // Whole batches: at least every one seen committed (the kill may land after one more).
        expect(now.size).toBeGreaterThanOrEqual(committed * BATCH);
        expect(now.size % BATCH).toBe(0);
        committed = now.size / BATCH;
        for (const earlier of kept) for (const [name, sha] of earlier) expect(now.get(name), name).toBe(sha);
        kept.push(now);
      }

      const last = kept[kept.length - 1]!;
      const finish = await execaLogged("bash", [...limited, "--json"], { cwd: dir, reject: false });
      expect(finish.exitCode, String(finish.stderr)).toBe(0);
      const plan = JSON.parse(String(finish.stdout)) as { actions: { name: string; action: string }[] };
      const created = plan.actions.filter((a) => a.action === "create").map((a) => a.name);
      // Only what no commit recorded is created now; files renamed in just before a kill may be adopted as they are.
      expect(created.length).toBeGreaterThan(0);
      expect(created.length).toBeLessThanOrEqual(SERVERS + 2 - last.size);
      expect(created.filter((name) => last.has(name))).toEqual([]);
      const final = recorded(out);
      expect(final.size).toBe(SERVERS + 2);
      for (const [name, sha] of last) expect(final.get(name), name).toBe(sha);

      // Every server certificate chains to the root (one openssl process); a sample of keys, from the killed
      // runs' batches and the last run's, match their certificates (every key is 2 ms of CPU here).
      const certs = Array.from({ length: SERVERS }, (_, i) => path.join(out, `servers/s${i}/cert.pem`));
      const verify = await execaLogged("openssl", ["verify", "-x509_strict", "-CAfile", path.join(out, "ca-bundle.pem"), "-untrusted", path.join(out, "cas/int/cert.pem"), ...certs]);
      expect(String(verify.stdout).split("\n").filter((l) => l.endsWith(": OK"))).toHaveLength(SERVERS);
      const sample = [...final.keys()].filter((_name, i) => i % 97 === 0);
      for (const name of sample) {
        const folder = path.join(out, name === "root" || name === "int" ? "cas" : "servers", name);
        const cert = new X509Certificate(readFileSync(path.join(folder, "cert.pem")));
        expect(cert.checkPrivateKey(createPrivateKey(readFileSync(path.join(folder, "key.pem")))), name).toBe(true);
      }
      for (const name of ["s0", `s${SERVERS - 1}`]) expect((await verifyLeaf(out, "servers", name, ["-verify_hostname", `${name}.test`])).ok).toBe(true);
      const again = await execaLogged("bash", limited, { cwd: dir, reject: false });
      expect(String(again.stdout)).toMatch(/nothing to do/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
