// Which client a server's launch config presents (config/serve.ts launchClients), and what pki.yaml says when
// revocation leaves it pointing at removed files: an error for a revoked serve.client, a warning when every
// client the server accepts is revoked. The served refusal itself is in test/serve/front.e2e.test.ts.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { launchFacts } from "../../src/render/launch-facts.js";

const yaml = ({ serve, alice = "", carol = false }: { serve: string; alice?: string; carol?: boolean }) => `version: 1
cas:
  root: {}
  team: { issuer: root }
  other: { issuer: root }
servers:
  web:
    issuer: root
    altNames: [localhost]
    serve: { port: 8443, ${serve} }
clients:
  alice: { issuer: team, altNames: [alice@x.test]${alice} }
  bob: { issuer: other, altNames: [bob@x.test] }
${carol ? "  carol: { issuer: team, altNames: [carol@x.test] }\n" : ""}`;

const diagnosticsOf = (text: string) => parseConfig(text, "pki.yaml").diagnostics.map((d) => `${d.severity} ${d.line}:${d.col} ${d.path}: ${d.message}`);
const clientOf = (text: string) => launchFacts(parseConfig(text, "pki.yaml").config!, "web").client;

describe("a server's launch client and revocation", () => {
  it("a revoked serve.client is an error at its line; the same client not revoked is presented", () => {
    expect(diagnosticsOf(yaml({ serve: "clientAuth: required, client: alice", alice: ", revoked: true" }))).toEqual([
      'error 10:56 servers.web.serve.client: client "alice" is revoked; name another client',
    ]);
    const fine = yaml({ serve: "clientAuth: required, client: alice" });
    expect(diagnosticsOf(fine)).toEqual([]);
    expect(clientOf(fine)).toBe("alice");
  });

  it("when every client the server accepts is revoked, a warning at serve.clientAuth, and the launch config presents none", () => {
    const text = yaml({ serve: "clientAuth: required, clientCa: team", alice: ", revoked: true" });
    expect(diagnosticsOf(text)).toEqual([
      "warning 10:38 servers.web.serve.clientAuth: every client web accepts is revoked (alice): its client config (client.env, client.curlrc, provision exec web) presents no certificate, and the server refuses it; add a client, or set serve.clientAuth",
    ]);
    expect(clientOf(text)).toBeNull();
  });

  it("its twins: another client of that CA is presented instead; clientAuth optional needs none; without clientCa, a client of another CA", () => {
    const withCarol = yaml({ serve: "clientAuth: required, clientCa: team", alice: ", revoked: true", carol: true });
    expect(diagnosticsOf(withCarol)).toEqual([]);
    expect(clientOf(withCarol)).toBe("carol");
    expect(diagnosticsOf(yaml({ serve: "clientAuth: optional, clientCa: team", alice: ", revoked: true" }))).toEqual([]);
    const anyCa = yaml({ serve: "clientAuth: required", alice: ", revoked: true" });
    expect(diagnosticsOf(anyCa)).toEqual([]);
    expect(clientOf(anyCa)).toBe("bob");
  });
});
