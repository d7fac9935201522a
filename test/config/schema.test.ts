// The zod schemas' own logic (src/config/schema.ts, serve-schema.ts, serve.ts, json-schema.ts), in process: the
// refinements' messages at their lines, serve's host/app grammar and launch clients, and the JSON Schema for
// editors (the committed pki.schema.json must be what the schema generates; test/cli/ecosystem.test.ts checks
// the same through the package, out of the mutation run's reach).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pkiJsonSchema } from "../../src/config/json-schema.js";
import { parseConfig } from "../../src/config/parse.js";
import { checkServeApp, checkServeHost, launchClients } from "../../src/config/serve.js";
import type { IdentitySpec } from "../../src/config/types.js";

const errors = (text: string) => parseConfig(text, "pki.yaml").diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);

describe("refinements of schema.ts", () => {
  it("key types: RSA below 2048 bits by name, else the closest type or the list", () => {
    expect(errors("version: 1\ncas:\n  a: { key: rsa-1024 }\n  b: { key: rsa-2047 }\n  c: { key: rsa-8192 }\n  d: { key: ecdsa-p385 }\n  e: { key: 5 }\n  f: { key: rsa-2048 }\n  g: { key: rsa-4096 }\n")).toEqual([
      "3:13 RSA keys below 2048 bits are refused (rsa-1024); use rsa-2048 or larger, or ecdsa-p256",
      "4:13 RSA keys below 2048 bits are refused (rsa-2047); use rsa-2048 or larger, or ecdsa-p256",
      '5:13 unknown key type "rsa-8192"; expected one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096',
      '6:13 unknown key type "ecdsa-p385"; did you mean ecdsa-p384?',
      "7:13 expected a key type: ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-3072 | rsa-4096, got a number (5)",
    ]);
    expect(errors("version: 1\ncas:\n  a: { key: xrsa-1024 }\n  b: { key: rsa-1024x }\n")).toEqual([
      '3:13 unknown key type "xrsa-1024"; expected one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096',
      '4:13 unknown key type "rsa-1024x"; did you mean rsa-2048?',
    ]);
  });

  it("durations and renewBefore: the malformed value named", () => {
    expect(errors("version: 1\ncas:\n  a: { validity: 0d }\n  b: { validity: 5 }\n  c: { renewBefore: 1/1 }\n  d: { renewBefore: 5 }\n  e: { crlRefreshBefore: 2/2 }\n")).toEqual([
      '3:18 malformed duration "0d": expected a duration such as 30m, 12h, 90d, 4w or 2y',
      "4:18 expected a duration such as 30m, 12h, 90d, 4w or 2y, got a number (5)",
      '5:21 malformed renewBefore "1/1": expected a duration such as 30d or a fraction below 1 such as 1/3',
      "6:21 expected a duration such as 30d or a fraction of the lifetime such as 1/3, got a number (5)",
      '7:26 malformed renewBefore "2/2": expected a duration such as 30d or a fraction below 1 such as 1/3',
    ]);
    expect(errors("version: 1\ncas:\n  a: { validity: 2y, renewBefore: 1/2, crlValidity: 1d, crlRefreshBefore: 12h }\n")).toEqual([]);
  });

  it("output may not hold a NUL character", () => {
    expect(errors('version: 1\noutput: "a\\0b"\ncas:\n  a: {}\n')).toEqual(["2:9 the output path contains a NUL character"]);
  });
});

