const UNIT_SECONDS = { m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 } as const;

export const DURATION_HINT = "a duration such as 30m, 12h, 90d, 4w or 2y";

/** Parses `<n>m | <n>h | <n>d | <n>w | <n>y` into seconds (m: minutes; a year is 365 days). Returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,5})(m|h|d|w|y)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
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
