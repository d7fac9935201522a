import { describe, expect, it } from "vitest";
import { ipWithin, maskPrefix, networkOf, prefixMask } from "../../src/config/cidr.js";

describe("CIDR arithmetic (config/cidr.ts)", () => {
  it.each([
    [4, 0, "00000000"],
    [4, 8, "ff000000"],
    [4, 12, "fff00000"],
    [4, 32, "ffffffff"],
    [16, 128, "ff".repeat(16)],
    [16, 65, `${"ff".repeat(8)}80${"00".repeat(7)}`],
  ])("a %i-byte mask of /%i is %s, and back", (length, prefix, hex) => {
    expect(prefixMask(length, prefix).toString("hex")).toBe(hex);
    expect(maskPrefix(Buffer.from(hex, "hex"))).toBe(prefix);
  });

  it.each([
    ["10.1.2.3", 8, "10.0.0.0"],
    ["192.168.77.5", 20, "192.168.64.0"],
    ["127.0.0.1", 32, "127.0.0.1"],
    ["2001:db8:abcd::1", 32, "2001:db8::"],
    ["::1", 128, "::1"],
  ])("network of %s/%i is %s", (address, prefix, network) => {
    expect(networkOf(address, prefix)).toBe(network);
  });

  it.each([
    ["127.0.0.1", "127.0.0.0", 8, true],
    ["128.0.0.1", "127.0.0.0", 8, false],
    ["192.168.79.255", "192.168.64.0", 20, true],
    ["192.168.80.0", "192.168.64.0", 20, false],
    ["::1", "::1", 128, true],
    ["::2", "::1", 128, false],
    ["127.0.0.1", "::", 0, false],
    ["10.0.0.1", "0.0.0.0", 0, true],
  ] as const)("%s within %s/%i: %s", (address, network, prefix, inside) => {
    expect(ipWithin(address, network, prefix)).toBe(inside);
  });
});
