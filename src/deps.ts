import { randomBytes } from "node:crypto";
import type { KeyType } from "./config/types.js";
import { generateKey, type KeyMaterial } from "./x509/keys.js";

/** The side effects the core needs, passed in so tests can fix the clock and count key generations. */
export interface Deps {
  now(): Date;
  randomBytes(size: number): Buffer;
  generateKey(type: KeyType): Promise<KeyMaterial>;
  env: NodeJS.ProcessEnv;
}

export function realDeps(overrides: Partial<Deps> = {}): Deps {
  return { now: () => new Date(), randomBytes, generateKey, env: process.env, ...overrides };
}
