import { REASON_CODES } from "../config/types.js";
import type { KeyUsageName } from "./spec.js";

/** The object identifiers provision writes and reads (RFC 5280, RFC 5758, RFC 4055). */
export const OID = {
  country: "2.5.4.6",
  state: "2.5.4.8",
  locality: "2.5.4.7",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  nameConstraints: "2.5.29.30",
  crlDistributionPoints: "2.5.29.31",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  ecdsaWithSHA384: "1.2.840.10045.4.3.3",
  extensionRequest: "1.2.840.113549.1.9.14",
} as const;

export const KEY_USAGE_BITS: Record<KeyUsageName, number> = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };
/** GeneralName's context tags (RFC 5280 §4.2.1.6) for the types provision models. */
export const GENERAL_NAME_TAG = { email: 1, dns: 2, uri: 6, ip: 7 } as const;

/** CRLReason codes (RFC 5280 §5.3.1) by name, including those provision never writes but may read back. */
export const REASON_NAMES = new Map<number, string>([...Object.entries(REASON_CODES).map(([name, code]) => [code, name] as [number, string]), [6, "certificateHold"], [8, "removeFromCRL"], [10, "aACompromise"]]);
export const REASON_BY_NAME = new Map<string, number>([...REASON_NAMES].map(([code, name]) => [name, code]));
