import { durationProblem, parseDuration } from "../config/duration.js";
import { ProvisionError } from "../errors.js";

/** --now as given: a fixed instant, or an offset from the real clock (`+30d`). */
export type NowOption = { at: Date } | { offsetSeconds: number };

/** The earliest and latest --now: certificates are dated from it, and every allowed validity must end by 9999. */
export const EARLIEST_NOW = Date.UTC(1950, 0, 1);
export const LATEST_NOW = Date.UTC(8999, 11, 31, 23, 59, 59);

// A full ISO-8601 timestamp with a zone: a bare number or date is not taken as a time (`--now 1` is not 2001).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const HINT = "use a full time with a zone such as 2027-03-01T09:00:00Z, or an offset from now such as +30d";

/** Parses --now: `YYYY-MM-DDThh:mm[:ss[.fff]](Z|±hh:mm)` between 1950 and 8999, or `+<duration>`. */
export function parseNow(text: string): NowOption {
  const fail = (why: string): never => {
    throw new ProvisionError("usage", `--now ${text}: ${why}`, { hint: HINT });
  };
  if (text.startsWith("+")) {
    const problem = durationProblem(text.slice(1));
    if (problem) fail(problem);
    return { offsetSeconds: parseDuration(text.slice(1))! };
  }
  const match = TIMESTAMP.exec(text);
  if (!match) fail("not a full ISO-8601 time with a zone");
  const [, year, month, day, hour, minute, second = "0"] = match!.map((part) => part ?? undefined) as string[];
  const at = new Date(text);
  // Date accepts 2027-02-30 (and rolls it over): check the fields were real before trusting it.
  const fieldsValid = Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate() && Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59;
  if (!fieldsValid || Number.isNaN(at.getTime())) fail("not a valid date and time");
  if (at.getTime() < EARLIEST_NOW || at.getTime() > LATEST_NOW) fail("outside the years 1950 to 8999 that provision can issue from");
  return { at };
}

/** The instant a command evaluates at: --now, or the clock (moved by a +duration --now). */
export function resolveNow(option: NowOption | null, clock: () => Date): Date {
  if (option === null) return clock();
  if ("at" in option) return option.at;
  return new Date(clock().getTime() + option.offsetSeconds * 1000);
}
