import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import type { JWK } from "jose";
import * as z from "../config/zod.js";
import { writeFilesAtomically } from "../store/atomic-write.js";
import { prepareFolder, readOutputFile } from "../store/guard.js";
import { acmeDir, acmeObjectPath, MODES } from "../store/layout.js";
import type { ProblemDocument } from "./problem.js";

/**
 * ACME state in the output folder: one JSON file per account and per order (its authorizations inside), and
 * one PEM chain per issued certificate. Memory is the working copy; every change is written atomically
 * (temp file, fsync, rename) before the response that reports it. Read back at start, the files are
 * untrusted input: each is validated with zod, its id must match its file name, and paths are derived from
 * ids of a fixed alphabet, never from file contents.
 */

const ID = /^[A-Za-z0-9_-]{22}$/;
export const newId = () => randomBytes(16).toString("base64url");

const isoTime = z.string().refine((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t) && Number.isFinite(Date.parse(t)));
const id = z.string().regex(ID);
const identifier = z.strictObject({ type: z.enum(["dns", "ip"]), value: z.string().min(1).max(253) });
const problem = z.strictObject({ type: z.string().max(200), detail: z.string().max(2000), status: z.number().int() });
const jwk = z.record(z.string(), z.unknown()).refine((k) => typeof k.kty === "string" && !("d" in k), "expected a public JWK");

const accountSchema = z.strictObject({
  id,
  jwk,
  thumbprint: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  status: z.enum(["valid", "deactivated", "revoked"]),
  contact: z.array(z.string().max(500)).max(20),
  createdAt: isoTime,
  eabKeyId: z.string().max(200).nullable(),
});

const challengeSchema = z.strictObject({
  type: z.enum(["http-01", "tls-alpn-01"]),
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  status: z.enum(["pending", "processing", "valid", "invalid"]),
  validated: isoTime.nullable(),
  error: problem.nullable(),
});

const authzSchema = z.strictObject({
  id,
  identifier,
  status: z.enum(["pending", "valid", "invalid", "deactivated", "expired", "revoked"]),
  expires: isoTime,
  challenges: z.array(challengeSchema).max(4),
});

const orderSchema = z.strictObject({
  id,
  accountId: id,
  status: z.enum(["pending", "ready", "processing", "valid", "invalid"]),
  expires: isoTime,
  identifiers: z.array(identifier).min(1).max(100),
  authorizations: z.array(authzSchema).min(1).max(100),
  error: problem.nullable(),
  certificate: z
    .strictObject({
      serial: z.string().regex(/^[0-9a-f]{1,64}$/),
      notAfter: isoTime,
      revoked: z.boolean(),
      // RFC 5280 CRLReason code and when revokeCert was accepted.
      revocation: z.strictObject({ at: isoTime, reason: z.number().int().min(0).max(10) }).nullable().optional(),
    })
    .nullable(),
  createdAt: isoTime,
});

export type Account = z.infer<typeof accountSchema> & { jwk: JWK };
export type Challenge = z.infer<typeof challengeSchema> & { error: ProblemDocument | null };
export type Authorization = Omit<z.infer<typeof authzSchema>, "challenges"> & { challenges: Challenge[] };
export type Order = Omit<z.infer<typeof orderSchema>, "authorizations" | "error"> & { authorizations: Authorization[]; error: ProblemDocument | null };

export class AcmeState {
  readonly accounts = new Map<string, Account>();
  readonly accountsByThumbprint = new Map<string, Account>();
  readonly orders = new Map<string, Order>();
  /** Authorization id → its order. */
  readonly authzOrder = new Map<string, Order>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly prepared = new Set<string>();

  private constructor(readonly outputDir: string) {}

  /** Reads every account and order under <output>/acme; files that do not validate are skipped and listed. */
  static load(outputDir: string): { state: AcmeState; problems: string[] } {
    const state = new AcmeState(outputDir);
    const problems: string[] = [];
    for (const [folder, schema] of [["accounts", accountSchema], ["orders", orderSchema]] as const) {
      let names: string[] = [];
      try {
        names = readdirSync(path.join(acmeDir(outputDir), folder));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        const match = /^([A-Za-z0-9_-]{22})\.json$/.exec(name);
        if (!match) continue;
        const text = readOutputFile(acmeObjectPath(outputDir, folder, match[1]!, "json"));
        let value: unknown;
        try {
          value = JSON.parse(text ?? "");
        } catch {
          problems.push(`acme/${folder}/${name} is not JSON; ignored`);
          continue;
        }
        const parsed = schema.safeParse(value);
        if (!parsed.success || parsed.data.id !== match[1]) {
          problems.push(`acme/${folder}/${name} does not fit (${parsed.success ? "its id is not its file name" : parsed.error.issues[0]!.path.join(".") + ": " + parsed.error.issues[0]!.message}); ignored`);
          continue;
        }
        if (folder === "accounts") state.addAccount(parsed.data as Account);
        else state.addOrder(parsed.data as Order);
      }
    }
    for (const order of [...state.orders.values()]) {
      if (!state.accounts.has(order.accountId)) {
        problems.push(`acme/orders/${order.id}.json belongs to no known account; ignored`);
        state.orders.delete(order.id);
        for (const authz of order.authorizations) state.authzOrder.delete(authz.id);
      }
    }
    return { state, problems };
  }

  addAccount(account: Account): void {
    this.accounts.set(account.id, account);
    this.accountsByThumbprint.set(account.thumbprint, account);
  }

  addOrder(order: Order): void {
    this.orders.set(order.id, order);
    for (const authz of order.authorizations) this.authzOrder.set(authz.id, order);
  }

  saveAccount(account: Account): Promise<void> {
    return this.write("accounts", account.id, "json", () => `${JSON.stringify(account, null, 2)}\n`);
  }

  saveOrder(order: Order): Promise<void> {
    return this.write("orders", order.id, "json", () => `${JSON.stringify(order, null, 2)}\n`);
  }

  saveCertificate(orderId: string, chainPem: string): Promise<void> {
    return this.write("certs", orderId, "pem", () => chainPem);
  }

  readCertificate(orderId: string): string | null {
    if (!ID.test(orderId)) return null;
    return readOutputFile(acmeObjectPath(this.outputDir, "certs", orderId, "pem"));
  }

  /**
   * Writes one object's file. Writes of the same file run one after another, each taking the object as it
   * is when its turn comes, so the last write on disk always holds the latest state.
   */
  private write(folder: "accounts" | "orders" | "certs", objectId: string, ext: "json" | "pem", content: () => string): Promise<void> {
    const file = acmeObjectPath(this.outputDir, folder, objectId, ext);
    const dir = path.dirname(file);
    if (!this.prepared.has(dir)) {
      prepareFolder(this.outputDir, dir, MODES.keyDir);
      this.prepared.add(dir);
    }
    const previous = this.writes.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => writeFilesAtomically([{ path: file, content: content(), mode: 0o600 }]));
    this.writes.set(file, next);
    void next.finally(() => {
      if (this.writes.get(file) === next) this.writes.delete(file);
    }).catch(() => undefined);
    return next;
  }

  /** Waits for every write in flight (before exit). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }
}
