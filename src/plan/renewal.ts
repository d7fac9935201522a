import { identitiesByName } from "../config/issuers.js";
import type { Config } from "../config/types.js";
import { renewalWindow } from "./build.js";
import type { Plan } from "./types.js";

/** What the next run will have to do on its own, and when: the earliest renewal window or retired-root drop. */
export interface NextDue {
  at: number;
  what: string;
}

/**
 * After a plan has been applied, the earliest moment a later plan would change something by time alone
 * (a certificate entering its renewal window, a retired root leaving the bundle). null: nothing is due.
 */
export function nextDue(config: Config, plan: Plan): NextDue | null {
  const specs = identitiesByName(config);
  let next: NextDue | null = null;
  const consider = (at: number, what: string) => {
    if (Number.isFinite(at) && (next === null || at < next.at)) next = { at, what };
  };
  for (const action of plan.actions) {
    const spec = specs.get(action.name);
    if (!spec || action.notBefore === null || action.notAfter === null || action.action === "orphaned") continue;
    consider(renewalWindow(spec, { notBefore: action.notBefore, notAfter: action.notAfter }).startsAt, `${action.name} renews`);
  }
  for (const retired of plan.retired) if (retired.action !== "drop") consider(Date.parse(retired.until), `a retired ${retired.ca} certificate leaves ca-bundle.pem`);
  return next;
}
