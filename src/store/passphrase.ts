import type { IdentitySpec } from "../config/types.js";
import type { StateRecord } from "./state-file.js";

/**
 * Passphrases worth trying for an identity's key: from its current passphraseEnv, then from the variable
 * the key was last encrypted under (recorded in state.json). Only variable names are ever stored.
 */
export function passphraseCandidates(id: IdentitySpec, record: StateRecord | undefined, env: NodeJS.ProcessEnv): string[] {
  const names = [id.passphraseEnv, record?.passphraseEnv ?? null].filter((n): n is string => n !== null);
  const values = [...new Set(names)].map((name) => env[name]).filter((v): v is string => v !== undefined && v !== "");
  return [...new Set(values)];
}

/** The passphrase a key is (re)written with: the value of the identity's passphraseEnv, or null for none. */
export function passphraseOf(id: Pick<IdentitySpec, "passphraseEnv">, env: NodeJS.ProcessEnv): string | null {
  return id.passphraseEnv === null ? null : (env[id.passphraseEnv] ?? null);
}
