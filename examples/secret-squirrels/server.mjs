// The club's secret server in Node: HTTPS with the files provision wrote, described by launch.json.
// Usage: node server.mjs [path/to/launch.json]   (default: pki/launch/secret-server/launch.json)
import { readFileSync } from "node:fs";
import https from "node:https";

const launchFile = process.argv[2] ?? new URL("./pki/launch/secret-server/launch.json", import.meta.url).pathname;
const launch = JSON.parse(readFileSync(launchFile, "utf8"));
const mtls = launch.clientAuth !== "none";

const options = {
  cert: readFileSync(launch.files.cert),
  key: readFileSync(launch.files.key),
  // Mozilla's intermediate TLS profile, as provision renders it for every server.
  minVersion: launch.tls.minVersion,
  ciphers: launch.tls.ciphers,
  ALPNProtocols: ["http/1.1"],
  ...(mtls ? { ca: readFileSync(launch.files.clientCa), requestCert: true, rejectUnauthorized: launch.clientAuth === "required" } : {}),
};

// One listener per bound address (127.0.0.1 and ::1 when the certificate names both).
const servers = launch.bind.map((address) => {
  const server = https.createServer(options, (_request, response) => response.end(process.env.SECRET_MESSAGE ?? "fluffy tail"));
  server.listen(launch.port, address, () => console.log(`secret server listening on ${address} (${launch.url})`));
  return server;
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))).then(() => process.exit(0)));
}
