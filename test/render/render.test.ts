import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { formatDiagnostic } from "../../src/errors.js";
import { commentText, curlrcString, nginxString, shWord, unixSocketPath, Unrepresentable } from "../../src/render/escape.js";
import { launchFacts } from "../../src/render/launch-facts.js";
import { renderLaunchFiles, unrenderableLaunchFiles } from "../../src/render/launch.js";
import { execaLogged } from "../helpers/spawn.js";
import { INTERMEDIATE_CIPHERS } from "../../src/render/tls-profile.js";
import { requireTool } from "../helpers/require-tool.js";
import { makeEmptyCrl } from "../helpers/openssl.js";

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
      await expect(file.content.toString()).toMatchFileSnapshot(path.join("../golden/launch", relative));
    }
    expect(files.map((f) => path.relative("/srv/pki/launch", f.path))).toEqual([
      "plain/uwsgi.ini", "plain/server.env", "plain/client.env", "plain/client.curlrc", "plain/nginx.conf", "plain/launch.json",
      "secret-server/uwsgi.ini", "secret-server/server.env", "secret-server/client.env", "secret-server/client.curlrc",
      "secret-server/nginx.conf", "secret-server/launch.json", "secret-server/nginx-front.conf", "secret-server/client-ca.pem",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Every string that reaches a launch file: strict grammar at load time, and one escaper per format.

const HOSTILE_DIR = `/tmp/pki $(touch pwned) \`touch pwned2\` 'q' "dq" \\ ;#x %d %(y) ~ *`;

function served(serve: string, output = "/srv/pki"): ReturnType<typeof parseConfig> {
  return parseConfig(
    `version: 1
output: ${JSON.stringify(output)}
cas:
  root: {}
servers:
  web:
    issuer: root
    altNames: [localhost, 127.0.0.1, "::1"]
    serve: ${serve}
clients:
  alice: { issuer: root }
`,
    "/srv/pki.yaml",
    { cwd: "/srv" },
  );
}

const located = (result: ReturnType<typeof parseConfig>) => result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);

describe("serve values are held to a strict grammar at load time, with a located error", () => {
  it.each([
    [`{ host: "$(touch x)" }`, /^\/srv\/pki\.yaml:9:20 servers\.web\.serve\.host: expected a host name, an IPv4\/IPv6 address or localhost/],
    [`{ host: "localhost\\nhttp-socket = 0.0.0.0:80" }`, /^\/srv\/pki\.yaml:9:20 servers\.web\.serve\.host: expected a host name, an IPv4\/IPv6 address or localhost/],
    [`{ host: "[::1]" }`, /servers\.web\.serve\.host: write the IPv6 address without brackets: ::1$/],
    [`{ host: "1.2.3" }`, /servers\.web\.serve\.host: "1\.2\.3" is not a valid IP address$/],
    [`{ host: "*.example.test" }`, /servers\.web\.serve\.host: expected a host name/],
    [`{ host: "" }`, /servers\.web\.serve\.host: expected a host name/],
    [`{ app: "server:app\\nmount = /=evil:app" }`, /^\/srv\/pki\.yaml:9:19 servers\.web\.serve\.app: "server:app\\nmount = \/=evil:app" is not a WSGI app reference: expected module:callable/],
    [`{ app: "server" }`, /servers\.web\.serve\.app: "server" is not a WSGI app reference/],
    [`{ app: "my-app:app" }`, /servers\.web\.serve\.app: "my-app:app" is not a WSGI app reference/],
    [`{ app: "pkg..mod:app" }`, /servers\.web\.serve\.app: .* is not a WSGI app reference/],
    [`{ app: "server:app;rm" }`, /servers\.web\.serve\.app: .* is not a WSGI app reference/],
    [`{ port: "5683; rm -rf /" }`, /servers\.web\.serve\.port: expected a port number \(1-65535\), got a string \("5683; rm -rf \/"\)$/],
    [`{ port: 70000 }`, /servers\.web\.serve\.port: /],
    [`{ clientAuth: "required; x" }`, /servers\.web\.serve\.clientAuth: expected none, optional or required, got "required; x"; did you mean required\?$/],
    [`{ clientAuth: required, client: "../x" }`, /servers\.web\.serve\.client: client "\.\.\/x" is not defined under clients$/],
  ])("%s is refused", (serve, message) => {
    const result = served(serve);
    expect(result.config).toBeUndefined();
    expect(located(result).join("\n")).toMatch(message);
  });

  it.each([
    [`{ host: localhost, app: "server:app" }`],
    [`{ host: "::1", app: "mypkg.wsgi:application" }`],
    [`{ host: 127.0.0.1 }`],
    [`{ host: my-site.example.com, port: 443 }`],
    [`{ host: xn--bcher-kva.example }`],
  ])("%s is accepted", (serve) => {
    expect(located(served(serve))).toEqual([]);
  });
});

describe("escapers: each format reads back exactly what was written", () => {
  const values = [
    "plain",
    "",
    HOSTILE_DIR,
    "a'b''c'",
    "line1\nline2\r\nend",
    "tab\there",
    "$HOME ${HOME} $((1+1)) !! \\n",
    "ünïcödé ✓",
  ];
  const shells = ["sh", "bash", "dash"].filter((shell) => existsSync(`/bin/${shell}`) || existsSync(`/usr/bin/${shell}`));

  it.each(shells)("%s: shWord round-trips hostile strings and runs nothing", async (shell) => {
    const dir = mkdtempSync(path.join(tmpdir(), "provision-sh-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "vars.env");
    writeFileSync(file, values.map((v, i) => `V${i}=${shWord(v)}`).join("\n") + "\n");
    const script = `. ./vars.env && printf '%s\\0' ${values.map((_, i) => `"$V${i}"`).join(" ")}`;
    const result = await execaLogged(shell, ["-c", script], { cwd: dir, reject: false, stripFinalNewline: false });
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\0").slice(0, -1)).toEqual(values);
    expect(readdirSync(dir)).toEqual(["vars.env"]); // no pwned, no pwned2
  });

  it("curlrcString: curl's own parser reads the value back, and a newline cannot add an option", async () => {
    requireTool("curl", "curl");
    const dir = mkdtempSync(path.join(tmpdir(), "provision-curlrc-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const cacert = `${HOSTILE_DIR}\nurl = "https://127.0.0.1:1/injected"\n-k\n#"`;
    writeFileSync(path.join(dir, "t.curlrc"), `cacert = ${curlrcString(cacert)}\nurl = ${curlrcString("https://127.0.0.1:1/real")}\n`);
    // --libcurl writes the C code of what curl parsed: the options it set, with C string escapes.
    await execaLogged("curl", ["-K", "t.curlrc", "-sS", "--max-time", "2", "--libcurl", "parsed.c"], { cwd: dir, reject: false });
    const parsed = readFileSync(path.join(dir, "parsed.c"), "utf8");
    const cString = (v: string) => JSON.stringify(v).replace(/\\u0027/g, "'");
    expect(parsed).toContain(`CURLOPT_CAINFO, ${cString(cacert)}`);
    expect(parsed.match(/CURLOPT_URL, "(.*)"/g)).toEqual([`CURLOPT_URL, "https://127.0.0.1:1/real"`]);
    expect(parsed).not.toMatch(/SSL_VERIFYPEER, 0/);
  });

  it("nginxString: quoted and escaped; a $ (an nginx variable) cannot be represented", () => {
    expect(nginxString("/srv/pki/a.pem")).toBe("/srv/pki/a.pem");
    expect(nginxString(`/a b/"c"\\d;{e}\n`)).toBe(`"/a b/\\"c\\"\\\\d;{e}\\n"`);
    expect(() => nginxString("/srv/$host/x")).toThrow(Unrepresentable);
  });

  it("unixSocketPath: what uwsgi and nginx both read back whole (102 bytes at most, no ':')", () => {
    expect(unixSocketPath(`/${"s".repeat(101)}`, "uwsgi.ini")).toHaveLength(102);
    expect(() => unixSocketPath(`/${"s".repeat(102)}`, "uwsgi.ini")).toThrow(/longer than 102 bytes/);
    // Bytes, not characters: 34 three-byte characters are 102 bytes, plus the slash 103.
    expect(() => unixSocketPath(`/${"€".repeat(34)}`, "uwsgi.ini")).toThrow(Unrepresentable);
    expect(() => unixSocketPath("/tmp/a:b/uwsgi.sock", "nginx-front.conf")).toThrow(/read it as an address/);
  });

  it("commentText: a line break cannot end a comment early", () => {
    expect(commentText("a\nmount = /=evil:app\r\n")).toBe("a\\nmount = /=evil:app\\r\\n");
  });
});

describe("rendered launch files under a hostile output folder", () => {
  function renderAt(outputDir: string, clientAuth: "none" | "required" = "required") {
    const { config, diagnostics } = served(`{ host: localhost, app: "server:app", clientAuth: ${clientAuth} }`, outputDir);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const files = renderLaunchFiles(config!, () => "<pem>\n");
    const text = (name: string) => String(files.find((f) => path.basename(f.path) === name)!.content);
    return { config: config!, files, text, json: JSON.parse(text("launch.json")) };
  }

  it.each(["sh", "bash", "dash"])("%s sources server.env and client.env: nothing runs and every value round-trips", async (shell) => {
    const rendered = renderAt(`${HOSTILE_DIR}\nSECOND_LINE=$(touch pwned3)`);
    const dir = mkdtempSync(path.join(tmpdir(), "provision-env-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, expected] of [["server.env", rendered.json.serverEnv], ["client.env", rendered.json.clientEnv]] as const) {
      writeFileSync(path.join(dir, name), rendered.text(name));
      const names = Object.keys(expected);
      const result = await execaLogged(shell, ["-c", `. ./${name} && printf '%s\\0' ${names.map((n) => `"$${n}"`).join(" ")}`], { cwd: dir, reject: false, stripFinalNewline: false });
      expect(result.stderr).toBe("");
      expect(Object.fromEntries(result.stdout.split("\0").slice(0, -1).map((v, i) => [names[i], v]))).toEqual(expected);
      expect(expected.TLS_CERT_FILE ?? expected.SSL_CERT_FILE).toContain("$(touch pwned)");
    }
    expect(readdirSync(dir).sort()).toEqual(["client.env", "server.env"]);
  });

  it.each(["none", "required"] as const)("uwsgi reads the rendered ini back as written (--get); ;, # and %% in the folder name stay literal (clientAuth %s)", async (clientAuth) => {
    requireTool("openssl", "openssl"); requireTool("uwsgi", "uwsgi-core");
    const base = mkdtempSync(path.join(tmpdir(), "provision-ini-"));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    const outputDir = path.join(base, `pki ;#x %d 'q' "dq" $HOME`);
    const rendered = renderAt(outputDir, clientAuth);
    const ini = rendered.files.find((f) => f.path.endsWith("uwsgi.ini"))!;
    const launchDir = path.dirname(ini.path);
    mkdirSync(launchDir, { recursive: true });
    writeFileSync(ini.path, ini.content);
    // uwsgi loads the certificate and key while it reads the https-socket option, so they must exist.
    const serverDir = path.join(outputDir, "servers/web");
    mkdirSync(serverDir, { recursive: true });
    await execaLogged("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=web", "-days", "1", "-keyout", path.join(serverDir, "key.pem"), "-out", path.join(serverDir, "fullchain.pem")]);
    // --get prints an option's (first) value as uwsgi parsed it, after every expansion, and exits.
    const common = { mount: "/=server:app", chdir: `${launchDir}/${path.relative(launchDir, "/srv")}` };
    const expected: Record<string, string> =
      clientAuth === "none"
        ? {
            ...common,
            "https-socket": `127.0.0.1:5683,${launchDir}/../../servers/web/fullchain.pem,${launchDir}/../../servers/web/key.pem,${INTERMEDIATE_CIPHERS}`,
            "ssl-option": "268435456",
            "touch-reload": `${launchDir}/../../servers/web/fullchain.pem`,
          }
        : // Behind the nginx front: plain HTTP on the unix socket, no TLS and nothing to reload in uwsgi.
          { ...common, "http-socket": `${launchDir}/run/uwsgi.sock` };
    const options = Object.keys(expected);
    const get = await execaLogged("uwsgi", ["--ini", ini.path, ...options.flatMap((o) => ["--get", o])], { reject: false });
    expect(Object.fromEntries(get.stdout.split("\n").map((v, i) => [options[i], v])), get.stderr).toEqual(expected);
    // --get prints nothing for an option that is not set: the others must be absent from the file.
    const absent = ["https-socket", "http-socket", "ssl-option", "touch-reload", "https"].filter((o) => !options.includes(o));
    for (const option of absent) expect(String(ini.content)).not.toMatch(new RegExp(`^${option} =`, "m"));
  });

  it.each([
    ["a newline (it would start a new uwsgi option once %d is expanded)", "/tmp/pki\nhttp-socket = 0.0.0.0:80", /a line break would start a new uwsgi option/],
    ["$(…), which uwsgi expands from the environment", "/tmp/pki $(HOME)", /uwsgi expands \$\(…\), @\(…\) and %\(…\)/],
    ["@(…), which uwsgi replaces by a file's contents", "/tmp/pki @(/etc/shadow)", /uwsgi expands/],
    ["a comma, which splits uwsgi's https-socket option", "/tmp/pki,x", /https-socket option is comma-separated/],
  ])("an output folder with %s gets an explanation instead of a uwsgi.ini, and a warning", (_why, outputDir, reason) => {
    const rendered = renderAt(outputDir, "none");
    const ini = rendered.text("uwsgi.ini");
    expect(ini).toMatch(/^; This uwsgi\.ini is not usable: /m);
    expect(ini).toMatch(reason);
    // Every line is a comment: no option at all, so nothing injected.
    expect(ini.split("\n").filter((l) => l !== "" && !l.startsWith(";"))).toEqual([]);
    const problems = unrenderableLaunchFiles(launchFacts(rendered.config, "web"));
    expect(problems.map((p) => p.file)).toContain("uwsgi.ini");
    // curlrc and the env files still hold the path, escaped.
    expect(rendered.text("client.curlrc").split("\n").filter((l) => l.startsWith("cacert"))).toHaveLength(1);
  });

  it("a $ in the folder: nginx.conf and nginx-front.conf are explanations (nginx cannot escape $), the other files are rendered", () => {
    const rendered = renderAt("/tmp/pki $HOME");
    for (const file of ["nginx.conf", "nginx-front.conf"]) {
      expect(rendered.text(file)).toMatch(new RegExp(`^# This ${file.replace(".", "\\.")} is not usable: "\\$" starts an nginx variable`, "m"));
      expect(rendered.text(file).split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual([]);
    }
    expect(rendered.text("uwsgi.ini")).toMatch(/^http-socket = /m);
    expect(rendered.text("server.env")).toContain(`TLS_CERT_FILE='/tmp/pki $HOME/servers/web/fullchain.pem'`);
  });

  it.each([
    ["a socket path over 102 bytes (uwsgi cuts it short)", `/tmp/${"p".repeat(80)}`, /longer than 102 bytes is cut short by uwsgi/],
    ["a ':' (uwsgi and nginx read host:port)", "/tmp/pki:x", /makes uwsgi and nginx read it as an address/],
  ])("behind the front, %s: uwsgi.ini and nginx-front.conf are explanations, and serve is told why", (_why, outputDir, reason) => {
    const rendered = renderAt(outputDir);
    for (const file of ["uwsgi.ini", "nginx-front.conf"]) {
      expect(rendered.text(file)).toMatch(reason);
      expect(rendered.text(file).split("\n").filter((l) => l !== "" && !/^[;#]/.test(l))).toEqual([]);
    }
    expect(unrenderableLaunchFiles(launchFacts(rendered.config, "web")).map((p) => p.file)).toEqual(["uwsgi.ini", "nginx-front.conf"]);
    // Without client certificates there is no socket: the same folder renders uwsgi.ini.
    expect(renderAt(outputDir, "none").text("uwsgi.ini")).toMatch(/^https-socket = /m);
  });
});

describe("nginx reads the rendered snippet and front", () => {
  beforeAll(() => { requireTool("openssl", "openssl"); requireTool("nginx", "nginx"); });
  // nginx -t loads the certificate, key, client CA and CRL files the config names, so they must exist at the (odd) paths.
  async function nginxTest(outputDir: string): Promise<{ ok: boolean; output: string; snippet: string; front: string }> {
    const { config } = served(`{ host: localhost, clientAuth: required }`, outputDir);
    const files = renderLaunchFiles(config!, () => "<pem>\n");
    const text = (name: string) => String(files.find((f) => path.basename(f.path) === name)!.content);
    const facts = launchFacts(config!, "web");
    for (const file of [facts.files.cert, facts.files.key, facts.files.clientCa!, facts.front!.conf]) mkdirSync(path.dirname(file), { recursive: true });
    await execaLogged("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=web", "-days", "1", "-keyout", facts.files.key, "-out", facts.files.cert]);
    copyFileSync(facts.files.cert, facts.files.clientCa!);
    await makeEmptyCrl(facts.files.cert, facts.files.key, facts.files.crl!);
    const conf = path.join(path.dirname(outputDir), "nginx-test.conf");
    writeFileSync(path.join(path.dirname(outputDir), "snippet.conf"), text("nginx.conf"));
    writeFileSync(conf, `pid ${path.join(path.dirname(outputDir), "nginx.pid")};\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  server {\n    include ${JSON.stringify(path.join(path.dirname(outputDir), "snippet.conf"))};\n  }\n}\n`);
    const run = await execaLogged("nginx", ["-t", "-q", "-c", conf], { reject: false });
    // The front is a whole config: nginx -t reads it as provision serve starts it (its run/ folder made first).
    writeFileSync(facts.front!.conf, text("nginx-front.conf"));
    mkdirSync(facts.front!.runDir);
    const front = await execaLogged("nginx", ["-t", "-q", "-e", "stderr", "-c", facts.front!.conf], { reject: false });
    return { ok: run.exitCode === 0 && front.exitCode === 0, output: `${run.stdout}${run.stderr}${front.stdout}${front.stderr}`, snippet: text("nginx.conf"), front: text("nginx-front.conf") };
  }

  it("nginx -t accepts both, TLS profile and CRL included, for a folder with spaces, quotes, ;, { and a backslash; and refuses a broken twin", async () => {
    const base = mkdtempSync(path.join(tmpdir(), "provision-nginx-"));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    const good = await nginxTest(path.join(base, `pki 'q' "dq" ;{x} \\b`));
    expect(good.snippet).toMatch(/^ssl_certificate "[^\n]*\\"dq\\" ;\{x\} \\\\b\/servers\/web\/fullchain\.pem";$/m);
    expect(good.snippet).toMatch(/^ssl_crl "[^\n]*\\"dq\\" ;\{x\} \\\\b\/crl-bundle\.pem";$/m);
    expect(good.front).toMatch(/^      proxy_pass "http:\/\/unix:[^\n]*\\"dq\\" ;\{x\} \\\\b\/launch\/web\/run\/uwsgi\.sock:";$/m);
    expect(good.ok, good.output).toBe(true);
    // The same snippet with the quoting removed is what nginx would have read before: it fails to parse.
    const broken = good.snippet.replace(/^(ssl_certificate(?:_key)?) "(.*)";$/gm, (_m, d: string, v: string) => `${d} ${v.replace(/\\(.)/g, "$1")};`);
    writeFileSync(path.join(base, "snippet.conf"), broken);
    const twin = await execaLogged("nginx", ["-t", "-q", "-c", path.join(base, "nginx-test.conf")], { reject: false });
    expect(twin.exitCode).not.toBe(0);
  });
});
