const UNIT_SECONDS = { m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 } as const;

export const DURATION_HINT = "a duration such as 30m, 12h, 90d, 4w or 2y";

/**
 * The longest duration provision accepts. X.509 cannot express a time after 9999-12-31T23:59:59Z
 * (RFC 5280 §4.1.2.5.2), and --now goes up to the end of 8999 (cli/now.ts), so 1000 years of 365 days
 * from any allowed "now" still ends inside year 9999.
 */
export const MAX_DURATION_SECONDS = 1000 * UNIT_SECONDS.y;
export const MAX_DURATION_TEXT = "1000y";

const DURATION = /^([1-9][0-9]{0,5})(m|h|d|w|y)$/;

/** Parses `<n>m | <n>h | <n>d | <n>w | <n>y` into seconds (m: minutes; a year is 365 days). Undefined when malformed or over 1000y. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return seconds <= MAX_DURATION_SECONDS ? seconds : undefined;
}

/** Why a duration is refused (malformed, or longer than 1000y), or undefined when it is fine. */
export function durationProblem(text: string): string | undefined {
  if (!DURATION.test(text.trim())) return `malformed duration "${text}": expected ${DURATION_HINT}`;
  if (parseDuration(text) === undefined) {
    return `duration ${text.trim()} is longer than ${MAX_DURATION_TEXT}, the longest provision accepts (a certificate cannot end after the year 9999)`;
  }
  return undefined;
}

/** Formats seconds in the largest unit that divides them exactly, for plan reasons. */
export function formatDuration(seconds: number): string {
  for (const unit of ["y", "w", "d", "h", "m"] as const) {
    const size = UNIT_SECONDS[unit];
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.max(1, Math.round(seconds / 60))}m`;
}

/** Formats seconds for people when exactness does not matter: whole days from a day up, hours from an hour, else minutes. */
export function formatApproxDuration(seconds: number): string {
  if (seconds >= 86_400) return formatDuration(Math.round(seconds / 86_400) * 86_400);
  return seconds >= 3600 ? `${Math.round(seconds / 3600)}h` : `${Math.max(1, Math.round(seconds / 60))}m`;
}

/** Renewal window: a fixed duration before notAfter, or a fraction of the certificate's lifetime. */
export type RenewBefore = { kind: "duration"; seconds: number; text: string } | { kind: "fraction"; value: number; text: string };

export function parseRenewBefore(text: string): RenewBefore | undefined {
  const fraction = /^([1-9][0-9]?)\/([1-9][0-9]?)$/.exec(text.trim());
  if (fraction) {
    const value = Number(fraction[1]) / Number(fraction[2]);
    return value > 0 && value < 1 ? { kind: "fraction", value, text } : undefined;
  }
  const seconds = parseDuration(text);
  return seconds === undefined ? undefined : { kind: "duration", seconds, text };
}

/** Seconds before notAfter at which a certificate of the given lifetime is due for renewal. */
export function renewalWindowSeconds(renewBefore: RenewBefore, lifetimeSeconds: number): number {
  return renewBefore.kind === "duration" ? renewBefore.seconds : Math.floor(lifetimeSeconds * renewBefore.value);
}

/** notBefore is set this far before "now" so clients with a slightly slow clock accept a new certificate. */
export const CLOCK_SKEW_SECONDS = 300;
