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

  it("an invalid IDN host is a located error; the encoded and the Unicode form of one URI are duplicates", () => {
    const yaml = (names: string) => `version: 1\ncas:\n  root: {}\nservers:\n  web: { issuer: root, altNames: [web.test, ${names}] }\n`;
    expect(errorsOf(yaml('"https://a_ü.test/"'))).toEqual(['5:45 servers.web.altNames[1]: URI "https://a_ü.test/": "a_ü.test" is not a valid internationalized host name (IDNA)']);
    expect(errorsOf(yaml('"https://s.test/€", "https://s.test/%E2%82%AC"'))).toEqual(['5:65 servers.web.altNames[2]: duplicate alt name "https://s.test/%E2%82%AC"']);
    expect(errorsOf(yaml('"https://bücher.test/€"'))).toEqual([]);
  });
});
