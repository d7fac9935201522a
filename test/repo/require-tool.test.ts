import { describe, expect, it } from "vitest";
import { requireTool } from "../helpers/require-tool.js";

describe("requireTool: a missing tool fails the test by name, with the install line", () => {
  it("names the tool and the Debian package", () => {
    expect(() => requireTool("chromium-that-is-not-installed", "chromium")).toThrow(
      /^chromium-that-is-not-installed is not installed \(not found on PATH\); this test needs it: install it with: apt-get install chromium {3}\(or run: sudo bash \.ci\/run/,
    );
  });
  it("passes for a tool on PATH", () => {
    expect(() => requireTool("node", "nodejs")).not.toThrow();
  });
});
