// A club member's client in Node: trusts only the club's CA (from client.env / launch.json) and prints the secret.
// Usage: npx provision exec secret-server -- node client.mjs      or: node client.mjs path/to/launch.json
import { readFileSync } from "node:fs";
import https from "node:https";

let url = process.env.SECRET_URL;
let caFile = process.env.SSL_CERT_FILE;
let certFile = process.env.CLIENT_CERT_FILE;
let keyFile = process.env.CLIENT_KEY_FILE;
if (process.argv[2] || !url) {
  const launch = JSON.parse(readFileSync(process.argv[2] ?? new URL("./pki/launch/secret-server/launch.json", import.meta.url).pathname, "utf8"));
  ({ SECRET_URL: url, SSL_CERT_FILE: caFile, CLIENT_CERT_FILE: certFile, CLIENT_KEY_FILE: keyFile } = launch.clientEnv);
}

const options = { ca: readFileSync(caFile), ...(certFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {}) };
https
  .get(url, options, (response) => {
    let body = "";
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => {
      if (response.statusCode !== 200) {
        console.error(`the server answered ${response.statusCode}`);
        process.exit(1);
      }
      console.log(`The secret message is ${body}`);
    });
  })
  .on("error", (error) => {
    console.error(`cannot reach the secret server: ${error.message}`);
    process.exit(1);
  });
