import { bytesToIp, ipToBytes } from "./alt-names.js";

/**
 * CIDR arithmetic, in one place for the config (canonical ranges, constraint checks) and x509/ (encode.ts, forge.ts)
 * (NameConstraints carry an iPAddress subtree as address bytes followed by netmask bytes, RFC 5280 §4.2.1.10).
 */

/** The netmask of a prefix length, as bytes: `prefixMask(4, 12)` is ff f0 00 00. */
export function prefixMask(length: number, prefix: number): Buffer {
  const mask = Buffer.alloc(length);
  for (let bit = 0; bit < Math.min(prefix, length * 8); bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
  return mask;
}

/** The prefix length of a netmask: its number of one bits (ff f0 00 00 → 12). */
export function maskPrefix(mask: Buffer): number {
  let prefix = 0;
  for (const byte of mask) for (let b = byte; b; b >>= 1) prefix += b & 1;
  return prefix;
}

/** The network address of an address and prefix, as bytes (10.1.2.3/8 → 0a 00 00 00). */
export function networkBytes(address: string, prefix: number): Buffer {
  const bytes = ipToBytes(address);
  const mask = prefixMask(bytes.length, prefix);
  return Buffer.from(bytes.map((byte, i) => byte & mask[i]!));
}

/** The network address in canonical text (10.1.2.3/8 → 10.0.0.0). */
export function networkOf(address: string, prefix: number): string {
  return bytesToIp(networkBytes(address, prefix));
}

/** Whether an address lies inside a range; an address of the other family never does. */
export function ipWithin(address: string, network: string, prefix: number): boolean {
  if (ipToBytes(address).length !== ipToBytes(network).length) return false;
  return networkBytes(address, prefix).equals(networkBytes(network, prefix));
}
