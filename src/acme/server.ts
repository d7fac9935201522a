import { randomBytes, X509Certificate } from "node:crypto";
import { REASON_CODES, type RevocationReason } from "../config/types.js";
import type { RevokeRequest } from "../plan/types.js";
import type { JWK } from "jose";
import type { IncomingMessage, ServerResponse } from "node:http";
import { identifierName, identifierRefusal, type AcmeChallengeType, type AcmeSpec } from "../config/acme.js";
import { validateHttp01, validateTlsAlpn01 } from "./challenges.js";
import { issueForOrder, leafOf, type AcmeIssuer } from "./issue.js";
import { verifyExternalBinding, verifyKeyChange, verifyRequest, thumbprintOf, type VerifiedRequest } from "./jws.js";
import { NonceStore } from "./nonces.js";
import { AcmeProblem, type ProblemDocument } from "./problem.js";
import { newId, type Account, type AcmeState, type Authorization, type Challenge, type Order } from "./state.js";

const MAX_BODY = 64 * 1024;
const ORDER_LIFETIME_MS = 7 * 86_400_000;
/** How long a challenge response waits for its validation: clients that find it done skip a polling round. */
const REASON_BY_CODE = new Map(Object.entries(REASON_CODES).map(([name, code]) => [code, name as RevocationReason]));

const VALIDATION_WAIT_MS = 8_000;

export interface AcmeServerDeps {
  acme: AcmeSpec;
  state: AcmeState;
  issuer: () => AcmeIssuer;
  /** https://host:port, without a trailing slash. */
  baseUrl: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  log: (line: string) => void;
  /** Validators, replaceable in tests. */
  validate?: Partial<Record<AcmeChallengeType, typeof validateHttp01>>;
  /**
   * Lists a revoked certificate in the signing CA's CRL (one provision run, under the output folder's lock).
   * Called before the order is marked revoked, so a failure leaves nothing half done and the client may retry.
   */
  publishRevocation: (request: RevokeRequest) => Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

type Route = (req: Reply & { verified: VerifiedRequest; id: string; sub?: string }) => Promise<Reply>;

/**
 * The RFC 8555 resources: directory, newNonce, newAccount, account, newOrder, order, finalize, authorization,
 * challenge and certificate. Every answer carries a fresh Replay-Nonce and a Link to the directory; errors
 * are RFC 7807 problem documents with ACME types.
 */
export class AcmeServer {
  readonly nonces = new NonceStore();
  private readonly validations = new Map<string, Promise<void>>();

  constructor(private readonly deps: AcmeServerDeps) {}

  private url(path: string): string {
    return `${this.deps.baseUrl}${path}`;
  }

  directory(): Record<string, unknown> {
    return {
      newNonce: this.url("/acme/new-nonce"),
      newAccount: this.url("/acme/new-account"),
      newOrder: this.url("/acme/new-order"),
      revokeCert: this.url("/acme/revoke-cert"),
      keyChange: this.url("/acme/key-change"),
      meta: { externalAccountRequired: this.deps.acme.eab.length > 0 },
    };
  }

