// A small DER (X.690 §10) writer and reader on Buffers, for what every run that issues builds: certificates and
// CRLs (x509/encode.ts). node-forge's asn1 builds and concatenates binary strings and re-encodes nested trees,
// which cost a cold run of 100 leaves more than its ECDSA signatures; forge stays for the rarer structures.

/** Tag classes (X.690 §8.1.2.2) and the constructed bit. */
export const CONTEXT = 0x80;
export const CONSTRUCTED = 0x20;

/** Universal tag numbers used here. */
export const TAG = { BOOLEAN: 1, INTEGER: 2, BITSTRING: 3, OCTETSTRING: 4, NULL: 5, OID: 6, ENUMERATED: 10, UTF8: 12, SEQUENCE: 0x30, SET: 0x31, PRINTABLESTRING: 19, IA5STRING: 22, UTCTIME: 23, GENERALIZEDTIME: 24 } as const;

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** One TLV: tag byte (class, constructed bit and number < 31), definite minimal length, content. */
export function tlv(tag: number, content: Buffer): Buffer {
  const header = lengthBytes(content.length);
  const out = Buffer.allocUnsafe(1 + header.length + content.length);
  out[0] = tag;
  for (let i = 0; i < header.length; i++) out[1 + i] = header[i]!;
  content.copy(out, 1 + header.length);
  return out;
}

export const sequence = (items: readonly Buffer[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));
export const set = (items: readonly Buffer[]): Buffer => tlv(TAG.SET, Buffer.concat(items));
/** [n] EXPLICIT (constructed, context-specific) around the given encodings. */
export const explicit = (n: number, items: readonly Buffer[]): Buffer => tlv(CONTEXT | CONSTRUCTED | n, Buffer.concat(items));
/** [n] IMPLICIT primitive (context-specific) with these content bytes. */
export const implicit = (n: number, content: Buffer): Buffer => tlv(CONTEXT | n, content);
export const octetString = (bytes: Buffer): Buffer => tlv(TAG.OCTETSTRING, bytes);
export const TRUE = Buffer.from([TAG.BOOLEAN, 1, 0xff]);
export const NULL = Buffer.from([TAG.NULL, 0]);

const oids = new Map<string, Buffer>();

/** An OBJECT IDENTIFIER (X.690 §8.19), remembered: the same dozen identifiers go into every certificate. */
export function oid(id: string): Buffer {
  let encoded = oids.get(id);
  if (encoded) return encoded;
  const arcs = id.split(".").map(Number);
  const [first, second] = arcs as [number, number];
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || first > 2 || (first < 2 && second > 39)) throw new RangeError(`invalid OID ${id}`);
  const content: number[] = [];
  for (const arc of [40 * first + second, ...arcs.slice(2)]) {
    const base128 = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) base128.unshift(0x80 | (rest & 0x7f));
    content.push(...base128);
  }
  oids.set(id, (encoded = tlv(TAG.OID, Buffer.from(content))));
  return encoded;
}

/** An INTEGER from a non-negative safe integer, minimally encoded in two's complement (X.690 §8.3.2). */
export function integer(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as an INTEGER`);
  const bytes = [value & 0xff];
  for (let rest = Math.floor(value / 256); rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** An INTEGER whose content bytes are given (a serial); one redundant leading 00 or FF byte is dropped. */
export function integerBytes(bytes: Buffer): Buffer {
  const redundant = bytes.length > 1 && ((bytes[0] === 0 && (bytes[1]! & 0x80) === 0) || (bytes[0] === 0xff && (bytes[1]! & 0x80) !== 0));
  return tlv(TAG.INTEGER, redundant ? bytes.subarray(1) : bytes);
}

/** A BIT STRING of whole bytes (a signature, a key): no unused bits. */
export const bitString = (bytes: Buffer): Buffer => tlv(TAG.BITSTRING, Buffer.concat([Buffer.alloc(1), bytes]));

/** One element read back: its tag byte, where its content lies, and where it ends. */
export interface Element {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the element at `offset` of `der`; throws on an indefinite or truncated length or a high tag number. */
export function readElement(der: Buffer, offset: number, limit = der.length): Element {
  if (offset + 2 > limit) throw new RangeError("DER: truncated element");
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new RangeError("DER: tag numbers above 30 are not read");
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > limit) throw new RangeError("DER: unsupported length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new RangeError("DER: truncated element");
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element, in order. */
export function childrenOf(der: Buffer, parent: Element): Element[] {
  const children: Element[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readElement(der, at, parent.end);
    children.push(child);
    at = child.end;
  }
  return children;
}
