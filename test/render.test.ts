import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/parse.js";
import { renderLaunchFiles } from "../src/render/launch.js";

// Rendered launch config is compared with committed golden files: update them on purpose
// (vitest -u) and review the diff.
describe("launch config rendering", () => {
  it("renders the same files for the same config", async () => {
    const { config, diagnostics } = parseConfig(
      `version: 1
output: /srv/pki
cas:
  root: {}
  intermediate: { issuer: root }
servers:
  secret-server:
    issuer: intermediate
    altNames: [my-site.com, localhost, 127.0.0.1]
    serve: { host: localhost, port: 5683, app: "server:app", clientAuth: required }
  plain:
    issuer: intermediate
    altNames: ["::1"]
    serve: { host: "::1", port: 8443 }
clients:
  alice: { issuer: intermediate, altNames: [alice@squirrels.test] }
`,
      "/srv/pki.yaml",
      { cwd: "/srv" },
    );
    expect(diagnostics).toEqual([]);
    const files = renderLaunchFiles(config!, (name) => `<certificate of ${name}>\n`);
    for (const file of files) {
      const relative = path.relative("/srv/pki/launch", file.path);
      await expect(file.content.toString()).toMatchFileSnapshot(path.join("golden/launch", relative));
    }
    expect(files.map((f) => path.relative("/srv/pki/launch", f.path))).toEqual([
      "plain/uwsgi.ini", "plain/server.env", "plain/client.env", "plain/client.curlrc", "plain/nginx.conf", "plain/launch.json",
      "secret-server/uwsgi.ini", "secret-server/server.env", "secret-server/client.env", "secret-server/client.curlrc",
      "secret-server/nginx.conf", "secret-server/launch.json", "secret-server/client-ca.pem",
    ]);
  });
});