describe("serve (serve.ts, serve-schema.ts)", () => {
  it.each([
    ["localhost", null],
    ["web.test", null],
    ["127.0.0.1", null],
    ["::1", null],
    ["[::1]", "write the IPv6 address without brackets: ::1"],
    ["[127.0.0.1]", 'expected a host name, an IPv4/IPv6 address or localhost: "[127.0.0.1]" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    ["[::1", 'expected a host name, an IPv4/IPv6 address or localhost: "[::1" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    ["1.2.3", '"1.2.3" is not a valid IP address'],
    // Digits and dots with a letter at the end are a host name (its last label is not numeric), not a bad IPv4.
    ["1.2.3.4x", null],
    // Hex digits around a colon, more than one on each side: a bad IPv6, not a host name with a colon.
    ["ab:cd", '"ab:cd" is not a valid IP address'],
    // A closing bracket without the opening one is no bracketed IPv6.
    ["1::1]", 'expected a host name, an IPv4/IPv6 address or localhost: "1::1]" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    ["::g", 'expected a host name, an IPv4/IPv6 address or localhost: "::g" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    ["1::2::3", '"1::2::3" is not a valid IP address'],
    ["a:b", '"a:b" is not a valid IP address'],
    ["-x.test", 'expected a host name, an IPv4/IPv6 address or localhost: "-x.test" is not a valid DNS name (letters, digits and inner hyphens only, dot-separated)'],
    ["*.test", 'expected a host name, an IPv4/IPv6 address or localhost: "*.test": a wildcard is not allowed here'],
    ["*", 'expected a host name, an IPv4/IPv6 address or localhost: "*": a wildcard is not allowed here'],
  ])("host %j", (host, message) => {
    expect(checkServeHost(host)).toBe(message);
  });

  it.each([
    ["server:app", null],
    ["my_pkg.wsgi:application", null],
    ["_a._b:_c9", null],
    ["server", "no colon"],
    ["server:", "no callable"],
    [":app", "no module"],
    ["my-pkg:app", "a hyphen"],
    ["a..b:app", "an empty module part"],
    ["server:app.x", "a dotted callable"],
    ["9s:app", "a digit first"],
    ["server:9app", "a digit first in the callable"],
    ["a:b:c", "two colons"],
  ])("app %j (%s)", (app, why) => {
    const message = checkServeApp(app);
    if (why === null) expect(message).toBeNull();
    else expect(message).toBe(`${JSON.stringify(app)} is not a WSGI app reference: expected module:callable with Python identifiers, e.g. server:app or mypkg.wsgi:application`);
  });

  it("through pki.yaml: at the field's line, ports 1-65535", () => {
    expect(errors("version: 1\ncas:\n  root: {}\nservers:\n  w: { issuer: root, altNames: [a.test], serve: { host: \"[::1]\", app: x, port: 0 } }\n  v: { issuer: root, altNames: [a.test], serve: { port: 65536 } }\n  u: { issuer: root, altNames: [a.test], serve: { port: 65535, host: ::1 } }\n  t: { issuer: root, altNames: [a.test], serve: { port: 1 } }\n")).toEqual([
      "5:57 write the IPv6 address without brackets: ::1",
      '5:71 "x" is not a WSGI app reference: expected module:callable with Python identifiers, e.g. server:app or mypkg.wsgi:application',
      "5:80 expected a port number (1-65535)",
      "6:57 expected a port number (1-65535)",
    ]);
  });

  const id = (name: string, kind: IdentitySpec["kind"], issuer: string | null, revoked = false) => ({ name, kind, issuer, revoked: revoked ? { reason: "unspecified" } : null }) as IdentitySpec;
  const ids = [id("root", "ca", null), id("other", "ca", null), id("web", "server", "root"), id("bob", "client", "root", true), id("amy", "client", "other"), id("cat", "client", "root")];

  it.each([
    [{ clientAuth: "none", clientCa: "root", client: "bob" }, { clientCas: [], client: null }],
    [{ clientAuth: "required", clientCa: null, client: null }, { clientCas: ["root", "other"], client: "amy" }],
    [{ clientAuth: "optional", clientCa: "root", client: null }, { clientCas: ["root"], client: "cat" }],
    [{ clientAuth: "required", clientCa: "root", client: "bob" }, { clientCas: ["root"], client: "bob" }],
    [{ clientAuth: "required", clientCa: "web", client: null }, { clientCas: ["web"], client: null }],
  ] as const)("launchClients %j", (serve, expected) => {
    expect(launchClients(ids, serve)).toEqual(expected);
  });
});

describe("the JSON Schema for editors", () => {
  it("is the committed pki.schema.json, ending in a newline, titled and identified", () => {
    const text = pkiJsonSchema();
    expect(text).toBe(readFileSync(new URL("../../pki.schema.json", import.meta.url), "utf8"));
    expect(text.endsWith("}\n")).toBe(true);
    const schema = JSON.parse(text);
    expect([schema.title, schema.$id]).toEqual(["provision pki.yaml", "https://provision.dev/pki.schema.json"]);
    expect(schema.properties.cas.additionalProperties.properties.key.enum).toEqual(["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"]);
    expect(schema.required).toEqual(["version"]);
  });
});