  /** The node:http(s) request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.respond(req)
      .catch((error: unknown) => this.problemReply(error))
      .then((reply) => this.send(res, reply))
      .catch(() => res.destroy());
  };

  private problemReply(error: unknown): Reply {
    const problem = error instanceof AcmeProblem ? error : new AcmeProblem("serverInternal", "internal error");
    if (!(error instanceof AcmeProblem)) this.deps.log(`acme: internal error: ${(error as Error)?.stack ?? String(error)}`);
    return { status: problem.status, body: problem.toDocument(), contentType: "application/problem+json" };
  }

  private send(res: ServerResponse, reply: Reply): void {
    const body = reply.text ?? (reply.body === undefined ? "" : JSON.stringify(reply.body, null, 2));
    res.writeHead(reply.status, {
      "replay-nonce": this.nonces.issue(),
      link: `<${this.url("/directory")}>;rel="index"`,
      "cache-control": "no-store",
      ...(body ? { "content-type": reply.contentType ?? "application/json" } : {}),
      ...reply.headers,
    });
    res.end(body);
  }

  private async respond(req: IncomingMessage): Promise<Reply> {
    const path = (req.url ?? "/").split("?")[0]!;
    const method = req.method ?? "GET";
    if (path === "/directory") {
      if (method !== "GET" && method !== "HEAD") throw new AcmeProblem("malformed", "the directory is fetched with GET", 405);
      return { status: 200, body: this.directory() };
    }
    if (path === "/acme/new-nonce") {
      if (method === "HEAD") return { status: 200 };
      if (method === "GET") return { status: 204 };
      throw new AcmeProblem("malformed", "newNonce takes HEAD or GET", 405);
    }
    const match = /^\/acme\/(new-account|new-order|revoke-cert|key-change|acct|order|authz|chall|cert)(?:\/([A-Za-z0-9_-]{22}))?(?:\/(finalize|orders|http-01|tls-alpn-01))?$/.exec(path);
    if (!match) throw new AcmeProblem("malformed", `no such resource: ${path}`, 404);
    if (method !== "POST") throw new AcmeProblem("malformed", "ACME resources take POST (RFC 8555 §6.3: POST-as-GET to read)", 405);
    if (!/^application\/jose\+json\b/.test(req.headers["content-type"] ?? "")) throw new AcmeProblem("malformed", "Content-Type must be application/jose+json", 415);
    const body = await readBody(req);
    const [, resource, id, sub] = match;
    const needsId = !resource!.startsWith("new-") && resource !== "revoke-cert" && resource !== "key-change";
    if (needsId !== (id !== undefined)) throw new AcmeProblem("malformed", `no such resource: ${path}`, 404);
    const keyBy = resource === "new-account" ? "jwk" : resource === "revoke-cert" ? "either" : "kid";
    const verified = await verifyRequest({ body, url: this.url(path), keyBy, nonces: this.nonces, accountByUrl: (kid) => this.accountByUrl(kid) });
    const route = this.routes[`${resource}${sub === "finalize" || sub === "orders" ? `/${sub}` : ""}`];
    if (!route) throw new AcmeProblem("malformed", `${resource} is not supported`, 404);
    return route({ status: 200, verified, id: id ?? "", sub });
  }

  private accountByUrl(kid: string): Account | undefined {
    const prefix = this.url("/acme/acct/");
    return kid.startsWith(prefix) ? this.deps.state.accounts.get(kid.slice(prefix.length)) : undefined;
  }

  private readonly routes: Record<string, Route> = {
    "new-account": (r) => this.newAccount(r.verified),
    acct: (r) => this.updateAccount(r.verified, r.id),
    "acct/orders": async (r) => {
      if (r.verified.account!.id !== r.id) throw new AcmeProblem("unauthorized", "an account's orders are listed to that account only");
      const orders = [...this.deps.state.orders.values()].filter((o) => o.accountId === r.id && (o.status !== "invalid"));
      return { status: 200, body: { orders: orders.map((o) => this.url(`/acme/order/${o.id}`)) } };
    },
    "new-order": (r) => this.newOrder(r.verified),
    order: async (r) => ({ status: 200, body: this.orderJson(this.ownOrder(r.verified, r.id)) }),
    "order/finalize": (r) => this.finalize(r.verified, r.id),
    authz: (r) => this.authorization(r.verified, r.id),
    chall: (r) => this.challenge(r.verified, r.id, r.sub as AcmeChallengeType),
    cert: async (r) => this.certificate(r.verified, r.id),
    "revoke-cert": (r) => this.revokeCert(r.verified),
    "key-change": (r) => this.keyChange(r.verified),
  };

  /** RFC 8555 §7.3.5: the account's key is replaced by the one the inner JWS is signed with. */
  private async keyChange(verified: VerifiedRequest): Promise<Reply> {
    const account = this.deps.state.accounts.get(verified.account!.id)!;
    const url = this.url("/acme/key-change");
    const { jwk, payload } = await verifyKeyChange(verified.payload, url);
    if (payload.account !== this.url(`/acme/acct/${account.id}`)) throw new AcmeProblem("unauthorized", "the inner JWS names another account");
    if ((await thumbprintOf(payload.oldKey as JWK).catch(() => "")) !== account.thumbprint) throw new AcmeProblem("unauthorized", "oldKey is not the account's current key");
    const thumbprint = await thumbprintOf(jwk);
    const holder = this.deps.state.accountsByThumbprint.get(thumbprint);
    if (holder) throw new AcmeProblem("malformed", "another account already uses the new key", 409);
    this.deps.state.accountsByThumbprint.delete(account.thumbprint);
    account.jwk = publicJwk(jwk);
    account.thumbprint = thumbprint;
    this.deps.state.addAccount(account);
    await this.deps.state.saveAccount(account);
    this.deps.log(`acme: account ${account.id} changed its key`);
    return { status: 200, body: this.accountJson(account), headers: { location: this.url(`/acme/acct/${account.id}`) } };
  }

