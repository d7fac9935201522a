// JWS per RFC 7515 as RFC 8555 §6.2 restricts it, verified by jose: a maintained, dependency-free
// implementation of JWS/JWK (RSA, ECDSA, EdDSA, HMAC) over WebCrypto, whose key import checks curve and
// modulus sizes. The ACME rules around it (nonce, url, kid xor jwk) are checked here.
import { calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from "jose";
import { AcmeProblem } from "./problem.js";
import type { NonceStore } from "./nonces.js";

/** Signature algorithms accepted from clients (never "none" or a MAC, RFC 8555 §6.2). */
export const JWS_ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface ProtectedHeader {
  alg: string;
  nonce?: string;
  url?: string;
  kid?: string;
  jwk?: JWK;
  [key: string]: unknown;
}

/** An account as the verifier needs it. */
export interface AccountKey {
  id: string;
  jwk: JWK;
  status: "valid" | "deactivated" | "revoked";
}

export interface VerifiedRequest {
  header: ProtectedHeader;
  /** The parsed JSON payload; null for POST-as-GET (empty payload). */
  payload: Record<string, unknown> | null;
  /** Set when the request was signed with an embedded key (newAccount, revokeCert by certificate key). */
  jwk: JWK | null;
  /** Set when the request named an account by kid. */
  account: AccountKey | null;
}

/** Parses a request body as a flattened JWS (JSON with protected, payload, signature); malformed otherwise. */
export function parseJws(body: string): FlattenedJws {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new AcmeProblem("malformed", "the request body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AcmeProblem("malformed", "the request body is not a JWS object");
  const jws = value as Record<string, unknown>;
  for (const field of ["protected", "payload", "signature"]) {
    if (typeof jws[field] !== "string") throw new AcmeProblem("malformed", `the JWS has no ${field} string (flattened JSON serialization expected)`);
  }
  // RFC 8555 §6.2: no unprotected header, exactly one signature.
  if ("header" in jws || "signatures" in jws) throw new AcmeProblem("malformed", "the JWS must have only a protected header and one signature");
  return { protected: jws.protected as string, payload: jws.payload as string, signature: jws.signature as string };
}

export function decodeHeader(jws: FlattenedJws): ProtectedHeader {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(jws.protected, "base64url").toString("utf8"));
  } catch {
    throw new AcmeProblem("malformed", "the protected header is not base64url JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header) || typeof (header as ProtectedHeader).alg !== "string") {
    throw new AcmeProblem("malformed", "the protected header has no alg");
  }
  return header as ProtectedHeader;
}

/** Imports a client's public JWK; badPublicKey for private keys, unsupported types or weak sizes. */
export async function publicKeyOf(jwk: unknown, alg: string): Promise<VerifyKey> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new AcmeProblem("malformed", "jwk is not a JSON Web Key");
  if ("d" in jwk || (jwk as JWK).kty === "oct") throw new AcmeProblem("badPublicKey", "the jwk must be a public key");
  try {
    return await importJWK(jwk as JWK, alg);
  } catch (error) {
    throw new AcmeProblem("badPublicKey", `the jwk cannot be used with ${alg}: ${(error as Error).message}`);
  }
}

/** The RFC 7638 thumbprint of a public JWK (base64url SHA-256): identifies an account by its key. */
export function thumbprintOf(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, "sha256");
}

