// IRIs in altNames become URIs (RFC 3987 §3.1 → RFC 3986, as RFC 5280 §4.2.1.6 and §7.4 ask); the e2e twin
// with openssl and GnuTLS is test/e2e/uris.e2e.test.ts.
import { describe, expect, it } from "vitest";
import { classifyAltName } from "../../src/config/alt-names.js";
import { parseConfig } from "../../src/config/parse.js";
import { iriToUri } from "../../src/config/uri.js";

const errorsOf = (yaml: string) => parseConfig(yaml, "pki.yaml").diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`);

describe("non-ASCII URIs are written in their RFC 3986 form", () => {
  it.each([
    ["https://s.test/€uro", "https://s.test/%E2%82%ACuro"],
    ["https://bücher.test:8443/ä?q=ü#f€", "https://xn--bcher-kva.test:8443/%C3%A4?q=%C3%BC#f%E2%82%AC"],
    ["https://BÜCHER.test/", "https://xn--bcher-kva.test/"],
    ["https://user:pä@bücher.test/", "https://user:p%C3%A4@xn--bcher-kva.test/"],
    ["spiffe://tést.example/ns/u", "spiffe://xn--tst-bma.example/ns/u"],
    ["https://[::1]/ü", "https://[::1]/%C3%BC"],
    ["https://s.test/😀", "https://s.test/%F0%9F%98%80"],
    // iprivate (U+E000…) is allowed in the query only.
    ["https://s.test/?\ue000", "https://s.test/?%EE%80%80"],
  ])("%s → %s", (iri, uri) => {
    expect(iriToUri(iri)).toEqual({ ok: true, value: uri });
    expect(classifyAltName(iri)).toEqual({ ok: true, name: { type: "uri", value: uri } });
    // Encoding the encoded form changes nothing: a re-run compares the same string.
    expect(iriToUri(uri)).toEqual({ ok: true, value: uri });
  });

  it.each(["https://S.Test", "https://s.test:443/a/../b?x=%2a#", "https://u:p@[::1]:8443/a;b=c/@:!$&'()*+,;=?q=/?#f/?", "spiffe://example.test/ns/default", "https://a.test/%E2%82%AC", "HTTPS://s.test/a%20b"])(
    "an ASCII URI is kept byte for byte: %s",
    (uri) => {
      expect(classifyAltName(uri)).toEqual({ ok: true, name: { type: "uri", value: uri } });
    },
  );

  it.each([
    ["https://a_ü.test/", /"a_ü\.test" is not a valid internationalized host name/],
    ["https://ü..test/", /is not a valid internationalized host name/],
    ["https://s.test/\u0085", /contains U\+0085, which an IRI may not/],
    ["https://s.test/\ud800", /contains U\+D800/],
    ["https://s.test/\ufdd0", /contains U\+FDD0/],
    ["https://s.test/\ue000", /contains U\+E000/],
    ["https://s.test/#\u{1fffe}", /contains U\+1FFFE/],
  ])("%s is refused", (iri, message) => {
    const result = classifyAltName(iri);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  // The edges of RFC 3987's ucschar (everywhere) and iprivate (query only), one code point either side.
  const at = (cp: number, where: "path" | "query") => iriToUri(`https://s.test/${where === "query" ? "?" : ""}${String.fromCodePoint(cp)}`).ok;
  it.each([
    [0xa0, 0x9f], [0xd7ff, 0xd800], [0xf900, 0xf8ff], [0xfdcf, 0xfdd0], [0xfdf0, 0xfdef], [0xffef, 0xfff0],
    [0x10000, 0xffff], [0x1fffd, 0x1fffe], [0x20000, 0x1ffff], [0xefffd, 0xefffe],
  ])("U+%s is allowed, U+%s is not", (yes, no) => {
    expect(at(yes, "path")).toBe(true);
    expect(at(no, "path")).toBe(false);
  });
  it.each([[0xe000, 0xdfff], [0xf8ff, 0xfffe], [0xf0000, 0xeffff], [0xffffd, 0xffffe], [0x100000, 0xfffff], [0x10fffd, 0x10fffe]])(
    "in the query, private use U+%s is allowed too, U+%s is not",
    (yes, no) => {
      expect(at(yes, "query")).toBe(true);
      expect(at(yes, "path")).toBe(false);
      expect(at(no, "query")).toBe(false);
    },
  );

  it("keeps ASCII text as written, even where it is no URI, and parses only what holds non-ASCII", () => {
    expect(iriToUri("relative/ref")).toEqual({ ok: true, value: "relative/ref" });
    expect(iriToUri("urn:ü")).toEqual({ ok: true, value: "urn:%C3%BC" });
    expect(iriToUri("/ü:x")).toEqual({ ok: false, message: `"/ü:x" is not a valid URI` });
    expect(iriToUri("https://*.ü.test/")).toEqual({ ok: false, message: `URI "https://*.ü.test/": "*.ü.test" is not a valid internationalized host name (IDNA)` });
    expect(iriToUri("https://xn--ü.test/")).toEqual({ ok: false, message: `URI "https://xn--ü.test/": "xn--ü.test" is not a valid internationalized host name (IDNA)` });
    expect(iriToUri("https://ü.test:8443/")).toEqual({ ok: true, value: "https://xn--tda.test:8443/" });
  });

  it("names a refused character by its code point and prints it that way", () => {
    expect(iriToUri("https://ü.test/a\u0085b")).toEqual({ ok: false, message: `URI "https://ü.test/a<U+0085>b" contains U+0085, which an IRI may not (RFC 3987 §2.2)` });
  });

  it("a non-ASCII SPIFFE path is refused: SPIFFE IDs hold no percent-encoding", () => {
    expect(classifyAltName("spiffe://tést.example/ns/ü")).toEqual({
      ok: false,
      message: `SPIFFE ID "spiffe://xn--tst-bma.example/ns/%C3%BC" has a path segment "%C3%BC" with characters other than letters, digits, ".", "-" and "_" (SPIFFE-ID §2.2: no percent-encoding either)`,
    });
  });

  it("an invalid IDN host is a located error; the encoded and the Unicode form of one URI are duplicates", () => {
    const yaml = (names: string) => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test, ${names}] }\n`;
    expect(errorsOf(yaml('"https://a_ü.test/"'))).toEqual(['5:45 servers.web.altNames[1]: URI "https://a_ü.test/": "a_ü.test" is not a valid internationalized host name (IDNA)']);
    expect(errorsOf(yaml('"https://s.test/€", "https://s.test/%E2%82%AC"'))).toEqual(['5:65 servers.web.altNames[2]: duplicate alt name "https://s.test/%E2%82%AC"']);
    expect(errorsOf(yaml('"https://bücher.test/€"'))).toEqual([]);
  });
});

// ASCII characters RFC 3986 does not allow are refused with the escape to write instead (not encoded: see
// checkUri). Go's crypto/x509 refuses a certificate holding some of them: test/e2e/uris.e2e.test.ts.
describe("ASCII URIs are checked against RFC 3986", () => {
  it.each([
    ["https://a.test/a b", 'has a space at character 17 (in the path), which RFC 3986 does not allow there; percent-encode it as %20'],
    ["https://a b.test/", "has a space at character 10 (in the host), which a host name may not hold"],
    ["https://a.test/a\tb", 'URI "https://a.test/a<U+0009>b" has the control character U+0009 at character 17 (in the path)'],
    ["https://a.test/\x7f", "the control character U+007F at character 16"],
    ["https://a.test/\x00", "the control character U+0000 at character 16"],
    ['https://a.test/"q"', '"\"" at character 16 (in the path), which RFC 3986 does not allow there; percent-encode it as %22'],
    ["https://a.test/<x>", "percent-encode it as %3C"],
    ["https://a.test/x>", "percent-encode it as %3E"],
    ["https://a.test/{x", "percent-encode it as %7B"],
    ["https://a.test/x}", "percent-encode it as %7D"],
    ["https://a.test/a|b", "percent-encode it as %7C"],
    ["https://a.test/a\\b", "percent-encode it as %5C"],
    ["https://a.test/a^b", "percent-encode it as %5E"],
    ["https://a.test/a`b", "percent-encode it as %60"],
    ["https://a.test/?q=[1]", '"[" at character 19 (in the query)'],
    ["https://a.test/x#y#z", '"#" at character 19 (in the fragment), which RFC 3986 does not allow there; percent-encode it as %23'],
    ["https://u@v@a.test/", '"@" at character 12 (in the host)'],
    ["https://u[@a.test/", '"[" at character 10 (in the userinfo)'],
    ["https://[::1/x", '"[" at character 9 (in the host)'],
    ["https://[::1]x/", 'a port that is not a number: "x" at character 14'],
    ["https://a.test:8x/", 'a port that is not a number: "x" at character 17 (in the port)'],
    ["https://a.test/%zz", 'has a "%" that starts no %XX escape at character 16 (in the path), which RFC 3986 §2.1 does not allow; write a literal "%" as %25'],
    ["https://a.test/%4", "starts no %XX escape at character 16"],
    ["https://a.test/?q=100%", "starts no %XX escape at character 22 (in the query)"],
    ["https://%zz@a.test/", "starts no %XX escape at character 9 (in the userinfo)"],
  ])("%s is refused", (uri, message) => {
    const result = classifyAltName(uri);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });

  it.each([
    "https://a.test/a%20b", "https://a.test/%7B%7D%5C%22%25", "https://a.test/?q=%5B1%5D", "https://a.test:8443/x", "https://a.test:/x",
    "https://[2001:db8::1]/x", "https://a.test/x#y?z/", "https://u:p%40@a.test/", "https://a.test/~_-.!$&'()*+,;=:@",
  ])("its twin %s is kept byte for byte", (uri) => {
    expect(classifyAltName(uri)).toEqual({ ok: true, name: { type: "uri", value: uri } });
  });

  it("an IRI is checked in its encoded form, and a refusal is a located error", () => {
    expect(classifyAltName("https://s.test/€ x")).toMatchObject({ ok: false, message: expect.stringContaining('URI "https://s.test/%E2%82%AC x" has a space at character 25') });
    const yaml = `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test, "https://web.test/a b"] }\n`;
    expect(errorsOf(yaml)).toEqual(['5:45 servers.web.altNames[1]: URI "https://web.test/a b" has a space at character 19 (in the path), which RFC 3986 does not allow there; percent-encode it as %20']);
  });
});