  /**
   * RFC 8555 §7.6: revokes a certificate this endpoint issued, asked for by the account that ordered it or
   * signed with the certificate's own key (jwk). The revocation is kept with the order (provision status
   * shows it); the certificate's chain stays downloadable.
   */
  private async revokeCert(verified: VerifiedRequest): Promise<Reply> {
    const payload = verified.payload;
    if (!payload || typeof payload.certificate !== "string" || !/^[A-Za-z0-9_-]+$/.test(payload.certificate)) throw new AcmeProblem("malformed", "revokeCert needs the certificate as base64url DER");
    const reason = payload.reason ?? 0;
    // The RFC 5280 §5.3.1 reasons provision's CRLs carry (RFC 8555 §7.6 lets a server refuse others):
    // certificateHold (6) is not final, removeFromCRL (8) is for delta CRLs, aACompromise (10) is about attribute certificates.
    const reasonName = typeof reason === "number" ? REASON_BY_CODE.get(reason) : undefined;
    if (reasonName === undefined) throw new AcmeProblem("badRevocationReason", `revocation reason ${JSON.stringify(reason)} is not one of ${[...REASON_BY_CODE.keys()].join(", ")}`);
    const der = Buffer.from(payload.certificate, "base64url");
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      throw new AcmeProblem("malformed", "the certificate does not parse");
    }
    const serial = cert.serialNumber.toLowerCase();
    const order = [...this.deps.state.orders.values()].find((o) => o.certificate?.serial === serial && leafDerOf(this.deps.state.readCertificate(o.id))?.equals(der));
    if (!order?.certificate) throw new AcmeProblem("malformed", "this endpoint did not issue that certificate", 404);
    if (verified.account) {
      if (order.accountId !== verified.account.id) throw new AcmeProblem("unauthorized", "only the account that ordered a certificate (or its key's holder) may revoke it");
    } else if ((await thumbprintOf(cert.publicKey.export({ format: "jwk" }) as JWK)) !== (await thumbprintOf(verified.jwk!))) {
      throw new AcmeProblem("unauthorized", "the request is signed neither by the ordering account nor by the certificate's key");
    }
    if (order.certificate.revoked) throw new AcmeProblem("alreadyRevoked", `certificate ${serial} is already revoked`);
    try {
      await this.deps.publishRevocation({ ca: this.deps.acme.ca, serial, notAfter: order.certificate.notAfter, reason: reasonName });
    } catch (error) {
      this.deps.log(`acme: could not publish the revocation of serial ${serial} in ${this.deps.acme.ca}'s CRL: ${(error as Error).message}`);
      throw new AcmeProblem("serverInternal", "the revocation could not be written to the CRL; try again");
    }
    order.certificate.revoked = true;
    order.certificate.revocation = { at: this.deps.now().toISOString(), reason: REASON_CODES[reasonName] };
    await this.deps.state.saveOrder(order);
    this.deps.log(`acme: revoked ${order.identifiers.map((i) => i.value).join(", ")} (serial ${serial}, reason ${reason})`);
    return { status: 200 };
  }