function payloadOf(bytes: Uint8Array): Record<string, unknown> | null {
  if (bytes.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new AcmeProblem("malformed", "the JWS payload is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AcmeProblem("malformed", "the JWS payload is not a JSON object");
  return value as Record<string, unknown>;
}

/**
 * Verifies one ACME request: its signature (with the embedded jwk, or the key of the account its kid names),
 * that its url is the one it was posted to, and that its nonce is fresh (consumed here, after the signature,
 * so forged requests cannot burn nonces). `keyBy` says which of jwk/kid the resource requires; "either"
 * is for revokeCert, which a certificate's own key may sign.
 */
export async function verifyRequest(args: {
  body: string;
  url: string;
  keyBy: "jwk" | "kid" | "either";
  nonces: NonceStore;
  accountByUrl: (kid: string) => AccountKey | undefined;
}): Promise<VerifiedRequest> {
  const jws = parseJws(args.body);
  const header = decodeHeader(jws);
  if (!JWS_ALGORITHMS.includes(header.alg)) throw new AcmeProblem("badSignatureAlgorithm", `alg ${header.alg} is not accepted; use one of ${JWS_ALGORITHMS.join(", ")}`);
  const hasJwk = header.jwk !== undefined;
  const hasKid = header.kid !== undefined;
  if (hasJwk === hasKid) throw new AcmeProblem("malformed", "the protected header must carry exactly one of jwk and kid");
  if (args.keyBy === "jwk" && !hasJwk) throw new AcmeProblem("malformed", "this request must be signed with a jwk, not a kid");
  if (args.keyBy === "kid" && !hasKid) throw new AcmeProblem("malformed", "this request must name its account with kid");
  let account: AccountKey | null = null;
  let key: VerifyKey;
  if (hasKid) {
    if (typeof header.kid !== "string") throw new AcmeProblem("malformed", "kid must be an account URL");
    account = args.accountByUrl(header.kid) ?? null;
    if (!account) throw new AcmeProblem("accountDoesNotExist", `no account at ${header.kid}`);
    if (account.status !== "valid") throw new AcmeProblem("unauthorized", `the account is ${account.status}`);
    key = await publicKeyOf(account.jwk, header.alg);
  } else {
    key = await publicKeyOf(header.jwk, header.alg);
  }
  let payload: Uint8Array;
  try {
    payload = (await flattenedVerify(jws, key, { algorithms: [header.alg] })).payload;
  } catch {
    // A kid with a signature by another key is someone acting for an account whose key they lack.
    if (hasKid) throw new AcmeProblem("unauthorized", "the JWS signature does not verify with the account's key");
    throw new AcmeProblem("malformed", "the JWS signature does not verify with its jwk");
  }
  if (header.url !== args.url) throw new AcmeProblem("unauthorized", `the JWS url ${JSON.stringify(header.url)} is not the URL it was posted to (${args.url})`);
  if (typeof header.nonce !== "string" || !args.nonces.consume(header.nonce)) throw new AcmeProblem("badNonce", "the nonce is unknown or was already used; get a fresh one from newNonce");
  return { header, payload: payloadOf(payload), jwk: hasJwk ? (header.jwk as JWK) : null, account };
}

/**
 * Verifies an External Account Binding (RFC 8555 §7.3.4): a JWS by the key id's HMAC key over the new
 * account's jwk, for the newAccount URL. Returns the key id it binds.
 */
export async function verifyExternalBinding(binding: unknown, args: { url: string; accountJwk: JWK; hmacKeyOf: (keyId: string) => Uint8Array | undefined }): Promise<string> {
  const jws = parseJws(JSON.stringify(binding ?? null));
  const header = decodeHeader(jws);
  if (!["HS256", "HS384", "HS512"].includes(header.alg)) throw new AcmeProblem("malformed", "externalAccountBinding must be signed with HS256, HS384 or HS512");
  if (header.nonce !== undefined) throw new AcmeProblem("malformed", "externalAccountBinding must not carry a nonce");
  if (header.url !== args.url) throw new AcmeProblem("unauthorized", "externalAccountBinding url is not the newAccount URL");
  const secret = typeof header.kid === "string" ? args.hmacKeyOf(header.kid) : undefined;
  if (!secret) throw new AcmeProblem("unauthorized", `unknown external account key id ${JSON.stringify(header.kid)}`);
  let payload: Uint8Array;
  try {
    payload = (await flattenedVerify(jws, secret, { algorithms: [header.alg] })).payload;
  } catch {
    throw new AcmeProblem("unauthorized", "externalAccountBinding signature does not verify with that key id's HMAC key");
  }
  const bound = payloadOf(payload) as JWK | null;
  if (!bound || (await thumbprintOf(bound).catch(() => "")) !== (await thumbprintOf(args.accountJwk))) {
    throw new AcmeProblem("unauthorized", "externalAccountBinding does not bind this account's key");
  }
  return header.kid as string;
}

/**
 * The inner JWS of a key change (RFC 8555 §7.3.5): signed by the new key it carries as jwk, for the same url
 * as the outer request, without a nonce. Returns the new key and the payload ({account, oldKey}).
 */
export async function verifyKeyChange(inner: unknown, url: string): Promise<{ jwk: JWK; payload: Record<string, unknown> }> {
  const jws = parseJws(JSON.stringify(inner ?? null));
  const header = decodeHeader(jws);
  if (!JWS_ALGORITHMS.includes(header.alg)) throw new AcmeProblem("badSignatureAlgorithm", `alg ${header.alg} is not accepted`);
  if (header.jwk === undefined || header.kid !== undefined) throw new AcmeProblem("malformed", "the inner JWS of a key change carries the new key as jwk, and no kid");
  if (header.nonce !== undefined) throw new AcmeProblem("malformed", "the inner JWS of a key change must not carry a nonce");
  if (header.url !== url) throw new AcmeProblem("malformed", "the inner JWS url must be the keyChange URL");
  const key = await publicKeyOf(header.jwk, header.alg);
  let bytes: Uint8Array;
  try {
    bytes = (await flattenedVerify(jws, key, { algorithms: [header.alg] })).payload;
  } catch {
    throw new AcmeProblem("malformed", "the inner JWS signature does not verify with its jwk");
  }
  const payload = payloadOf(bytes);
  if (!payload) throw new AcmeProblem("malformed", "the inner JWS of a key change needs {account, oldKey}");
  return { jwk: header.jwk as JWK, payload };
}