describe("a spiffe:// URI follows the SPIFFE ID rules", () => {
  it.each([
    ["spiffe:///ns/x", "names no trust domain: write spiffe://<trust domain>/<path>"],
    ["spiffe://", "names no trust domain"],
    ["SPIFFE://ex.test/a", 'must start with "spiffe://" in lowercase'],
    ["spiffe://EX.test/ns/x", "has an uppercase trust domain; write it in lowercase: spiffe://ex.test/ns/x"],
    ["spiffe://ex!.test/a", 'has a trust domain "ex!.test" with characters other than'],
    ["spiffe://ex%41.test/a", 'has a trust domain "ex%41.test"'],
    ["spiffe://u@ex.test/a", 'may not hold a user part ("u@")'],
    ["spiffe://ex.test:80/a", 'may not hold a port (":80")'],
    ["spiffe://ex.test:/a", 'may not hold a port (":")'],
    ["spiffe://ex.test", "has no path: a certificate's SPIFFE ID names a workload below its trust domain, such as spiffe://ex.test/ns/web (X509-SVID §3.1)"],
    ["spiffe://ex.test/", "has no path"],
    ["spiffe://ex.test/ns//x", 'has an empty path segment ("//" or a trailing "/")'],
    ["spiffe://ex.test/ns/x/", "has an empty path segment"],
    ["spiffe://ex.test/ns/./x", 'has a "." path segment'],
    ["spiffe://ex.test/ns/..", 'has a ".." path segment'],
    ["spiffe://ex.test/ns/x?q=1", 'may not hold a query ("?q=1")'],
    ["spiffe://ex.test/ns/x?", 'may not hold a query ("?")'],
    ["spiffe://ex.test/ns/x#f", 'may not hold a fragment ("#f")'],
    ["spiffe://ex.test/a%20b", 'has a path segment "a%20b"'],
    ["spiffe://ex.test/a:b", 'has a path segment "a:b"'],
    [`spiffe://ex.test/${"a".repeat(2049 - 17)}`, "is 2049 bytes long; the limit is 2048"],
  ])("%s is refused", (uri, message) => {
    const result = classifyAltName(uri);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });

  it.each(["spiffe://ex.test/a", "spiffe://ex-1.test_x/ns/default/sa/Web-1_x.y", "spiffe://ex.test/...", "spiffe://localhost/a", `spiffe://ex.test/${"a".repeat(2048 - 17)}`])(
    "its twin %s is accepted as written",
    (uri) => {
      expect(classifyAltName(uri)).toEqual({ ok: true, name: { type: "uri", value: uri } });
    },
  );

  it("a SPIFFE ID may not share a certificate with another URI (X509-SVID §2); one message, at the second URI", () => {
    const yaml = (names: string) => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test, ${names}] }\n`;
    expect(errorsOf(yaml('"https://web.test/", "spiffe://web.test/w", "https://web.test/2"'))).toEqual([
      '5:66 servers.web.altNames[2]: "spiffe://web.test/w" is a SPIFFE ID, and a certificate with one must hold no other URI ("https://web.test/"): SPIFFE validators refuse it (X509-SVID §2)',
    ]);
    expect(errorsOf(yaml('"spiffe://web.test/w"'))).toEqual([]);
    expect(errorsOf(yaml('"https://web.test/", "https://web.test/2"'))).toEqual([]);
  });
});
