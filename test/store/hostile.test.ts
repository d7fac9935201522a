import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provision, squirrelsYaml, type CliResult } from "../helpers/cli.js";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.js";

/**
 * Hostile input, as issue 11 lists it: state.json and every file in the output tree are written by whoever
 * can push to the branch holding them; pki.yaml, CLI arguments and the environment by the user. Each case
 * runs in a fresh copy of one generated PKI, in a parent folder with decoys, and checks the exit code, the
 * message, that no stack trace or "This is a bug" appears, and that nothing outside the project changed.
 */

let template: Sandbox;
const YAML = squirrelsYaml();

beforeAll(async () => {
  template = makeSandbox();
  writeFileSync(path.join(template.dir, "pki.yaml"), YAML);
  const first = await provision([], { cwd: template.dir });
  if (first.code !== 0) throw new Error(first.stderr);
}, 60_000);
afterAll(() => template?.remove());

type State = { version: unknown; identities: { [name: string]: Record<string, unknown> }; retired?: unknown };
const readState = (sb: Sandbox) => JSON.parse(readFileSync(path.join(sb.out, "state.json"), "utf8")) as State;
const writeState = (sb: Sandbox, state: unknown) => writeFileSync(path.join(sb.out, "state.json"), typeof state === "string" ? state : JSON.stringify(state));
const editState = (sb: Sandbox, edit: (s: State) => void) => {
  const state = readState(sb);
  edit(state);
  writeState(sb, state);
};
const rootFingerprint = (sb: Sandbox) => (readState(sb).identities.root!.facts as { fingerprint: string }).fingerprint;
const bundle = (sb: Sandbox) => readFileSync(path.join(sb.out, "ca-bundle.pem"), "utf8");
const modeOf = (file: string) => statSync(file).mode & 0o777;
const NOBODY = 65534;

interface Case {
  name: string;
  setup?: (sb: Sandbox) => void;
  args?: string[] | ((sb: Sandbox) => string[]);
  env?: NodeJS.ProcessEnv;
  code: 0 | 1 | 2;
  /** Must appear in stdout + stderr. */
  message: RegExp;
  /** More checks on the sandbox after the run. */
  check?: (sb: Sandbox, run: CliResult) => void | Promise<void>;
}

