import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { reparseChanged, type Remembered } from "../../src/config/incremental.js";
import { project, provisionBin } from "../helpers/cli.js";
import { certText, verifyLeaf } from "../helpers/openssl.js";

// A double-quoted YAML string can spell half of a UTF-16 surrogate pair ("\ud800"); no certificate, file name
// or message can hold it (it has no UTF-8 form). It used to reach the DER encoder and end as "This is a bug".
const yaml = (commonName: string, serverName = "web", alt = '"web.test"') => `version: 1
defaults: { key: ecdsa-p256 }
cas:
  root: { commonName: "${commonName}" }
servers:
  ${serverName}: { issuer: root, altNames: [${alt}] }
`;

describe("a lone UTF-16 surrogate in pki.yaml", () => {
  it("is refused at its line and column, wherever it is (value, list item, key)", () => {
    for (const [text, line, col] of [
      [yaml("r\\ud800x"), 4, 23],
      [yaml("root", "web", '"w\\udfffb.test"'), 6, 35],
      [yaml("root", '"w\\udc00"'), 6, 3],
    ] as const) {
      const { config, diagnostics } = parseConfig(text, "pki.yaml", { cwd: "/p" });
      expect(config).toBeUndefined();
      expect(diagnostics).toHaveLength(1);
      expect(diagnostics[0]).toMatchObject({ severity: "error", line, col });
      expect(diagnostics[0]!.message).toMatch(/\\ud[89a-f][0-9a-f]{2}, half of a UTF-16 surrogate pair/);
    }
  });

  it("is not a valid pair: an emoji spelled as its two escapes is a character", () => {
    const { config, diagnostics } = parseConfig(yaml("root \\ud83d\\ude00"), "pki.yaml", { cwd: "/p" });
    expect(diagnostics).toEqual([]);
    expect(config!.identities.find((i) => i.name === "root")!.subject.commonName).toBe("root \u{1F600}");
  });

  it("sends an incremental re-read to the full parse, which reports it", () => {
    const base = yaml("root");
    const first = parseConfig(base, "pki.yaml", { cwd: "/p" });
    const { file: _file, ...rest } = first.config!;
    const remembered = JSON.parse(JSON.stringify({ text: base, layout: first.layout, config: rest })) as Remembered;
    expect(reparseChanged(remembered, yaml("root", "web", '"web2.test"'), "pki.yaml")).not.toBeNull();
    expect(reparseChanged(remembered, yaml("root", "web", '"w\\ud800.test"'), "pki.yaml")).toBeNull();
  });

  it("the CLI refuses it and writes nothing; its twin with a real emoji is issued and verifies", async () => {
    const bad = project(yaml("r\\ud800x"));
    const refused = await provisionBin([], { cwd: bad.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("pki.yaml:4:23:");
    expect(refused.stderr).not.toMatch(/This is a bug|internal error|\n\s+at /);
    expect(existsSync(bad.out)).toBe(false);

    const good = project(yaml("r\\ud83d\\ude00x"));
    expect((await provisionBin([], { cwd: good.dir })).code).toBe(0);
    expect((await verifyLeaf(good.out, "servers", "web", ["-x509_strict"])).ok).toBe(true);
    // openssl prints the subject's UTF-8 bytes escaped: U+1F600 is F0 9F 98 80.
    expect(await certText(path.join(good.out, "cas/root/cert.pem"))).toContain("Subject: CN = r\\F0\\9F\\98\\80x");
  });
});
