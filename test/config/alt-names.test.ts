// How altNames entries are classified and checked (src/config/alt-names.ts), table by table: the fast
// checks the mutation run leans on (docs/MUTATION.md). openssl and GnuTLS read the same names in the e2e tests.
import { describe, expect, it } from "vitest";
import { altNameKey, bytesToIp, checkDnsName, classifyAltName, ipToBytes } from "../../src/config/alt-names.js";

describe("checkDnsName", () => {
  it.each([
    ["Web.TEST", "web.test"],
    ["web.test.", "web.test"],
    ["*.test", "*.test"],
    ["bücher.test", "xn--bcher-kva.test"],
    [`${"a".repeat(63)}.test`, `${"a".repeat(63)}.test`],
    [`${"a.".repeat(124)}abcde`, `${"a.".repeat(124)}abcde`], // 253 characters
  ])("%s → %s", (input, value) => {
    expect(checkDnsName(input)).toEqual({ ok: true, value });
  });

  it.each([
    ["*", `"*" alone is not a valid name; use a wildcard such as *.example.test`],
    ["*.", `wildcard "*." needs at least one label after "*."`],
    ["a.*.test", `"a.*.test": a wildcard must be the whole leftmost label, as in *.example.test`],
    ["f*o.test", `"f*o.test": a wildcard must be the whole leftmost label, as in *.example.test`],
    ["a..test", `"a..test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)`],
    ["xn--ü.test", `"xn--ü.test" is not a valid DNS name`],
    [`${"a".repeat(64)}.test`, `DNS label "${"a".repeat(20)}…" is 64 characters long; the limit is 63`],
    [`${"a.".repeat(124)}abcdef`, "DNS name is 254 characters long; the limit is 253"],
  ])("%s is refused", (input, message) => {
    expect(checkDnsName(input)).toEqual({ ok: false, message });
  });

  it("a wildcard only where allowed", () => {
    expect(checkDnsName("*.test", { allowWildcard: false }).ok).toBe(false);
  });
});

describe("classifyAltName", () => {
  it.each([
    [" web.test ", "dns", "web.test"],
    ["a.1", "dns", "a.1"],
    ["1a.test", "dns", "1a.test"],
    ["bob@Example.TEST", "email", "bob@example.test"],
    ["o'hara+tag@x.test", "email", "o'hara+tag@x.test"],
    ["https://a.test/x", "uri", "https://a.test/x"],
    ["spiffe://example.test/ns/a", "uri", "spiffe://example.test/ns/a"],
    ["10.0.0.1", "ip", "10.0.0.1"],
    ["0:0::1", "ip", "::1"],
    ["::", "ip", "::"],
    ["1::", "ip", "1::"],
    ["::ffff:10.20.30.40", "ip", "::ffff:a14:1e28"],
    ["1:2:3:4:5:6:10.20.30.40", "ip", "1:2:3:4:5:6:a14:1e28"],
    // RFC 5952: the longest run of zero groups is compressed, the first of two equal runs, never a single zero.
    ["1:0:0:1:0:0:0:1", "ip", "1:0:0:1::1"],
    ["1:0:0:0:1:0:0:1", "ip", "1::1:0:0:1"],
    ["1:0:0:1:0:0:1:1", "ip", "1::1:0:0:1:1"],
    ["1:0:2:3:4:5:6:7", "ip", "1:0:2:3:4:5:6:7"],
    ["1:2:3:4:5:6:7:0", "ip", "1:2:3:4:5:6:7:0"],
    ["FD12:0000:0000:0000:0000:0000:0000:0001", "ip", "fd12::1"],
  ])("%s is %s %s", (input, type, value) => {
    expect(classifyAltName(input)).toEqual({ ok: true, name: { type, value } });
  });

  it.each([
    ["", "empty alt name"],
    ["   ", "empty alt name"],
    ["1.2.3", `"1.2.3" is not a valid IP address`],
    ["1http://a.test", `"1http://a.test" is not a valid IP address`],
    ["a:b", `"a:b" is not a valid IP address`],
    ["https://", `"https://" is not a valid URI`],
    ["foo://", `URI "foo://" has no host`],
    ["file:///etc/x", `URI "file:///etc/x" has no host`],
    ["a b@x.test", `"a b@x.test" is not a valid email address`],
    [".a@x.test", `".a@x.test" is not a valid email address`],
    ["a.@x.test", `"a.@x.test" is not a valid email address`],
    [`${"a".repeat(65)}@x.test`, `"${"a".repeat(65)}@x.test" is not a valid email address`],
    ["a@*.test", `"a@*.test" is not a valid email address: "*.test": a wildcard is not allowed here`],
    ["a@-x.test", `"a@-x.test" is not a valid email address: "-x.test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)`],
  ])("%j is refused", (input, message) => {
    expect(classifyAltName(input)).toEqual({ ok: false, message });
  });
});

describe("IP bytes", () => {
  it("round-trips the 4 and 16 bytes of iPAddress names", () => {
    expect([...ipToBytes("10.20.30.40")]).toEqual([10, 20, 30, 40]);
    expect(ipToBytes("::ffff:1.2.3.4").toString("hex")).toBe("00000000000000000000ffff01020304");
    expect(ipToBytes("1::").toString("hex")).toBe("00010000000000000000000000000000");
    expect(bytesToIp(Buffer.from("00000000000000000000000000000001", "hex"))).toBe("::1");
    expect(bytesToIp(Buffer.from([127, 0, 0, 1]))).toBe("127.0.0.1");
  });

  it("altNameKey is type:value", () => {
    expect(altNameKey({ type: "uri", value: "spiffe://a/b" })).toBe("uri:spiffe://a/b");
  });
});
