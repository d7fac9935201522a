import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { loadConfig } from "../../config/load.js";
import { ProvisionError } from "../../errors.js";
import { identityPaths } from "../../store/layout.js";
import { inspectCertificate } from "../../x509/inspect.js";
import type { CliOptions } from "../args.js";
import { onPath } from "../on-path.js";
import { EXIT, type Io } from "../io.js";

interface Root {
  name: string;
  certFile: string;
  fingerprint: string;
  /** How the root is named in every store, so uninstall removes exactly what install added. */
  label: string;
}

interface Store {
  name: string;
  where: string;
  has(root: Root): Promise<boolean>;
  add(root: Root): Promise<void>;
  remove(root: Root): Promise<void>;
}

const SYSTEM_ANCHORS = [
  { dir: "/usr/local/share/ca-certificates", update: "update-ca-certificates", ext: ".crt" }, // Debian, Ubuntu
  { dir: "/etc/pki/ca-trust/source/anchors", update: "update-ca-trust", ext: ".pem" }, // Fedora, RHEL
];

/** The system store of this distribution, or null when it has none provision knows (or no update tool). */
function systemStore(io: Io): Store | null {
  const anchors = SYSTEM_ANCHORS.find((a) => existsSync(a.dir));
  if (!anchors || !onPath(anchors.update, io.env)) return null;
  const fileOf = (root: Root) => path.join(anchors.dir, `${root.label.replaceAll(" ", "-")}${anchors.ext}`);
  const update = async () => {
    const result = await execa(anchors.update, anchors.update === "update-ca-certificates" ? ["--fresh"] : [], { reject: false, env: io.env });
    if (result.exitCode !== 0) throw new ProvisionError("trust-failed", `${anchors.update} failed: ${result.stderr || result.stdout}`.trim());
  };
  return {
    name: "system",
    where: anchors.dir,
    has: async (root) => existsSync(fileOf(root)),
    add: async (root) => {
      try {
        copyFileSync(root.certFile, fileOf(root));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EACCES") {
          throw new ProvisionError("needs-root", `no permission to write ${anchors.dir}`, { hint: `run with sudo, or use --store nss to trust it only in your browsers` });
        }
        throw error;
      }
      await update();
    },
    remove: async (root) => {
      rmSync(fileOf(root), { force: true });
      await update();
    },
  };
}

