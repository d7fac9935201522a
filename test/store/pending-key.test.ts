import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { Locate } from "../../src/config/locate.js";
import type { IdentitySpec, KeyType } from "../../src/config/types.js";
import { MAX_READ_BYTES } from "../../src/store/guard.js";
import { hasPendingKey, readPendingKey } from "../../src/store/pending-key.js";
import { keyTypeOf } from "../../src/x509/keys.js";
import { refusal } from "../helpers/refusal.js";
import { TEST_SECRETS } from "../helpers/secrets.js";

/**
 * The pending key of a renewal request (next-key.pem, store/pending-key.ts), read back as hostile input from real
 * files in a temp folder: each thing that stops `provision csr`/`import` (a symlink, not a file, another owner,
 * readable by others, not a key, a key of another type) with its message and hint, and what it lets through.
 * The CLI scenarios are test/e2e/member-renewal.e2e.test.ts.
 */
function folder(): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "provision-pending-key-")));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const identity = (key: KeyType = "ecdsa-p256", passphraseEnv: string | null = null) =>
  ({ name: "web", key, passphraseEnv, yamlPath: ["servers", "web"] }) as unknown as IdentitySpec;

const ecKey = (curve: string) => generateKeyPairSync("ec", { namedCurve: curve }).privateKey;
const pemOf = (key: KeyObject, passphrase?: string) =>
  key.export(passphrase === undefined ? { type: "pkcs8", format: "pem" } : { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string;

/** A file `next-key.pem` holding `text`, mode 0600. */
function pending(dir: string, text: string, mode = 0o600): string {
  const file = path.join(dir, "next-key.pem");
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

const defaultHint = "remove it, or run provision csr web --new-key to replace it with a fresh key (and send the new request); nothing was written";
const removeHint = "remove servers/web/next-key.pem, then run provision csr web again for a request with a fresh key; nothing was written";
const shown = "servers/web/next-key.pem";

describe("hasPendingKey", () => {
  it("nothing there is no pending key; a file, a dangling symlink or a folder is one", () => {
    const dir = folder();
    const file = path.join(dir, "next-key.pem");
    expect(hasPendingKey(file)).toBe(false);
    symlinkSync(path.join(dir, "nowhere"), file);
    expect(hasPendingKey(file)).toBe(true);
    rmSync(file);
    writeFileSync(file, "x");
    expect(hasPendingKey(file)).toBe(true);
    rmSync(file);
    mkdirSync(file);
    expect(hasPendingKey(file)).toBe(true);
  });

  it("a path that cannot be inspected (a symlink loop on the way) is an error naming it", () => {
    const dir = folder();
    symlinkSync("loop", path.join(dir, "loop"));
    const file = path.join(dir, "loop", "next-key.pem");
    const error = refusal(() => hasPendingKey(file));
    expect(error.message).toMatch(new RegExp(`^cannot inspect ${file}: `));
    expect(error.message).toMatch(/ELOOP|symbolic links/);
  });
});

describe("readPendingKey", () => {
  it("none: null", () => {
    const dir = folder();
    expect(readPendingKey(path.join(dir, "next-key.pem"), shown, identity(), {})).toBeNull();
  });

  it("a private key of pki.yaml's type, mode 0600: returned with its text", () => {
    const dir = folder();
    const text = pemOf(ecKey("P-256"));
    const file = pending(dir, text);
    const read = readPendingKey(file, shown, identity(), {})!;
    expect(read.pem).toBe(text);
    expect(keyTypeOf(read.key)).toBe("ecdsa-p256");
    expect(read.key.export({ type: "pkcs8", format: "pem" })).toBe(text);
  });

  it("a path that cannot be inspected is an error naming the file as shown", () => {
    const dir = folder();
    symlinkSync("loop", path.join(dir, "loop"));
    const error = refusal(() => readPendingKey(path.join(dir, "loop", "next-key.pem"), shown, identity(), {}));
    expect(error.message).toMatch(new RegExp(`^cannot inspect ${shown}: `));
    expect(error.code).not.toBe("pending-key");
  });

  it("a symlink (even to a good key of this user, mode 0600) is refused, never followed", () => {
    const dir = folder();
    const target = path.join(dir, "elsewhere.pem");
    writeFileSync(target, pemOf(ecKey("P-256")), { mode: 0o600 });
    const file = path.join(dir, "next-key.pem");
    symlinkSync(target, file);
    const error = refusal(() => readPendingKey(file, shown, identity(), {}));
    expect(error.code).toBe("pending-key");
    expect(error.message).toBe(`the pending key ${shown} is a symlink: provision never follows one inside the output folder`);
    expect(error.hint).toBe(removeHint);
  });

  it("a folder is not a regular file", () => {
    const dir = folder();
    const file = path.join(dir, "next-key.pem");
    mkdirSync(file, { mode: 0o700 });
    const error = refusal(() => readPendingKey(file, shown, identity(), {}));
    expect(error.code).toBe("pending-key");
    expect(error.message).toBe(`the pending key ${shown} is not a regular file`);
    expect(error.hint).toBe(removeHint);
  });

  it("a key file of another user is refused, naming both users", () => {
    const uid = process.getuid!();
    const dir = folder();
    const file = pending(dir, pemOf(ecKey("P-256")));
    chownSync(file, 65534, 65534);
    const error = refusal(() => readPendingKey(file, shown, identity(), {}));
    expect(error.code).toBe("pending-key");
    expect(error.message).toBe(`the pending key ${shown} belongs to user 65534, not to the user running provision (${uid})`);
    expect(error.hint).toBe(removeHint);
  });

  it("readable or writable by group or others (each bit): refused with its mode; 0600 and 0400 are accepted", () => {
    const dir = folder();
    const text = pemOf(ecKey("P-256"));
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o610, 0o601]) {
      const file = pending(dir, text, mode);
      const error = refusal(() => readPendingKey(file, shown, identity(), {}));
      expect(error.code).toBe("pending-key");
      expect(error.message).toBe(`the pending key ${shown} is readable or writable by others (mode ${mode.toString(8).padStart(4, "0")}), so it may be known to them; provision writes it 0600`);
      expect(error.hint).toBe(defaultHint);
    }
    for (const mode of [0o600, 0o400, 0o700]) {
      expect(readPendingKey(pending(dir, text, mode), shown, identity(), {})!.pem).toBe(text);
    }
  });

  it("a file too large to be a key: the read's own refusal, not taken for a symlink", () => {
    const dir = folder();
    const file = pending(dir, "");
    truncateSync(file, MAX_READ_BYTES + 1);
    const error = refusal(() => readPendingKey(file, shown, identity(), {}));
    expect(error.code).toBe("unreadable");
    expect(error.message).toContain(`${MAX_READ_BYTES + 1} bytes is more than`);
  });

  it("text that is not a private key is refused as such, with the hint to make a fresh one", () => {
    const dir = folder();
    for (const text of ["", "not a key\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]) {
      const error = refusal(() => readPendingKey(pending(dir, text), shown, identity(), {}));
      expect(error.code).toBe("pending-key");
      expect(error.message).toBe(`the pending key ${shown} is not a private key provision can read`);
      expect(error.hint).toBe(defaultHint);
      expect(error.diagnostics).toEqual([]);
    }
  });

  it("an encrypted key: read with the identity's passphrase; without it or with a wrong one the passphrase error is passed on as is", () => {
    const dir = folder();
    const key = ecKey("P-256");
    const text = pemOf(key, TEST_SECRETS.companyCa);
    const file = pending(dir, text);
    const id = identity("ecdsa-p256", "NEXT_PASS");
    const read = readPendingKey(file, shown, id, { NEXT_PASS: TEST_SECRETS.companyCa })!;
    expect(read.pem).toBe(text);
    expect(read.key.export({ type: "pkcs8", format: "pem" })).toBe(pemOf(key));

    const missing = refusal(() => readPendingKey(file, shown, id, {}));
    expect(missing.code).toBe("passphrase-missing");
    expect(missing.message).toBe(`${shown} is encrypted and no passphrase is available`);
    const wrong = refusal(() => readPendingKey(file, shown, id, { NEXT_PASS: TEST_SECRETS.wrong }));
    expect(wrong.code).toBe("passphrase-wrong");
    expect(wrong.message).toBe(`cannot decrypt ${shown}: wrong passphrase in NEXT_PASS`);
  });

  it("a key of another type than pki.yaml's key: refused with the fix, located at key: when a locator is given", () => {
    const dir = folder();
    const file = pending(dir, pemOf(ecKey("P-384")));
    const asked: unknown[] = [];
    const locate: Locate = (yamlPath) => {
      asked.push(yamlPath);
      return { file: "pki.yaml", line: 7, col: 5 };
    };
    const located = refusal(() => readPendingKey(file, shown, identity("ecdsa-p256"), {}, locate));
    expect(located.code).toBe("pending-key");
    expect(located.message).toBe(`the pending key ${shown} is an ecdsa-p384 key, and pki.yaml asks for ecdsa-p256 for web`);
    expect(located.hint).toBe("pki.yaml's key type changed since provision csr made it: run provision csr web --new-key for a request with a fresh ecdsa-p256 key (and send that one); nothing was written");
    expect(asked).toEqual([["servers", "web", "key"]]);
    expect(located.diagnostics).toEqual([{ severity: "error", file: "pki.yaml", line: 7, col: 5, message: `key: ecdsa-p256, but the pending key ${shown} is ecdsa-p384` }]);

    const unlocated = refusal(() => readPendingKey(file, shown, identity("ecdsa-p256"), {}));
    expect(unlocated.message).toBe(located.message);
    expect(unlocated.diagnostics).toEqual([]);
  });

  it("a key of a type provision does not issue is named unsupported", () => {
    const dir = folder();
    const file = pending(dir, pemOf(generateKeyPairSync("ed25519").privateKey));
    const locate: Locate = () => ({ file: "pki.yaml", line: 3, col: 9 });
    const error = refusal(() => readPendingKey(file, shown, identity("rsa-2048"), {}, locate));
    expect(error.code).toBe("pending-key");
    expect(error.message).toBe(`the pending key ${shown} is an unsupported key, and pki.yaml asks for rsa-2048 for web`);
    expect(error.diagnostics).toEqual([{ severity: "error", file: "pki.yaml", line: 3, col: 9, message: `key: rsa-2048, but the pending key ${shown} is of an unsupported type` }]);
  });
});
