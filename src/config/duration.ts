const UNIT_SECONDS = { h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 } as const;

export const DURATION_HINT = "a duration such as 12h, 90d, 4w or 2y";

/** Parses `<n>h | <n>d | <n>w | <n>y` into seconds; a year is 365 days. Returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,5})(h|d|w|y)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** Formats seconds in the largest unit that divides them exactly, for plan reasons. */
export function formatDuration(seconds: number): string {
  for (const unit of ["y", "w", "d", "h"] as const) {
    const size = UNIT_SECONDS[unit];
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.round(seconds / 3600)}h`;
}

/** Formats seconds for people when exactness does not matter: whole days from a day up, else hours. */
export function formatApproxDuration(seconds: number): string {
  return seconds >= 86_400 ? formatDuration(Math.round(seconds / 86_400) * 86_400) : `${Math.max(1, Math.round(seconds / 3600))}h`;
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
