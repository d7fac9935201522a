import { describe, expect, it } from "vitest";
import type { IdentitySpec } from "../../src/config/types.js";
import { passphraseCandidates, passphraseOf } from "../../src/store/passphrase.js";
import type { StateRecord } from "../../src/store/state-file.js";
import { TEST_SECRETS } from "../helpers/secrets.js";

const id = (passphraseEnv: string | null) => ({ passphraseEnv }) as IdentitySpec;
const record = (passphraseEnv: string | null) => ({ passphraseEnv }) as StateRecord;
const env = { NOW: TEST_SECRETS.rotated, BEFORE: TEST_SECRETS.primary, SAME: TEST_SECRETS.rotated, EMPTY: "" };

describe("passphraseCandidates", () => {
  it("the current variable first, then the one the key was last encrypted under", () => {
    expect(passphraseCandidates(id("NOW"), record("BEFORE"), env)).toEqual([TEST_SECRETS.rotated, TEST_SECRETS.primary]);
    expect(passphraseCandidates(id("BEFORE"), record("NOW"), env)).toEqual([TEST_SECRETS.primary, TEST_SECRETS.rotated]);
  });

  it("each value once, whether two names are the same or two variables hold the same value", () => {
    expect(passphraseCandidates(id("NOW"), record("NOW"), env)).toEqual([TEST_SECRETS.rotated]);
    expect(passphraseCandidates(id("NOW"), record("SAME"), env)).toEqual([TEST_SECRETS.rotated]);
  });

  it("no variable named, unset or empty: nothing to try", () => {
    expect(passphraseCandidates(id(null), undefined, env)).toEqual([]);
    expect(passphraseCandidates(id(null), record(null), env)).toEqual([]);
    expect(passphraseCandidates(id("UNSET"), record("EMPTY"), env)).toEqual([]);
    expect(passphraseCandidates(id(null), record("BEFORE"), env)).toEqual([TEST_SECRETS.primary]);
    expect(passphraseCandidates(id("EMPTY"), undefined, env)).toEqual([]);
  });
});

describe("passphraseOf", () => {
  it("the value of the identity's variable, or null", () => {
    expect(passphraseOf(id("NOW"), env)).toBe(TEST_SECRETS.rotated);
    expect(passphraseOf(id("UNSET"), env)).toBeNull();
    expect(passphraseOf(id(null), { null: "x" } as NodeJS.ProcessEnv)).toBeNull();
    expect(passphraseOf(id("EMPTY"), env)).toBe("");
  });
});
