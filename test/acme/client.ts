// A minimal ACME client for the negative cases real clients never produce (replayed nonces, a kid signed by
// another key, a challenge answered by nobody). Signing is jose's; transport is node:https with the CA bundle.
import { request } from "node:https";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { exportJWK, FlattenedSign, generateKeyPair, importPKCS8, type JWK } from "jose";

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown>;
}

export function httpsCall(url: string, ca: string, options: { method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", ca, headers: options.body === undefined ? {} : { "content-type": "application/jose+json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try { json = JSON.parse(body) as Record<string, unknown>; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export class TestAcmeClient {
  kid: string | null = null;
  private constructor(readonly directory: Record<string, string>, readonly ca: string, readonly key: SigningKey, readonly jwk: JWK) {}

  static async create(directoryUrl: string, ca: string): Promise<TestAcmeClient> {
    const directory = (await httpsCall(directoryUrl, ca)).json as Record<string, string>;
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    return new TestAcmeClient(directory, ca, privateKey, await exportJWK(publicKey));
  }

  /** A client signing with an existing P-256 key (a certificate's own key, for revokeCert by jwk). */
  static async withKey(directoryUrl: string, ca: string, keyPem: string): Promise<TestAcmeClient> {
    const directory = (await httpsCall(directoryUrl, ca)).json as Record<string, string>;
    const jwk = createPublicKey(keyPem).export({ format: "jwk" }) as JWK;
    const pkcs8Pem = createPrivateKey(keyPem).export({ type: "pkcs8", format: "pem" }).toString();
    return new TestAcmeClient(directory, ca, await importPKCS8(pkcs8Pem, "ES256"), jwk);
  }

  async nonce(): Promise<string> {
    return (await httpsCall(this.directory.newNonce!, this.ca, { method: "HEAD" })).headers["replay-nonce"] as string;
  }

  /** A signed body for `url`: by kid once the account exists, by jwk before; `as` signs with another client's key but this kid. */
  async sign(url: string, payload: unknown, options: { nonce?: string; signer?: TestAcmeClient; useJwk?: boolean } = {}): Promise<string> {
    const header: Record<string, unknown> = { alg: "ES256", url, nonce: options.nonce ?? (await this.nonce()) };
    if (this.kid && !options.useJwk) header.kid = this.kid;
    else header.jwk = this.jwk;
    const bytes = new TextEncoder().encode(payload === "" ? "" : JSON.stringify(payload));
    const jws = await new FlattenedSign(bytes).setProtectedHeader(header as { alg: string }).sign((options.signer ?? this).key);
    return JSON.stringify(jws);
  }

  async post(url: string, payload: unknown, options: { nonce?: string; signer?: TestAcmeClient; useJwk?: boolean } = {}): Promise<Reply> {
    return httpsCall(url, this.ca, { method: "POST", body: await this.sign(url, payload, options) });
  }

  async register(): Promise<Reply> {
    const reply = await this.post(this.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true });
    this.kid = reply.headers.location as string;
    return reply;
  }
}
