import { existsSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config/types.js";
import type { Diagnostic } from "../errors.js";
import { launchFacts, servedServers } from "../render/launch-facts.js";
import { unrenderableLaunchFiles } from "../render/launch.js";

/**
 * Warnings about how servers are launched that depend on the disk, so are checked on every run (not
 * cached with the config): a serve.app whose module is not beside pki.yaml (uwsgi would start and answer
 * HTTP 500), and launch files whose format cannot hold the output folder's path.
 */
export function launchWarnings(config: Config): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const server of servedServers(config)) {
    const serve = server.serve!;
    if (serve.app !== null) {
      const modulePath = path.join(config.baseDir, ...serve.app.split(":")[0]!.split("."));
      const candidates = [`${modulePath}.py`, path.join(modulePath, "__init__.py")];
      if (!candidates.some((file) => existsSync(file))) {
        found.push({
          severity: "warning",
          ...(serve.appAt ?? serve.at),
          file: config.file, // as this run names it (the location may come from the config cache)
          message: `module of ${serve.app} not found: neither ${candidates.map((c) => path.relative(config.baseDir, c)).join(" nor ")} exists beside ${path.basename(config.file)} (in ${config.baseDir}); uwsgi would start and answer every request with HTTP 500 unless the module is installed`,
        });
      }
    }
    const facts = launchFacts(config, server.name);
    if (facts.crlless.length > 0) {
      found.push({
        severity: "warning",
        ...serve.at,
        file: config.file,
        message: `${server.name} checks client certificates without CRLs: provision signs no CRL for ${facts.crlless.join(", ")} (external, without its key), and nginx and Node refuse every client of a chain with a CA that has none; a revoked client is refused only once its certificate expires`,
      });
    }
    for (const { file, reason } of unrenderableLaunchFiles(facts)) {
      found.push({ severity: "warning", ...serve.at, file: config.file, message: `${file} is written as an explanation only: ${reason}; rename the folder to use it` });
    }
  }
  return found;
}