/** NSS databases: --nssdb, else Chromium's ~/.pki/nssdb and every Firefox profile under $HOME. */
function nssDatabases(options: CliOptions, io: Io): string[] {
  if (options.nssdb) return [path.resolve(io.cwd, options.nssdb)];
  const home = io.env.HOME ?? homedir();
  const dbs = [path.join(home, ".pki/nssdb")];
  for (const profiles of [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"].map((p) => path.join(home, p))) {
    if (!existsSync(profiles)) continue;
    for (const entry of readdirSync(profiles)) if (existsSync(path.join(profiles, entry, "cert9.db"))) dbs.push(path.join(profiles, entry));
  }
  return dbs;
}

function nssStore(db: string, io: Io, create: boolean): Store {
  const certutil = (args: string[]) => execa("certutil", ["-d", `sql:${db}`, ...args], { reject: false, env: io.env });
  return {
    name: "nss",
    where: db,
    has: async (root) => existsSync(path.join(db, "cert9.db")) && (await certutil(["-L", "-n", root.label])).exitCode === 0,
    add: async (root) => {
      if (!existsSync(path.join(db, "cert9.db"))) {
        if (!create) return;
        mkdirSync(db, { recursive: true, mode: 0o700 });
        const made = await certutil(["-N", "--empty-password"]);
        if (made.exitCode !== 0) throw new ProvisionError("trust-failed", `cannot create the NSS database ${db}: ${made.stderr}`);
      }
      const added = await certutil(["-A", "-t", "C,,", "-n", root.label, "-i", root.certFile]);
      if (added.exitCode !== 0) throw new ProvisionError("trust-failed", `certutil could not add ${root.label} to ${db}: ${added.stderr}`);
    },
    remove: async (root) => {
      while ((await certutil(["-L", "-n", root.label])).exitCode === 0) {
        const removed = await certutil(["-D", "-n", root.label]);
        if (removed.exitCode !== 0) throw new ProvisionError("trust-failed", `certutil could not remove ${root.label} from ${db}: ${removed.stderr}`);
      }
    },
  };
}

function elsewhere(root: Root): string[] {
  return [
    `macOS:   sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "${root.certFile}"`,
    `Windows: certutil -addstore -f ROOT "${root.certFile}"   (in an administrator prompt)`,
  ];
}

/**
 * `provision trust install | uninstall | status`: puts the root CAs of pki.yaml into this machine's trust
 * stores, as mkcert -install does, saying what it changes before changing it.
 */
export async function runTrust(options: CliOptions, io: Io): Promise<number> {
  const action = options.positionals[0];
  if (action !== "install" && action !== "uninstall" && action !== "status") {
    throw new ProvisionError("usage", `provision trust ${action ?? ""}: expected install, uninstall or status`, { hint: "usage: provision trust install|uninstall|status [--ca ROOT] [--store system,nss] [--nssdb DIR]" });
  }
  const { config } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const roots: Root[] = config.identities
    .filter((id) => id.kind === "ca" && id.issuer === null && (options.ca === null || id.name === options.ca))
    .map((id) => {
      const certFile = identityPaths(config.outputDir, "ca", id.name).cert;
      if (!existsSync(certFile)) throw new ProvisionError("not-provisioned", `root CA ${id.name} has no certificate yet`, { hint: "run provision first" });
      const fingerprint = inspectCertificate(readFileSync(certFile, "utf8")).facts.fingerprint;
      return { name: id.name, certFile, fingerprint, label: `provision ${id.name} ${fingerprint.slice(0, 16)}` };
    });
  if (roots.length === 0) throw new ProvisionError("unknown-ca", options.ca ? `no root CA named "${options.ca}" in ${options.file}` : `no root CA in ${options.file}`);

  const wanted = new Set((options.store ?? "system,nss").split(",").map((s) => s.trim()));
  for (const s of wanted) if (s !== "system" && s !== "nss") throw new ProvisionError("usage", `--store ${s}: expected system, nss, or both`);
  const stores: Store[] = [];
  const skipped: string[] = [];
  // Asked for by default, the system store is skipped (with a note) when we are not root, so a plain
  // `trust install` still reaches the browsers; asked for explicitly, it fails with the fix.
  const implicit = options.store === null;
  if (wanted.has("system")) {
    const system = systemStore(io);
    if (!system) {
      skipped.push("system store: no update-ca-certificates or update-ca-trust here");
    } else if (implicit && action !== "status" && process.getuid?.() !== 0) {
      skipped.push("system store: needs root (run again with sudo to include it)");
    } else stores.push(system);
  }
  if (wanted.has("nss")) {
    if (onPath("certutil", io.env)) {
      for (const db of nssDatabases(options, io)) stores.push(nssStore(db, io, options.nssdb !== null || db.endsWith(".pki/nssdb")));
    } else skipped.push("browsers (NSS): certutil not found; on Debian/Ubuntu: apt-get install libnss3-tools");
  }

  if (action === "status") {
    const rows = [];
    for (const root of roots) for (const store of stores) rows.push({ root: root.name, fingerprint: root.fingerprint, store: store.name, where: store.where, trusted: await store.has(root) });
    if (options.json) io.stdout(`${JSON.stringify({ roots: rows, skipped }, null, 2)}\n`);
    else {
      for (const r of rows) io.stdout(`${r.root}  ${r.trusted ? "trusted    " : "not trusted"}  ${r.store}  ${r.where}\n`);
      for (const s of skipped) io.stdout(`skipped: ${s}\n`);
    }
    return EXIT.ok;
  }

  const changes: { root: Root; store: Store }[] = [];
  for (const root of roots) {
    for (const store of stores) {
      const present = await store.has(root);
      if ((action === "install" && !present) || (action === "uninstall" && present)) changes.push({ root, store });
    }
  }
  for (const s of skipped) io.stderr(`skipped: ${s}\n`);
  if (changes.length === 0) {
    io.stdout(action === "install" ? "nothing to do: already trusted everywhere provision can reach\n" : "nothing to do: not trusted anywhere provision manages\n");
  }
  for (const { root, store } of changes) io.stdout(`will ${action === "install" ? "add" : "remove"} "${root.label}" ${action === "install" ? "to" : "from"} the ${store.name} store (${store.where})\n`);
  if (options.dryRun) {
    io.stdout("(dry run: nothing changed)\n");
    return EXIT.ok;
  }
  for (const { root, store } of changes) {
    if (action === "install") await store.add(root);
    else await store.remove(root);
  }
  if (changes.length) io.stdout(`done: ${changes.length} change(s)\n`);
  if (action === "install") {
    io.stdout("on other systems, trust it with:\n");
    for (const root of roots) for (const line of elsewhere(root)) io.stdout(`  ${line}\n`);
  }
  return EXIT.ok;
}