const retiredEntry = (fingerprint: string, extra: Record<string, unknown> = {}) => ({ fingerprint, notAfter: "2099-01-01T00:00:00.000Z", until: "2099-01-01T00:00:00.000Z", ...extra });
const noPrivateMaterial = (sb: Sandbox) => {
  expect(bundle(sb)).not.toMatch(/PRIVATE KEY|PATH=|HOME=/);
  expect(bundle(sb).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
};

const CASES: Case[] = [
  // state.json: paths are never taken from it
  {
    name: "retired entry whose file is /proc/self/environ",
    setup: (sb) => editState(sb, (s) => void (s.retired = { root: [retiredEntry("ab".repeat(32), { file: "../../../../../proc/self/environ" })] })),
    code: 0,
    message: /retired certificate abababababababab of root leaves ca-bundle\.pem: its file is missing or is not that certificate/,
    check: noPrivateMaterial,
  },
  {
    name: "retired entry whose file is the root's key",
    setup: (sb) => editState(sb, (s) => void (s.retired = { root: [retiredEntry(rootFingerprint(sb), { file: "cas/root/key.pem" })] })),
    code: 0,
    message: /leaves ca-bundle\.pem: its file is missing or is not that certificate/,
    check: noPrivateMaterial,
  },
  {
    name: "a key planted at a retired certificate's derived path",
    setup: (sb) => {
      editState(sb, (s) => void (s.retired = { root: [retiredEntry("cd".repeat(32))] }));
      mkdirSync(path.join(sb.out, "cas/root/retired"));
      writeFileSync(path.join(sb.out, "cas/root/retired/cdcdcdcdcdcdcdcd.pem"), readFileSync(path.join(sb.out, "cas/root/key.pem")));
    },
    code: 0,
    message: /retired\/cdcdcdcdcdcdcdcd\.pem is not the certificate state\.json lists/,
    check: (sb) => {
      noPrivateMaterial(sb);
      expect(existsSync(path.join(sb.out, "cas/root/retired"))).toBe(false);
    },
  },
  {
    name: "a retired certificate's derived path is a symlink to /proc/self/environ",
    setup: (sb) => {
      editState(sb, (s) => void (s.retired = { root: [retiredEntry("ef".repeat(32))] }));
      mkdirSync(path.join(sb.out, "cas/root/retired"));
      symlinkSync("/proc/self/environ", path.join(sb.out, "cas/root/retired/efefefefefefefef.pem"));
    },
    code: 0,
    message: /refusing to read .*efefefefefefefef\.pem: it is a symlink; the retired certificate is dropped/,
    check: noPrivateMaterial,
  },
  {
    name: "retired: {root: null}",
    setup: (sb) => editState(sb, (s) => void (s.retired = { root: null })),
    code: 0,
    message: /state\.json has 1 entry that does not fit|state\.json has 1 entr.*retired\.root/,
  },
  {
    name: "retired under a name with ../",
    setup: (sb) => editState(sb, (s) => void (s.retired = { "../../victim-dir": [retiredEntry("ab".repeat(32))] })),
    code: 0,
    message: /retired\["\.\.\/\.\.\/victim-dir"\]: not a valid identity name/,
  },
  {
    name: "stamps: null",
    setup: (sb) => editState(sb, (s) => void (s.identities.alice!.stamps = null)),
    code: 0,
    message: /identities\.alice: stamps: .*ignored, rebuilt from the files/,
    check: (_sb, run) => expect(run.stdout).not.toMatch(/reissue|create|renew/),
  },
  {
    name: "an orphan record without fields",
    setup: (sb) => editState(sb, (s) => void (s.identities.ghost = {})),
    code: 0,
    message: /identities\.ghost: kind: /,
    check: (_sb, run) => expect(run.stdout).not.toMatch(/orphaned/),
  },
  {
    name: "an orphan named ../../victim-dir, with --prune",
    setup: (sb) => editState(sb, (s) => void (s.identities["../../victim-dir"] = { ...s.identities.alice })),
    args: ["--prune"],
    code: 0,
    message: /identities\["\.\.\/\.\.\/victim-dir"\]: not a valid identity name/,
  },
  {
    name: "an orphan with an absolute name, with --prune",
    setup: (sb) => editState(sb, (s) => void (s.identities[sb.victimDir] = { ...s.identities.alice })),
    args: ["--prune"],
    code: 0,
    message: /not a valid identity name/,
  },
  {
    name: "an orphan named ..",
    setup: (sb) => editState(sb, (s) => void (s.identities[".."] = { ...s.identities.alice, kind: "ca" })),
    args: ["--prune"],
    code: 0,
    message: /identities\["\.\."\]: not a valid identity name/,
    check: (sb) => expect(existsSync(path.join(sb.out, "cas/root/key.pem"))).toBe(true),
  },
  {
    name: "an identity named __proto__ in state.json",
    setup: (sb) => writeState(sb, JSON.stringify(readState(sb)).replace('"identities":{', `"identities":{"__proto__":${JSON.stringify(readState(sb).identities.alice)},`)),
    code: 0,
    message: /identities\["__proto__"\]: not a valid identity name/,
  },
  {
    name: "orphans named constructor and toString; --prune deletes only their folders",
    setup: (sb) => {
      editState(sb, (s) => {
        s.identities["constructor"] = { ...s.identities.alice };
        s.identities["toString"] = { ...s.identities.alice };
      });
      mkdirSync(path.join(sb.out, "clients/constructor"));
      writeFileSync(path.join(sb.out, "clients/constructor/cert.pem"), "x");
    },
    args: ["--prune"],
    code: 0,
    message: /constructor\s+client\s+orphaned\s+not in pki\.yaml: files deleted \(--prune\)/,
    check: (sb, run) => {
      expect(run.stdout).toMatch(/toString\s+client\s+orphaned/);
      expect(existsSync(path.join(sb.out, "clients/constructor"))).toBe(false);
      expect(existsSync(path.join(sb.out, "clients/alice/key.pem"))).toBe(true);
      expect(Object.keys(readState(sb).identities).sort()).toEqual(["alice", "intermediate", "root", "secret-server"]);
    },
  },
  { name: "state.json version 2", setup: (sb) => editState(sb, (s) => void (s.version = 2)), code: 0, message: /state\.json does not have the expected layout \(version: .*ignored, rebuilt from the files/ },
  { name: "state.json is an array", setup: (sb) => writeState(sb, "[1,2,3]"), code: 0, message: /state\.json does not have the expected layout/ },
  { name: "state.json is not JSON", setup: (sb) => writeState(sb, "{ nope"), code: 0, message: /state\.json is not valid JSON/ },
  { name: "state.json is empty", setup: (sb) => writeState(sb, ""), code: 0, message: /state\.json is not valid JSON/ },
  {
    name: "notAfter is not a time, a huge pathLength",
    setup: (sb) => editState(sb, (s) => {
      (s.identities.root!.facts as Record<string, unknown>).notAfter = "tomorrow";
      (s.identities.intermediate!.facts as Record<string, unknown>).pathLength = 1e308;
    }),
    code: 0,
    message: /state\.json has 2 entries that do not fit/,
    check: (_sb, run) => expect(run.stdout).not.toMatch(/reissue|create|renew/),
  },
  {
    name: "a key type state.json cannot have",
    setup: (sb) => editState(sb, (s) => void ((s.identities.alice!.facts as Record<string, unknown>).keyType = "rsa-1024")),
    code: 0,
    message: /identities\.alice: facts\.keyType/,
  },
  {
    name: "state.json vouches for a cert.pem that is really the CA key",
    setup: (sb) => {
      const key = readFileSync(path.join(sb.out, "cas/intermediate/key.pem"), "utf8");
      writeFileSync(path.join(sb.out, "cas/intermediate/cert.pem"), key);
      editState(sb, (s) => void (s.identities.intermediate!.certSha256 = createHash("sha256").update(key).digest("hex")));
    },
    code: 0,
    message: /intermediate\s+ca\s+reissue\s+certificate unreadable/,
    check: (sb) => {
      noPrivateMaterial(sb);
      expect(readFileSync(path.join(sb.out, "servers/secret-server/chain.pem"), "utf8")).not.toMatch(/PRIVATE KEY/);
    },
  },
  { name: "state.json is a symlink to /proc/self/environ", setup: (sb) => { rmSync(path.join(sb.out, "state.json")); symlinkSync("/proc/self/environ", path.join(sb.out, "state.json")); }, code: 1, message: /refusing to read .*state\.json: it is a symlink/ },
  { name: "state.json is a folder", setup: (sb) => { rmSync(path.join(sb.out, "state.json")); mkdirSync(path.join(sb.out, "state.json")); }, code: 1, message: /refusing to read .*state\.json: not a regular file/ },
  { name: "state.json is a FIFO (no hang)", setup: (sb) => { rmSync(path.join(sb.out, "state.json")); execFileSync("mkfifo", [path.join(sb.out, "state.json")]); }, code: 1, message: /refusing to read .*state\.json: not a regular file/ },

  // the output tree: symlinks, modes, owners
  { name: "pki/servers is a symlink to a folder outside", setup: (sb) => { rmSync(path.join(sb.out, "servers"), { recursive: true }); symlinkSync(sb.victimDir, path.join(sb.out, "servers")); }, code: 1, message: /refusing to read .*pki\/servers: it is a symlink/ },
  { name: "pki/cas is a symlink to a folder outside", setup: (sb) => { rmSync(path.join(sb.out, "cas"), { recursive: true }); symlinkSync(path.join(sb.victimDir, "cas"), path.join(sb.out, "cas")); }, code: 1, message: /refusing to read .*pki\/cas: it is a symlink/ },
  { name: "an identity folder is a symlink", setup: (sb) => { rmSync(path.join(sb.out, "clients/alice"), { recursive: true }); symlinkSync(sb.victimDir, path.join(sb.out, "clients/alice")); }, code: 1, message: /refusing to read .*clients\/alice: it is a symlink/ },
  // Names of the folder swap (store/folder-swap.ts): only these exact names are touched, never followed
  {
    name: "a .NAME.HEX.old symlink to a folder outside, beside its identity",
    setup: (sb) => symlinkSync(sb.victimDir, path.join(sb.out, "servers/.secret-server.0123456789ab.old")),
    code: 0,
    message: /4 unchanged/,
    check: (sb) => expect(existsSync(path.join(sb.out, "servers/.secret-server.0123456789ab.old"))).toBe(false),
  },
  {
    name: "a .NAME.HEX.old symlink to a folder outside, its identity missing: not put in place",
    setup: (sb) => {
      rmSync(path.join(sb.out, "servers/secret-server"), { recursive: true });
      symlinkSync(sb.victimDir, path.join(sb.out, "servers/.secret-server.0123456789ab.old"));
    },
    code: 0,
    message: /secret-server\s+server\s+reissue\s+certificate missing/,
    check: (sb) => {
      expect(lstatSync(path.join(sb.out, "servers/secret-server")).isDirectory()).toBe(true);
      expect(existsSync(path.join(sb.out, "servers/.secret-server.0123456789ab.old"))).toBe(false);
    },
  },
  {
    name: "a .NAME.HEX.old regular file, its identity missing",
    setup: (sb) => {
      rmSync(path.join(sb.out, "servers/secret-server"), { recursive: true });
      writeFileSync(path.join(sb.out, "servers/.secret-server.0123456789ab.old"), "not a folder");
    },
    code: 0,
    message: /secret-server\s+server\s+reissue\s+certificate missing/,
    check: (sb) => expect(existsSync(path.join(sb.out, "servers/.secret-server.0123456789ab.old"))).toBe(false),
  },
  {
    name: "a .NAME.HEX.new symlink to a folder outside",
    setup: (sb) => symlinkSync(sb.victimDir, path.join(sb.out, "cas/.root.0123456789ab.new")),
    code: 0,
    message: /4 unchanged/,
    check: (sb) => expect(existsSync(path.join(sb.out, "cas/.root.0123456789ab.new"))).toBe(false),
  },
  {
    name: "names near the swap pattern are left alone",
    setup: (sb) => {
      symlinkSync(sb.victimDir, path.join(sb.out, "servers/.secret-server.0123.old"));
      writeFileSync(path.join(sb.out, "servers/.secret-server.0123456789ab.older"), "x");
    },
    code: 0,
    message: /4 unchanged/,
    check: (sb) => {
      expect(lstatSync(path.join(sb.out, "servers/.secret-server.0123.old")).isSymbolicLink()).toBe(true);
      expect(existsSync(path.join(sb.out, "servers/.secret-server.0123456789ab.older"))).toBe(true);
    },
  },
  {
    name: "a symlink in an identity folder whose key is replaced is carried over as a link, never followed",
    setup: (sb) => {
      symlinkSync(sb.victimFile, path.join(sb.out, "servers/secret-server/notes.txt"));
      writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("    validity: 30d", "    validity: 30d\n    key: ecdsa-p384"));
    },
    code: 0,
    message: /secret-server\s+server\s+reissue/,
    check: (sb) => expect(lstatSync(path.join(sb.out, "servers/secret-server/notes.txt")).isSymbolicLink()).toBe(true),
  },
  {
    name: "world-writable pki/cas, with a CA to re-issue",
    setup: (sb) => { chmodSync(path.join(sb.out, "cas"), 0o777); rmSync(path.join(sb.out, "cas/intermediate/cert.pem")); },
    code: 1,
    message: /refusing to write into .*pki\/cas: others can write to that folder \(mode 0777\)/,
  },
  {
    name: "group-writable pki/servers, with a server to re-issue",
    setup: (sb) => { chmodSync(path.join(sb.out, "servers"), 0o775); rmSync(path.join(sb.out, "servers/secret-server/cert.pem")); },
    code: 1,
    message: /refusing to write into .*pki\/servers: others can write to that folder \(mode 0775\)/,
  },
  {
    name: "an identity folder owned by someone else",
    setup: (sb) => { chownSync(path.join(sb.out, "clients/alice"), NOBODY, NOBODY); rmSync(path.join(sb.out, "clients/alice/cert.pem")); },
    code: 1,
    message: new RegExp(`refusing to write into .*clients/alice: it belongs to uid ${NOBODY}`),
  },
  {
    name: "the output folder is world-writable",
    setup: (sb) => { chmodSync(sb.out, 0o777); rmSync(path.join(sb.out, "ca-bundle.pem")); },
    code: 1,
    message: /refusing to write into .*pki: others can write to that folder/,
  },
  { name: "key.pem is a symlink to a file outside", setup: (sb) => { rmSync(path.join(sb.out, "servers/secret-server/key.pem")); symlinkSync(sb.victimFile, path.join(sb.out, "servers/secret-server/key.pem")); }, code: 1, message: /refusing to read .*secret-server\/key\.pem: it is a symlink/ },
  { name: "cert.pem is a symlink to /proc/self/environ", setup: (sb) => { rmSync(path.join(sb.out, "cas/root/cert.pem")); symlinkSync("/proc/self/environ", path.join(sb.out, "cas/root/cert.pem")); }, code: 1, message: /refusing to read .*cas\/root\/cert\.pem: it is a symlink/ },
  { name: "chain.pem is a FIFO (no hang)", setup: (sb) => { rmSync(path.join(sb.out, "clients/alice/chain.pem")); execFileSync("mkfifo", [path.join(sb.out, "clients/alice/chain.pem")]); }, code: 1, message: /refusing to read .*alice\/chain\.pem: not a regular file/ },
  {
    name: "a launch file is a symlink to a file outside",
    setup: (sb) => {
      writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("    validity: 30d", "    validity: 30d\n    serve: { port: 5683 }"));
      mkdirSync(path.join(sb.out, "launch/secret-server"), { recursive: true });
      symlinkSync(sb.victimFile, path.join(sb.out, "launch/secret-server/server.env"));
    },
    code: 1,
    message: /refusing to write .*launch\/secret-server\/server\.env: it is a symlink/,
  },
  {
    name: "a key chmod'ed to 0644 is set back to 0600, and the plan says so",
    setup: (sb) => chmodSync(path.join(sb.out, "cas/root/key.pem"), 0o644),
    code: 0,
    message: /note: .*cas\/root\/key\.pem was readable by others \(mode 0644\); it is set back to 0600/,
    check: (sb) => expect(modeOf(path.join(sb.out, "cas/root/key.pem"))).toBe(0o600),
  },
  {
    name: "a 0755 key folder is closed to 0700 when written to; a 0700 output folder stays 0700",
    setup: (sb) => { chmodSync(sb.out, 0o700); chmodSync(path.join(sb.out, "servers/secret-server"), 0o755); rmSync(path.join(sb.out, "servers/secret-server/cert.pem")); },
    code: 0,
    message: /secret-server\s+server\s+reissue/,
    check: (sb) => {
      expect(modeOf(sb.out)).toBe(0o700);
      expect(modeOf(path.join(sb.out, "servers/secret-server"))).toBe(0o700);
    },
  },
  {
    name: "a planted CA key (no certificate, no record) is refused",
    setup: (sb) => {
      writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("servers:", "  extra:\n    issuer: root\n    validity: 1y\nservers:"));
      mkdirSync(path.join(sb.out, "cas/extra"), { mode: 0o700 });
      writeFileSync(path.join(sb.out, "cas/extra/key.pem"), readFileSync(path.join(sb.out, "clients/alice/key.pem")), { mode: 0o600 });
    },
    code: 1,
    message: /CA extra has a key\.pem but no certificate, and provision has no record of creating that key[\s\S]*--adopt-ca-key extra/,
  },
  {
    name: "--adopt-ca-key makes a planted key the CA's, on request",
    setup: (sb) => {
      writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("servers:", "  extra:\n    issuer: root\n    validity: 1y\nservers:"));
      mkdirSync(path.join(sb.out, "cas/extra"), { mode: 0o700 });
      writeFileSync(path.join(sb.out, "cas/extra/key.pem"), readFileSync(path.join(sb.out, "clients/alice/key.pem")), { mode: 0o600 });
    },
    args: ["--adopt-ca-key", "extra"],
    code: 0,
    message: /extra\s+ca\s+reissue\s+certificate missing/,
  },
  { name: "--adopt-ca-key of no CA", args: ["--adopt-ca-key", "../../victim-dir"], code: 1, message: /--adopt-ca-key \.\.\/\.\.\/victim-dir: no CA of that name/ },
  { name: "--rotate-ca-key of no CA", args: ["--rotate-ca-key", "constructor"], code: 1, message: /--rotate-ca-key constructor: no CA of that name/ },
  {
    name: "an identity moved from clients to servers leaves an orphan; --prune removes it and its empty folder",
    setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace(/clients:\n  alice:\n    issuer: intermediate\n    commonName: alice\n    altNames: \[alice@squirrels.test\]\n/, "").replace("servers:\n", "servers:\n  alice:\n    issuer: intermediate\n    altNames: [alice.squirrels.test]\n")),
    args: ["--prune"],
    code: 0,
    message: /alice\s+client\s+orphaned\s+moved to servers in pki\.yaml: old client files deleted \(--prune\)/,
    check: (sb) => {
      expect(existsSync(path.join(sb.out, "clients"))).toBe(false);
      expect(existsSync(path.join(sb.out, "servers/alice/key.pem"))).toBe(true);
    },
  },
  {
    name: "an orphan without --prune is not followed by 'nothing to do'",
    setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace(/clients:\n[\s\S]*$/, "")),
    code: 0,
    message: /alice\s+client\s+orphaned/,
    check: async (sb) => {
      const again = await provision([], { cwd: sb.dir, env: { PROVISION_NO_CACHE: "1" } });
      expect(again.stdout).toMatch(/alice\s+client\s+orphaned[\s\S]*nothing written in pki; 1 orphaned identity is kept \(run with --prune to delete it\)/);
      expect(again.stdout).not.toMatch(/nothing to do/);
    },
  },

  // pki.yaml
  { name: "output: with a NUL", setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("output: ./pki", 'output: "./p\\0ki"')), code: 1, message: /pki\.yaml:2:\d+ output: the output path contains a NUL character/ },
  { name: "output: is a file", setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("output: ./pki", "output: ../victim.txt")), code: 1, message: /the output folder .*victim\.txt is not a folder|refusing to write into .*victim\.txt: it is not a folder/ },
  { name: "output: below a file", setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("output: ./pki", "output: ../victim.txt/pki")), code: 1, message: /victim\.txt\/pki is not a folder|a part of its path is a file/ },
  { name: "an identity named __proto__", setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("  alice:", "  __proto__:")), code: 1, message: /"__proto__" cannot be used as a key or name/ },
  {
    name: "identities named constructor, toString, hasOwnProperty",
    setup: (sb) => {
      rmSync(sb.out, { recursive: true });
      writeFileSync(path.join(sb.dir, "pki.yaml"), "version: 1\ncas:\n  constructor: {}\n  toString: { issuer: constructor }\nservers:\n  hasOwnProperty: { issuer: toString, altNames: [a.test] }\nclients:\n  valueOf: { issuer: toString }\n");
    },
    code: 0,
    message: /done: 4 create/,
    check: (sb) => expect(Object.keys(readState(sb).identities).sort()).toEqual(["constructor", "hasOwnProperty", "toString", "valueOf"]),
  },

  // CLI arguments and environment
  { name: "-f with a NUL", args: ["-f", "pki\0.yaml"], code: 1, message: /--file: the value contains a NUL character/ },
  { name: "csr --out with a NUL", args: ["csr", "alice", "--out", "x\0y"], code: 1, message: /--out: the value contains a NUL character/ },
  { name: "inspect /dev/zero (no hang)", args: ["inspect", "/dev/zero"], code: 1, message: /refusing to read \/dev\/zero: not a regular file/ },
  { name: "inspect a folder", args: ["inspect", "/tmp"], code: 1, message: /refusing to read \/tmp: not a regular file/ },
  {
    name: "inspect a file too large to be a certificate",
    setup: (sb) => { writeFileSync(path.join(sb.dir, "big.pem"), ""); execFileSync("truncate", ["-s", "20M", path.join(sb.dir, "big.pem")]); },
    args: ["inspect", "big.pem"],
    code: 1,
    message: /refusing to read big\.pem: 20971520 bytes is more than/,
  },
  { name: "sign --csr of a missing file", args: ["sign", "--csr", "missing.pem", "--issuer", "intermediate", "--profile", "server"], code: 1, message: /cannot read missing\.pem: no such file \(ENOENT\)/ },
  { name: "-f of a missing file", args: ["-f", "../victim-dir/nope.yaml"], code: 1, message: /cannot read \.\.\/victim-dir\/nope\.yaml: no such file/ },
  { name: "XDG_CACHE_HOME is a file", env: { XDG_CACHE_HOME: "/dev/null" }, code: 0, message: /nothing to do|done:/ },
  { name: "a passphrase variable set but empty", setup: (sb) => writeFileSync(path.join(sb.dir, "pki.yaml"), YAML.replace("    validity: 10y", "    validity: 10y\n    passphraseEnv: HOSTILE_EMPTY")), env: { HOSTILE_EMPTY: "" }, code: 1, message: /HOSTILE_EMPTY is not set/ },
];

describe("hostile input: every case exits 0 or 1 with a message, and nothing outside the project changes", () => {
  it("has at least 40 cases", () => expect(CASES.length).toBeGreaterThanOrEqual(40));

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const sb = makeSandbox(template.dir);
    try {
      const before = sb.outside();
      c.setup?.(sb);
      const args = typeof c.args === "function" ? c.args(sb) : (c.args ?? []);
      const run = await provision(args, { cwd: sb.dir, env: { PROVISION_NO_CACHE: "1", ...c.env } });
      const output = run.stdout + run.stderr;
      expect(output, output).toMatch(c.message);
      expect(run.code, output).toBe(c.code);
      expect(output).not.toMatch(/This is a bug|unexpected error|internal error|\n\s+at .+:\d+:\d+/);
      await c.check?.(sb, run);
      expect(sb.outside(), "something outside the project changed").toBe(before);
    } finally {
      sb.remove();
    }
  });
});
