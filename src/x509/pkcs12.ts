import { createHmac, type KeyObject } from "node:crypto";
import { encodePkcs12 } from "./forge.js";

/** A PKCS#12 file holding `key` and `certDers` (leaf first, then its chain), sealed with `password`. */
export function buildPkcs12(args: { certDers: Buffer[]; key: KeyObject; password: string; friendlyName: string; random: Buffer }): Buffer {
  return encodePkcs12({
    certDers: args.certDers,
    encryptedKeyDer: args.key.export({ type: "pkcs8", format: "der", cipher: "aes-256-cbc", passphrase: args.password }),
    friendlyName: args.friendlyName,
    password: args.password,
    salt: args.random,
    hmac: (macKey, data) => createHmac("sha256", macKey).update(data).digest(),
  });
}
