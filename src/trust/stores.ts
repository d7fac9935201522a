import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { onPath } from "../on-path.js";
import { fsError, ProvisionError, withFs } from "../errors.js";

/** A root CA as the stores see it. */
export interface TrustRoot {
  name: string;
  /** Where the root is kept (for the macOS and Windows commands); an external root may share its file with others. */
  certFile: string;
  /** The root alone, as PEM: what the stores are given. */
  pem: string;
  fingerprint: string;
  /** How the root is named in every store, so uninstall removes exactly what install added. */
  label: string;
}

/** One trust store: the system's, or one NSS database. */
export interface TrustStore {
  name: "system" | "nss";
  where: string;
  has(root: TrustRoot): Promise<boolean>;
  add(root: TrustRoot): Promise<void>;
  remove(root: TrustRoot): Promise<void>;
}

const SYSTEM_ANCHORS = [
  { dir: "/usr/local/share/ca-certificates", update: "update-ca-certificates", ext: ".crt" }, // Debian, Ubuntu
  { dir: "/etc/pki/ca-trust/source/anchors", update: "update-ca-trust", ext: ".pem" }, // Fedora, RHEL
];

/** The system store of this distribution, or null when it has none provision knows (or no update tool). */
export function systemStore(env: NodeJS.ProcessEnv): TrustStore | null {
  const anchors = SYSTEM_ANCHORS.find((a) => existsSync(a.dir));
  if (!anchors || !onPath(anchors.update, env)) return null;
  const fileOf = (root: TrustRoot) => path.join(anchors.dir, `${root.label.replaceAll(" ", "-")}${anchors.ext}`);
  const update = async () => {
    const result = await execa(anchors.update, anchors.update === "update-ca-certificates" ? ["--fresh"] : [], { reject: false, env });
    if (result.exitCode !== 0) throw new ProvisionError("trust-failed", `${anchors.update} failed: ${result.stderr || result.stdout}`.trim());
  };
  return {
    name: "system",
    where: anchors.dir,
    has: async (root) => existsSync(fileOf(root)),
    add: async (root) => {
      try {
        writeFileSync(fileOf(root), root.pem, { mode: 0o644 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EACCES") {
          throw new ProvisionError("needs-root", `no permission to write ${anchors.dir}`, { hint: `run with sudo, or use --store nss to trust it only in your browsers` });
        }
        throw fsError("write", fileOf(root), error);
      }
      await update();
    },
    remove: async (root) => {
      withFs("remove", fileOf(root), () => rmSync(fileOf(root), { force: true }));
      await update();
    },
  };
}

/** NSS databases: `nssdb` when given, else Chromium's ~/.pki/nssdb and every Firefox profile under `home`. */
export function nssDatabases(nssdb: string | null, home: string): string[] {
  if (nssdb) return [nssdb];
  const dbs = [path.join(home, ".pki/nssdb")];
  for (const profiles of [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"].map((p) => path.join(home, p))) {
    if (!existsSync(profiles)) continue;
    for (const entry of withFs("list", profiles, () => readdirSync(profiles))) if (existsSync(path.join(profiles, entry, "cert9.db"))) dbs.push(path.join(profiles, entry));
  }
  return dbs;
}

/** An NSS database, through certutil; `create` makes the database when it does not exist yet. */
export function nssStore(db: string, env: NodeJS.ProcessEnv, create: boolean): TrustStore {
  const certutil = (args: string[]) => execa("certutil", ["-d", `sql:${db}`, ...args], { reject: false, env });
  return {
    name: "nss",
    where: db,
    has: async (root) => existsSync(path.join(db, "cert9.db")) && (await certutil(["-L", "-n", root.label])).exitCode === 0,
    add: async (root) => {
      if (!existsSync(path.join(db, "cert9.db"))) {
        if (!create) return;
        withFs("create", db, () => mkdirSync(db, { recursive: true, mode: 0o700 }));
        const made = await certutil(["-N", "--empty-password"]);
        if (made.exitCode !== 0) throw new ProvisionError("trust-failed", `cannot create the NSS database ${db}: ${made.stderr}`);
      }
      // On stdin: an external root may sit in a file with other certificates.
      const added = await execa("certutil", ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", root.label], { reject: false, env, input: root.pem });
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

/** How to trust a root on the systems provision does not manage. */
export function trustElsewhere(root: TrustRoot): string[] {
  return [
    `macOS:   sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "${root.certFile}"`,
    `Windows: certutil -addstore -f ROOT "${root.certFile}"   (in an administrator prompt)`,
  ];
}
