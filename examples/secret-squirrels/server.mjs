// The club's secret server in Node: HTTPS with the files provision wrote, described by launch.json.
// Usage: node server.mjs [path/to/launch.json]   (default: pki/launch/secret-server/launch.json)
import { readFileSync } from "node:fs";
import https from "node:https";

const launchFile = process.argv[2] ?? new URL("./pki/launch/secret-server/launch.json", import.meta.url).pathname;
const launch = JSON.parse(readFileSync(launchFile, "utf8"));
const mtls = launch.clientAuth !== "none";

const server = https.createServer(
  {
    cert: readFileSync(launch.files.cert),
    key: readFileSync(launch.files.key),
    ...(mtls ? { ca: readFileSync(launch.files.clientCa), requestCert: true, rejectUnauthorized: launch.clientAuth === "required" } : {}),
  },
  (_request, response) => response.end(process.env.SECRET_MESSAGE ?? "fluffy tail"),
);

server.listen(launch.port, launch.host, () => console.log(`secret server listening on ${launch.url}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
