// nextDue (src/plan/renewal.ts): after a run, when the next run will have something to do by time alone.
// `provision watch` sleeps until then, so an answer too late misses a renewal and one too early wakes for
// nothing. Checked against buildPlan itself: at the moment nextDue names, the plan renews; a second before, not.
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build.js";
import { nextDue } from "../../src/plan/renewal.js";
import type { IdentityAction, Plan, RetiredAction } from "../../src/plan/types.js";
import { at, config, DAY, observedAfterRun, T0 } from "./builders.js";

const cfg = config(`version: 1
cas:
  root: { commonName: Root, validity: 10y }
servers:
  web: { issuer: root, altNames: [web.test], validity: 30d, renewBefore: 10d }
clients:
  bob: { issuer: root, altNames: [bob@web.test], validity: 60d, renewBefore: 10d }
`);

const actionOf = (plan: Plan, name: string) => plan.actions.find((a) => a.name === name)!.action;

describe("nextDue", () => {
  it("right after a run: the earliest renewal window, which is when the plan starts renewing", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY));
    const due = nextDue(cfg, plan)!;
    expect(due).toEqual({ at: T0.getTime() + 20 * DAY, what: "web renews" });
    expect(actionOf(buildPlan(cfg, observedAfterRun(cfg, T0), new Date(due.at - 1000)), "web")).toBe("unchanged");
    expect(actionOf(buildPlan(cfg, observedAfterRun(cfg, T0), new Date(due.at)), "web")).toBe("renew");
  });

  it("the earliest wins whichever order the actions come in, and a tie keeps the first", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0, { web: { issuedAt: at(20 * DAY) } }), at(21 * DAY));
    // web now renews at day 40, bob at day 50.
    expect(nextDue(cfg, plan)).toEqual({ at: T0.getTime() + 40 * DAY, what: "web renews" });
    expect(nextDue(cfg, { ...plan, actions: [...plan.actions].reverse() })).toEqual({ at: T0.getTime() + 40 * DAY, what: "web renews" });
    const tie = buildPlan(cfg, observedAfterRun(cfg, T0, { web: { issuedAt: at(30 * DAY) } }), at(31 * DAY));
    expect(nextDue(cfg, tie)!.what).toBe("web renews");
    expect(nextDue(cfg, { ...tie, actions: [...tie.actions].reverse() })!.what).toBe("bob renews");
  });

  it("skips what has no dates, is orphaned, or is no longer in pki.yaml", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY));
    const web = plan.actions.find((a) => a.name === "web")!;
    const without = (edit: Partial<IdentityAction>): Plan => ({ ...plan, actions: plan.actions.map((a) => (a === web ? { ...a, ...edit } : a)) });
    const bobDue = { at: T0.getTime() + 50 * DAY, what: "bob renews" };
    expect(nextDue(cfg, without({ notAfter: null }))).toEqual(bobDue);
    expect(nextDue(cfg, without({ notBefore: null }))).toEqual(bobDue);
    expect(nextDue(cfg, without({ action: "orphaned" }))).toEqual(bobDue);
    expect(nextDue(cfg, without({ name: "gone" }))).toEqual(bobDue);
    expect(nextDue(cfg, { ...plan, actions: [] })).toBeNull();
  });

  it("a retired root leaving ca-bundle.pem counts when it is earlier; one being dropped now does not", () => {
    const plan = buildPlan(cfg, observedAfterRun(cfg, T0), at(DAY));
    const retired = (action: RetiredAction["action"], days: number): RetiredAction => ({
      ca: "root", fingerprint: "a".repeat(64), notAfter: at(days * DAY).toISOString(), until: at(days * DAY).toISOString(), action, reason: "", file: "",
    });
    expect(nextDue(cfg, { ...plan, retired: [retired("keep", 5)] })).toEqual({ at: T0.getTime() + 5 * DAY, what: "a retired root certificate leaves ca-bundle.pem" });
    expect(nextDue(cfg, { ...plan, retired: [retired("add", 5)] })!.at).toBe(T0.getTime() + 5 * DAY);
    expect(nextDue(cfg, { ...plan, retired: [retired("drop", 5)] })).toEqual({ at: T0.getTime() + 20 * DAY, what: "web renews" });
    expect(nextDue(cfg, { ...plan, retired: [retired("keep", 25)] })!.what).toBe("web renews");
    expect(nextDue(cfg, { ...plan, actions: [], retired: [{ ...retired("keep", 5), until: "not a time" }] })).toBeNull();
  });
});