  private accountJson(account: Account): Record<string, unknown> {
    return { status: account.status, contact: account.contact, orders: this.url(`/acme/acct/${account.id}/orders`), createdAt: account.createdAt };
  }

  private async newAccount(verified: VerifiedRequest): Promise<Reply> {
    const payload = verified.payload ?? {};
    const jwk = verified.jwk!;
    const thumbprint = await thumbprintOf(jwk);
    const existing = this.deps.state.accountsByThumbprint.get(thumbprint);
    if (existing) return { status: 200, body: this.accountJson(existing), headers: { location: this.url(`/acme/acct/${existing.id}`) } };
    if (payload.onlyReturnExisting === true) throw new AcmeProblem("accountDoesNotExist", "no account exists for this key");
    const contact = contactsOf(payload.contact);
    let eabKeyId: string | null = null;
    if (this.deps.acme.eab.length > 0) {
      if (payload.externalAccountBinding === undefined) throw new AcmeProblem("externalAccountRequired", "this endpoint requires an external account binding (ask for a key id and HMAC key)");
      eabKeyId = await verifyExternalBinding(payload.externalAccountBinding, { url: this.url("/acme/new-account"), accountJwk: jwk, hmacKeyOf: (keyId) => this.hmacKeyOf(keyId) });
    }
    const account: Account = { id: newId(), jwk: publicJwk(jwk), thumbprint, status: "valid", contact, createdAt: this.deps.now().toISOString(), eabKeyId };
    this.deps.state.addAccount(account);
    await this.deps.state.saveAccount(account);
    return { status: 201, body: this.accountJson(account), headers: { location: this.url(`/acme/acct/${account.id}`) } };
  }

  private hmacKeyOf(keyId: string): Uint8Array | undefined {
    const entry = this.deps.acme.eab.find((e) => e.keyId === keyId);
    const value = entry ? this.deps.env[entry.hmacEnv] : undefined;
    return value ? Buffer.from(value, "base64url") : undefined;
  }

  private async updateAccount(verified: VerifiedRequest, id: string): Promise<Reply> {
    const account = verified.account!;
    if (account.id !== id) throw new AcmeProblem("unauthorized", "a request for an account must be signed by that account");
    const own = this.deps.state.accounts.get(id)!;
    const payload = verified.payload;
    if (payload) {
      if (payload.contact !== undefined) own.contact = contactsOf(payload.contact);
      if (payload.status !== undefined) {
        if (payload.status !== "deactivated") throw new AcmeProblem("malformed", `an account's status can only be changed to deactivated`);
        own.status = "deactivated";
        // RFC 8555 §7.3.6: pending authorizations of a deactivated account are deactivated too.
        for (const order of this.deps.state.orders.values()) {
          if (order.accountId !== id) continue;
          let changed = false;
          for (const authz of order.authorizations) if (authz.status === "pending") { authz.status = "deactivated"; changed = true; }
          if (changed) { this.settleOrder(order); void this.deps.state.saveOrder(order).catch((e: unknown) => this.deps.log(`acme: ${(e as Error).message}`)); }
        }
      }
      await this.deps.state.saveAccount(own);
    }
    return { status: 200, body: this.accountJson(own), headers: { location: this.url(`/acme/acct/${id}`) } };
  }

