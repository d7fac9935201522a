import path from "node:path";
import { loadConfig } from "../../config/load.js";
import { ProvisionError } from "../../errors.js";
import { loadExternalCas } from "../../store/external.js";
import { trustElsewhere } from "../../trust/stores.js";
import { applyTrust, planTrust, trustStatus, type StoreName, type TrustOptions } from "../../trust/trust.js";
import type { CliOptions } from "../args.js";
import { EXIT, type Io } from "../io.js";

function parseStores(text: string | null): ReadonlySet<StoreName> | null {
  if (text === null) return null;
  const wanted = new Set(text.split(",").map((s) => s.trim()));
  for (const s of wanted) if (s !== "system" && s !== "nss") throw new ProvisionError("usage", `--store ${s}: expected system, nss, or both`);
  return wanted as Set<StoreName>;
}

/**
 * `provision trust install | uninstall | status`: puts the root CAs of pki.yaml into this machine's trust
 * stores, as mkcert -install does (src/trust/), saying what it changes before changing it.
 */
export async function runTrust(options: CliOptions, io: Io): Promise<number> {
  const action = options.positionals[0];
  if (action !== "install" && action !== "uninstall" && action !== "status") {
    throw new ProvisionError("usage", `provision trust ${action ?? ""}: expected install, uninstall or status`, { hint: "usage: provision trust install|uninstall|status [--ca ROOT] [--store system,nss] [--nssdb DIR]" });
  }
  const stores = parseStores(options.store);
  const { config: declared } = await loadConfig(options.file, { cwd: io.cwd, env: io.env });
  const { config, externals } = loadExternalCas(declared);
  const trust: TrustOptions = { ca: options.ca, stores, nssdb: options.nssdb ? path.resolve(io.cwd, options.nssdb) : null, env: io.env, isRoot: process.getuid?.() === 0, externals };

  if (action === "status") {
    const status = await trustStatus(config, trust);
    if (options.json) io.stdout(`${JSON.stringify(status, null, 2)}\n`);
    else {
      for (const r of status.roots) io.stdout(`${r.root}  ${r.trusted ? "trusted    " : "not trusted"}  ${r.store}  ${r.where}\n`);
      for (const s of status.skipped) io.stdout(`skipped: ${s}\n`);
    }
    return EXIT.ok;
  }

  const plan = await planTrust(config, action, trust);
  for (const s of plan.skipped) io.stderr(`skipped: ${s}\n`);
  if (plan.changes.length === 0) {
    io.stdout(action === "install" ? "nothing to do: already trusted everywhere provision can reach\n" : "nothing to do: not trusted anywhere provision manages\n");
  }
  for (const { root, store } of plan.changes) io.stdout(`will ${action === "install" ? "add" : "remove"} "${root.label}" ${action === "install" ? "to" : "from"} the ${store.name} store (${store.where})\n`);
  if (options.dryRun) {
    io.stdout("(dry run: nothing changed)\n");
    return EXIT.ok;
  }
  await applyTrust(plan, action);
  if (plan.changes.length) io.stdout(`done: ${plan.changes.length} change(s)\n`);
  if (action === "install") {
    io.stdout("on other systems, trust it with:\n");
    for (const root of plan.roots) for (const line of trustElsewhere(root)) io.stdout(`  ${line}\n`);
  }
  return EXIT.ok;
}
