import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { caddyString } from "../../src/render/caddyfile.js";
import { Unrepresentable } from "../../src/render/escape.js";
import { renderLaunchFiles } from "../../src/render/launch.js";
import { requireTool } from "../helpers/require-tool.js";
import { execaLogged } from "../helpers/spawn.js";

const yaml = (output: string, acme = true) => `version: 1
output: ${JSON.stringify(output)}
cas:
  root: { nameConstraints: { permitted: [.test, 127.0.0.0/8] } }
  intermediate: { issuer: root }
servers:
  web:
    issuer: intermediate
    altNames: [web.squirrels.test, other.test, 127.0.0.1]
    serve: { host: 127.0.0.1, port: 8443 }
${acme ? `acme:
  ca: intermediate
  listen: 127.0.0.1:14000
  allow: [.squirrels.test, 127.0.0.1]
  httpPort: 8080
  tlsPort: 8443
` : ""}`;

function caddyfileOf(text: string): string | undefined {
  const { config, diagnostics } = parseConfig(text, "/srv/pki.yaml", { cwd: "/srv" });
  expect(diagnostics).toEqual([]);
  return renderLaunchFiles(config!, () => "").find((f) => path.basename(f.path) === "Caddyfile")?.content.toString();
}

describe("the launch config's Caddyfile (servers under an acme: block)", () => {
  it("renders a Caddyfile that gets its certificate from provision acme (golden)", async () => {
    const text = caddyfileOf(yaml("/srv/pki"))!;
    await expect(text).toMatchFileSnapshot("../golden/launch/acme/Caddyfile");
    // Only the names the endpoint issues for: other.test is outside acme.allow.
    expect(text).toContain("web.squirrels.test:8443, 127.0.0.1:8443 {");
    expect(text).not.toContain("other.test");
  });

  it("is rendered only when pki.yaml has an acme: block", () => {
    expect(caddyfileOf(yaml("/srv/pki", false))).toBeUndefined();
  });

  it("is read by caddy adapt as an ACME issuer at the endpoint, trusting ca-bundle.pem", async () => {
    requireTool("caddy", "caddy");
    const dir = mkdtempSync(path.join(tmpdir(), "provision-caddy-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, "Caddyfile"), caddyfileOf(yaml("/srv/pki"))!);
    const adapted = await execaLogged("caddy", ["adapt", "--adapter", "caddyfile", "--config", path.join(dir, "Caddyfile")], { env: { HOME: dir } });
    const json = JSON.parse(adapted.stdout) as { apps: { tls: { automation: { policies: { issuers: { module: string; ca: string; trusted_roots_pem_files: string[] }[] }[] } } } };
    const issuers = json.apps.tls.automation.policies.flatMap((p) => p.issuers);
    expect(issuers).toContainEqual(expect.objectContaining({ module: "acme", ca: "https://127.0.0.1:14000/directory", trusted_roots_pem_files: ["/srv/pki/ca-bundle.pem"] }));
  });

  it("says it is unusable rather than write a path Caddy would read as a placeholder", () => {
    expect(caddyfileOf(yaml("/srv/{$HOME}/pki"))).toContain("This Caddyfile is not usable");
    expect(() => caddyString('a"b')).toThrow(Unrepresentable);
    expect(caddyString("/srv/pki dir/ca-bundle.pem")).toBe('"/srv/pki dir/ca-bundle.pem"');
  });
});
