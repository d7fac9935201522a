import { createHash } from "node:crypto";
import { cronCommand, shWord, systemdArg, systemdPath } from "./escape.js";

/** What a scheduled run needs to know: which node runs which provision, on which pki.yaml, from where. */
export interface ScheduleFacts {
  node: string;
  bin: string;
  /** Absolute pki.yaml. */
  configFile: string;
  /** The folder holding pki.yaml: relative paths in it, and afterChange hooks, run from here. */
  workingDir: string;
  /** Where the cron job appends its output (beside the rendered files: that folder exists before any run). */
  logFile: string;
}

export interface ScheduleFiles {
  service: string;
  timer: string;
  cron: string;
}

/**
 * A daily `provision apply` (hooks included) for hosts without CI: a systemd service + timer with a
 * randomized delay, as certbot's and step's renewal timers do, and the same as one crontab line. The cron
 * minute and hour are derived from the pki.yaml path, so hosts do not all run at once and a re-render is
 * stable.
 */
export function renderSchedule(facts: ScheduleFacts): ScheduleFiles {
  const argv = [facts.node, facts.bin, "apply", "-f", facts.configFile];
  const service = `# Rendered by provision schedule. Install: see README "Hosts without CI".
[Unit]
Description=provision: renew the certificates that ${facts.configFile.replace(/[\r\n]/g, " ").replace(/%/g, "%%")} describes
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory=${systemdPath(facts.workingDir)}
ExecStart=${argv.map(systemdArg).join(" ")}
# Passphrase variables for encrypted keys (a file only root can read), if the keys are encrypted:
# EnvironmentFile=/etc/provision/pki.env
`;
  const timer = `# Rendered by provision schedule.
[Unit]
Description=provision: daily renewal check

[Timer]
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
`;
  const digest = createHash("sha256").update(facts.configFile).digest();
  const minute = digest[0]! % 60;
  const hour = digest[1]! % 24;
  const command = cronCommand(["cd", shWord(facts.workingDir), "&&", ...argv.map(shWord), ">>", shWord(facts.logFile), "2>&1"]);
  const cron = `# provision: daily renewal check (crontab -e, or: (crontab -l; cat THIS_FILE) | crontab -)\n${minute} ${hour} * * * ${command}\n`;
  return { service, timer, cron };
}
