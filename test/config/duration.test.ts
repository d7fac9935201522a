// Durations as pki.yaml writes them and plans print them (src/config/duration.ts); more cases in edges.test.ts.
import { describe, expect, it } from "vitest";
import { durationProblem, formatApproxDuration, formatDuration, parseDuration, parseRenewBefore } from "../../src/config/duration.js";

const DAY = 86_400;

describe("durations", () => {
  it("surrounding spaces are ignored everywhere", () => {
    expect(parseDuration(" 12h ")).toBe(12 * 3600);
    expect(durationProblem(" 90d ")).toBeUndefined();
    expect(durationProblem(" 1001y ")).toMatch(/^duration 1001y is longer/);
    expect(parseRenewBefore(" 1/3 ")).toEqual({ kind: "fraction", value: 1 / 3, text: " 1/3 " });
  });

  it.each([
    [365 * DAY, "1y"], [730 * DAY, "2y"], [14 * DAY, "2w"], [8 * DAY, "8d"], [366 * DAY, "366d"], [DAY, "1d"],
    [7200, "2h"], [5400, "90m"], [120, "2m"], [90, "2m"], [29, "1m"], [0, "1m"],
  ])("formatDuration(%i) is %s: the largest unit that divides it", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    [1.4 * DAY, "1d"], [1.6 * DAY, "2d"], [7 * DAY, "1w"], [DAY, "1d"], [DAY - 1, "24h"], [3600, "1h"], [3599, "60m"], [30, "1m"], [200, "3m"],
  ])("formatApproxDuration(%i) is %s", (seconds, text) => {
    expect(formatApproxDuration(seconds)).toBe(text);
  });

  it.each([
    ["1/3", { kind: "fraction", value: 1 / 3, text: "1/3" }],
    ["10/30", { kind: "fraction", value: 1 / 3, text: "10/30" }],
    ["30d", { kind: "duration", seconds: 30 * DAY, text: "30d" }],
    ["x1/3", undefined], ["1/3x", undefined], ["1a/3", undefined], ["1/3a", undefined], ["0/3", undefined], ["3/3", undefined], ["4/3", undefined], ["bogus", undefined],
  ])("renewBefore %s", (text, parsed) => {
    expect(parseRenewBefore(text)).toEqual(parsed);
  });
});
