import { randomBytes } from "node:crypto";

/**
 * Anti-replay nonces (RFC 8555 §6.5): each is handed out once and accepted once. Kept in memory only, so a
 * restarted server answers an old nonce with badNonce and the client retries with a fresh one (§6.5 says
 * clients must). The oldest are forgotten past `capacity`, bounding memory under a flood of newNonce.
 */
export class NonceStore {
  private readonly live = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  issue(): string {
    const nonce = randomBytes(16).toString("base64url");
    this.live.add(nonce);
    if (this.live.size > this.capacity) this.live.delete(this.live.values().next().value!);
    return nonce;
  }

  /** True once for a nonce this store issued; false for unknown, reused or forgotten ones. */
  consume(nonce: string): boolean {
    return this.live.delete(nonce);
  }
}