  private async newOrder(verified: VerifiedRequest): Promise<Reply> {
    const payload = verified.payload;
    if (!payload || !Array.isArray(payload.identifiers) || payload.identifiers.length === 0) throw new AcmeProblem("malformed", "newOrder needs a non-empty identifiers list");
    if (payload.identifiers.length > 100) throw new AcmeProblem("rejectedIdentifier", "at most 100 identifiers per order");
    const identifiers: Order["identifiers"] = [];
    const subproblems: NonNullable<ProblemDocument["subproblems"]> = [];
    const issuer = this.deps.issuer();
    for (const raw of payload.identifiers as unknown[]) {
      const given = raw as { type?: unknown; value?: unknown };
      if (typeof given !== "object" || given === null || typeof given.type !== "string" || typeof given.value !== "string") throw new AcmeProblem("malformed", "each identifier needs a type and a value");
      const identifier = { type: given.type, value: given.value };
      const name = identifierName(identifier);
      const why = typeof name === "string" ? name : identifierRefusal(name, this.deps.acme, issuer.caPath);
      if (why) {
        subproblems.push({ type: `urn:ietf:params:acme:error:${typeof name === "string" && !["dns", "ip"].includes(identifier.type) ? "unsupportedIdentifier" : "rejectedIdentifier"}`, detail: why, identifier });
        continue;
      }
      const canonical = { type: identifier.type as "dns" | "ip", value: (name as { value: string }).value };
      if (!identifiers.some((i) => i.type === canonical.type && i.value === canonical.value)) identifiers.push(canonical);
    }
    if (subproblems.length) {
      throw new AcmeProblem("rejectedIdentifier", `this endpoint will not issue for ${subproblems.map((s) => s.identifier.value).join(", ")}: ${subproblems.map((s) => s.detail).join("; ")}`, 400, subproblems);
    }
    const now = this.deps.now();
    const expires = new Date(now.getTime() + ORDER_LIFETIME_MS).toISOString();
    const order: Order = {
      id: newId(),
      accountId: verified.account!.id,
      status: "pending",
      expires,
      identifiers,
      authorizations: identifiers.map((identifier) => ({
        id: newId(),
        identifier,
        status: "pending",
        expires,
        challenges: this.deps.acme.challenges.map((type) => ({ type, token: randomBytes(32).toString("base64url"), status: "pending", validated: null, error: null })),
      })),
      error: null,
      certificate: null,
      createdAt: now.toISOString(),
    };
    this.deps.state.addOrder(order);
    await this.deps.state.saveOrder(order);
    return { status: 201, body: this.orderJson(order), headers: { location: this.url(`/acme/order/${order.id}`) } };
  }

  /** The order with `id` if the signing account owns it. */
  private ownOrder(verified: VerifiedRequest, id: string): Order {
    const order = this.deps.state.orders.get(id);
    if (!order) throw new AcmeProblem("malformed", "no such order", 404);
    if (order.accountId !== verified.account!.id) throw new AcmeProblem("unauthorized", "this order belongs to another account");
    this.expire(order);
    return order;
  }

  private ownAuthz(verified: VerifiedRequest, id: string): { order: Order; authz: Authorization } {
    const order = this.deps.state.authzOrder.get(id);
    if (!order) throw new AcmeProblem("malformed", "no such authorization", 404);
    if (order.accountId !== verified.account!.id) throw new AcmeProblem("unauthorized", "this authorization belongs to another account");
    this.expire(order);
    return { order, authz: order.authorizations.find((a) => a.id === id)! };
  }

  /** An order or authorization past its expiry is no longer usable (RFC 8555 §7.1.6). */
  private expire(order: Order): void {
    if (Date.parse(order.expires) > this.deps.now().getTime() || order.status === "valid" || order.status === "invalid") return;
    for (const authz of order.authorizations) if (authz.status === "pending") authz.status = "expired";
    order.status = "invalid";
  }

  orderJson(order: Order): Record<string, unknown> {
    return {
      status: order.status,
      expires: order.expires,
      identifiers: order.identifiers,
      authorizations: order.authorizations.map((a) => this.url(`/acme/authz/${a.id}`)),
      finalize: this.url(`/acme/order/${order.id}/finalize`),
      ...(order.certificate ? { certificate: this.url(`/acme/cert/${order.id}`) } : {}),
      ...(order.error ? { error: order.error } : {}),
    };
  }

