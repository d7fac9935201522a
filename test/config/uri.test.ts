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
    ["spiffe://tést.example/ns/ü", "spiffe://xn--tst-bma.example/ns/%C3%BC"],
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

  it.each(["https://S.Test", "https://s.test:443/a/../b?x=%zz#", "spiffe://example.test/ns/default", "https://a.test/%E2%82%AC", "HTTPS://s.test/a%20b"])(
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

  it("an invalid IDN host is a located error; the encoded and the Unicode form of one URI are duplicates", () => {
    const yaml = (names: string) => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test, ${names}] }\n`;
    expect(errorsOf(yaml('"https://a_ü.test/"'))).toEqual(['5:45 servers.web.altNames[1]: URI "https://a_ü.test/": "a_ü.test" is not a valid internationalized host name (IDNA)']);
    expect(errorsOf(yaml('"https://s.test/€", "https://s.test/%E2%82%AC"'))).toEqual(['5:65 servers.web.altNames[2]: duplicate alt name "https://s.test/%E2%82%AC"']);
    expect(errorsOf(yaml('"https://bücher.test/€"'))).toEqual([]);
  });
});
