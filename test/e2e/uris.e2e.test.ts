// Non-ASCII URIs end-to-end: the certificate carries the RFC 3986 form, real verifiers accept it, and a re-run
// sees no change. The unit cases (which characters, which hosts) are in test/config/uri.test.ts.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { project, provision } from "../helpers/cli.js";
import { snapshotTree } from "../helpers/files.js";
import { certText } from "../helpers/openssl.js";
import { requireTool } from "../helpers/require-tool.js";
import { certtoolVerify, opensslChain } from "../helpers/verifiers.js";

const YAML = (uris: string) => `version: 1
cas:
  root: { nameConstraints: { permitted: [.test] } }
servers:
  web:
    issuer: root
    altNames: [web.test, ${uris}]
`;

describe("non-ASCII URIs in altNames", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("certtool", "gnutls-bin"); });

  // The root permits only .test: openssl and GnuTLS match URIs against URI subtrees alone, so the
  // bücher.example URI is no violation (README: DNS name constraints do not cover URIs).
  it("are written percent-encoded with an A-label host; openssl and GnuTLS verify the chain; a re-run writes nothing", async () => {
    const p = project(YAML(`"https://s.test/€uro", "spiffe://bücher.example/ns/ä", "https://S.test/Keep%20As/Is"`));
    const first = await provision([], { cwd: p.dir });
    expect(first.code, first.stderr).toBe(0);
    const leaf = path.join(p.out, "servers/web/cert.pem");
    const text = await certText(leaf);
    expect(text).toContain("URI:https://s.test/%E2%82%ACuro, URI:spiffe://xn--bcher-kva.example/ns/%C3%A4, URI:https://S.test/Keep%20As/Is");
    expect(new X509Certificate(readFileSync(leaf)).subjectAltName).toBe(
      "DNS:web.test, URI:https://s.test/%E2%82%ACuro, URI:spiffe://xn--bcher-kva.example/ns/%C3%A4, URI:https://S.test/Keep%20As/Is",
    );
    const bundle = path.join(p.out, "ca-bundle.pem");
    const strict = await opensslChain(bundle, bundle, leaf, ["-purpose", "sslserver", "-verify_hostname", "web.test"]);
    expect(strict.ok, strict.output).toBe(true);
    const gnutls = await certtoolVerify(bundle, path.join(p.out, "servers/web/fullchain.pem"));
    expect(gnutls.ok, gnutls.output).toBe(true);

    const before = snapshotTree(p.out);
    const again = await provision(["plan", "--json"], { cwd: p.dir });
    expect(again.code, again.stdout).toBe(0);
    expect((await provision([], { cwd: p.dir })).code).toBe(0);
    expect(snapshotTree(p.out)).toEqual(before);
  });

  it("an invalid IDN host or a control character is a located error and nothing is written", async () => {
    const p = project(YAML(`"https://a_ü.test/", "https://s.test/\\u0085"`));
    const run = await provision([], { cwd: p.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pki\.yaml:7:26 servers\.web\.altNames\[1\]: URI "https:\/\/a_ü\.test\/": "a_ü\.test" is not a valid internationalized host name \(IDNA\)$/m);
    expect(run.stderr).toMatch(/^pki\.yaml:7:47 servers\.web\.altNames\[2\]: URI "https:\/\/s\.test\/<U\+0085>" contains U\+0085, which an IRI may not \(RFC 3987 §2\.2\)$/m);
    expect(snapshotTree(p.out)).toEqual({});
  });
});