  private authzJson(authz: Authorization): Record<string, unknown> {
    return { identifier: authz.identifier, status: authz.status, expires: authz.expires, challenges: authz.challenges.map((c) => this.challengeJson(authz, c)) };
  }

  private challengeJson(authz: Authorization, challenge: Challenge): Record<string, unknown> {
    return {
      type: challenge.type,
      url: this.url(`/acme/chall/${authz.id}/${challenge.type}`),
      token: challenge.token,
      status: challenge.status,
      ...(challenge.validated ? { validated: challenge.validated } : {}),
      ...(challenge.error ? { error: challenge.error } : {}),
    };
  }

  private async authorization(verified: VerifiedRequest, id: string): Promise<Reply> {
    const { order, authz } = this.ownAuthz(verified, id);
    if (verified.payload) {
      if (verified.payload.status !== "deactivated") throw new AcmeProblem("malformed", "an authorization's status can only be changed to deactivated");
      if (authz.status === "pending" || authz.status === "valid") {
        authz.status = "deactivated";
        this.settleOrder(order);
        await this.deps.state.saveOrder(order);
      }
    }
    const processing = authz.challenges.some((c) => c.status === "processing");
    return { status: 200, body: this.authzJson(authz), ...(processing ? { headers: { "retry-after": "1" } } : {}) };
  }

  private async challenge(verified: VerifiedRequest, authzId: string, type: AcmeChallengeType): Promise<Reply> {
    const { order, authz } = this.ownAuthz(verified, authzId);
    const challenge = authz.challenges.find((c) => c.type === type);
    if (!challenge) throw new AcmeProblem("malformed", `this authorization offers no ${type} challenge`, 404);
    // An empty object asks for validation; POST-as-GET only reads the challenge.
    if (verified.payload && challenge.status === "pending" && authz.status === "pending") {
      challenge.status = "processing";
      await this.deps.state.saveOrder(order);
      const running = this.runValidation(order, authz, challenge, verified.account!.id);
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, VALIDATION_WAIT_MS).unref())]);
    }
    const headers: Record<string, string> = { link: `<${this.url(`/acme/authz/${authz.id}`)}>;rel="up"` };
    if (challenge.status === "processing") headers["retry-after"] = "1";
    return { status: 200, body: this.challengeJson(authz, challenge), headers };
  }

  private runValidation(order: Order, authz: Authorization, challenge: Challenge, accountId: string): Promise<void> {
    const key = `${authz.id}/${challenge.type}`;
    const existing = this.validations.get(key);
    if (existing) return existing;
    const account = this.deps.state.accounts.get(accountId)!;
    const validator = this.deps.validate?.[challenge.type] ?? (challenge.type === "http-01" ? validateHttp01 : validateTlsAlpn01);
    const running = (async () => {
      const problem = await validator({ identifier: authz.identifier, token: challenge.token, keyAuthorization: `${challenge.token}.${account.thumbprint}` }, this.deps.acme).catch(
        (error: unknown) => ({ type: "urn:ietf:params:acme:error:serverInternal", detail: String((error as Error)?.message ?? error), status: 500 }) as ProblemDocument,
      );
      if (authz.status !== "pending") return; // deactivated or expired meanwhile
      if (problem) {
        challenge.status = "invalid";
        challenge.error = problem;
        authz.status = "invalid";
        this.deps.log(`acme: ${challenge.type} for ${authz.identifier.value} failed: ${problem.detail}`);
      } else {
        challenge.status = "valid";
        challenge.validated = this.deps.now().toISOString();
        authz.status = "valid";
      }
      this.settleOrder(order);
      await this.deps.state.saveOrder(order);
    })().finally(() => this.validations.delete(key));
    this.validations.set(key, running);
    return running;
  }

  /** Derives a pending order's status from its authorizations (RFC 8555 §7.1.6). */
  private settleOrder(order: Order): void {
    if (order.status !== "pending" && order.status !== "ready") return;
    const failed = order.authorizations.find((a) => a.status !== "pending" && a.status !== "valid");
    if (failed) {
      order.status = "invalid";
      const challengeError = failed.challenges.find((c) => c.error)?.error;
      order.error = challengeError ?? { type: "urn:ietf:params:acme:error:unauthorized", detail: `the authorization for ${failed.identifier.value} is ${failed.status}`, status: 403 };
    } else if (order.authorizations.every((a) => a.status === "valid")) {
      order.status = "ready";
    }
  }

  private async finalize(verified: VerifiedRequest, id: string): Promise<Reply> {
    const order = this.ownOrder(verified, id);
    if (order.status !== "ready") throw new AcmeProblem("orderNotReady", `the order is ${order.status}, not ready: ${order.status === "pending" ? "complete its authorizations first" : "it cannot be finalized"}`);
    const csr = verified.payload?.csr;
    if (typeof csr !== "string" || !/^[A-Za-z0-9_-]+$/.test(csr)) throw new AcmeProblem("malformed", "finalize needs a csr: the DER request in base64url");
    order.status = "processing";
    let issued;
    try {
      issued = issueForOrder({ csrDer: Buffer.from(csr, "base64url"), identifiers: order.identifiers, issuer: this.deps.issuer(), acme: this.deps.acme, now: this.deps.now() });
    } catch (error) {
      // A refused CSR leaves the order ready: the client may send a better one.
      order.status = "ready";
      throw error;
    }
    await this.deps.state.saveCertificate(order.id, issued.chainPem);
    order.status = "valid";
    order.certificate = { serial: issued.serial, notAfter: issued.notAfter, revoked: false };
    await this.deps.state.saveOrder(order);
    this.deps.log(`acme: issued ${order.identifiers.map((i) => i.value).join(", ")} (serial ${issued.serial}, until ${issued.notAfter})`);
    return { status: 200, body: this.orderJson(order), headers: { location: this.url(`/acme/order/${order.id}`) } };
  }

  private certificate(verified: VerifiedRequest, id: string): Reply {
    const order = this.ownOrder(verified, id);
    const chain = order.certificate ? this.deps.state.readCertificate(order.id) : null;
    if (!chain) throw new AcmeProblem("malformed", "no certificate was issued for this order", 404);
    return { status: 200, text: chain, contentType: "application/pem-certificate-chain" };
  }
}

function leafDerOf(chainPem: string | null): Buffer | undefined {
  const leaf = chainPem === null ? undefined : leafOf(chainPem);
  return leaf === undefined ? undefined : new X509Certificate(leaf).raw;
}

function contactsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 20 || !value.every((c) => typeof c === "string" && c.length <= 500)) throw new AcmeProblem("invalidContact", "contact must be a list of mailto: URLs");
  for (const contact of value as string[]) {
    if (!/^mailto:[^\s@,]+@[^\s@,]+$/.test(contact)) throw new AcmeProblem("invalidContact", `contact ${JSON.stringify(contact)} is not a mailto: URL with one address`);
  }
  return value as string[];
}

/** Only the public members of a JWK are kept (RFC 7638 §3.2 lists them per key type). */
function publicJwk(jwk: Record<string, unknown>): Account["jwk"] {
  const members: Record<string, readonly string[]> = { EC: ["kty", "crv", "x", "y"], RSA: ["kty", "n", "e"], OKP: ["kty", "crv", "x"] };
  const keep = members[String(jwk.kty)] ?? ["kty"];
  return Object.fromEntries(keep.filter((k) => k in jwk).map((k) => [k, jwk[k]])) as Account["jwk"];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new AcmeProblem("malformed", `the request body is larger than ${MAX_BODY} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
