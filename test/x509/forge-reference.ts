// The certificate, CRL and request encoders as they were written with node-forge's asn1 (src/x509/forge.ts up to
// commit 9a11293), kept verbatim as the reference that x509/encode.ts must match byte for byte
// (test/x509/der-encoder.test.ts). Test-only: nothing in src/ imports it.
import forge from "node-forge";
import { ipToBytes, type AltName } from "../../src/config/alt-names.js";
import { networkBytes, prefixMask } from "../../src/config/cidr.js";
import { REASON_CODES, SUBJECT_FIELDS, type AltNameConstraint, type SubjectSpec } from "../../src/config/types.js";
import type { CertTemplate, CrlTemplate, ExtKeyUsageName, KeyUsageName, SignatureAlgorithm } from "../../src/x509/spec.js";

const asn1 = forge.asn1;
type Asn1 = forge.asn1.Asn1;
const U = 0x00;
const CTX = 0x80;
const T = { BOOLEAN: 1, INTEGER: 2, BITSTRING: 3, OCTETSTRING: 4, NULL: 5, OID: 6, ENUMERATED: 10, UTF8: 12, SEQUENCE: 16, SET: 17, PRINTABLESTRING: 19, UTCTIME: 23, GENERALIZEDTIME: 24 } as const;

const OID = {
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
} as const;

const KEY_USAGE_BITS: Record<KeyUsageName, number> = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };
const GENERAL_NAME_TAG = { email: 1, dns: 2, uri: 6, ip: 7 } as const;

const bin = (buf: Buffer) => buf.toString("binary");
const buf = (bytes: string) => Buffer.from(bytes, "binary");
const seq = (items: Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
const oid = (id: string) => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
const octets = (bytes: Buffer) => asn1.create(U, T.OCTETSTRING, false, bin(bytes));
const der = (node: Asn1) => buf(asn1.toDer(node).getBytes());
const fromDer = (bytes: string): Asn1 =>
  (asn1.fromDer as unknown as (b: string, o: { decodeBitStrings: boolean }) => Asn1)(bytes, { decodeBitStrings: false });

function namedBits(bits: number[]): Asn1 {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest % 8);
  return asn1.create(U, T.BITSTRING, false, String.fromCharCode(unused) + bin(bytes));
}

export function encodeName(subject: SubjectSpec): Asn1 {
  const rdns: Asn1[] = [];
  for (const field of SUBJECT_FIELDS) {
    const value = subject[field];
    if (value === undefined) continue;
    const type = field === "country" ? T.PRINTABLESTRING : T.UTF8;
    const text = field === "country" ? value : forge.util.encodeUtf8(value);
    rdns.push(asn1.create(U, T.SET, true, [seq([oid(OID[field]), asn1.create(U, type, false, text)])]));
  }
  return seq(rdns);
}

export function encodeTime(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 0 || year > 9999) throw new Error(`time ${date.getTime()} ms cannot be encoded in a certificate`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year >= 1950 && year <= 2049
    ? asn1.create(U, T.UTCTIME, false, `${two(year % 100)}${rest}`)
    : asn1.create(U, T.GENERALIZEDTIME, false, `${String(year).padStart(4, "0")}${rest}`);
}

function encodeGeneralName(name: AltName): Asn1 {
  if (name.type !== "ip" && /[^\x00-\x7f]/.test(name.value)) throw new Error(`alt name ${JSON.stringify(name.value)} is not ASCII`);
  const value = name.type === "ip" ? bin(ipToBytes(name.value)) : name.value;
  return asn1.create(CTX, GENERAL_NAME_TAG[name.type], false, value);
}

function encodeSubtree(c: AltNameConstraint): Asn1 {
  if (c.type !== "ip") return seq([asn1.create(CTX, GENERAL_NAME_TAG[c.type], false, c.value)]);
  const network = networkBytes(c.value, c.prefix);
  return seq([asn1.create(CTX, GENERAL_NAME_TAG.ip, false, bin(Buffer.concat([network, prefixMask(network.length, c.prefix)])))]);
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oid(id)];
  if (critical) parts.push(asn1.create(U, T.BOOLEAN, false, "\xff"));
  parts.push(octets(der(value)));
  return seq(parts);
}

function encodeExtensions(t: CertTemplate): Asn1[] {
  const exts: Asn1[] = [];
  const bc: Asn1[] = [];
  if (t.isCa) {
    bc.push(asn1.create(U, T.BOOLEAN, false, "\xff"));
    if (t.pathLength !== null) bc.push(asn1.create(U, T.INTEGER, false, asn1.integerToDer(t.pathLength).getBytes()));
  }
  exts.push(extension(OID.basicConstraints, true, seq(bc)));
  exts.push(extension(OID.keyUsage, true, namedBits(t.keyUsage.map((u) => KEY_USAGE_BITS[u]))));
  if (t.extKeyUsage.length) exts.push(extension(OID.extKeyUsage, false, seq(t.extKeyUsage.map((u: ExtKeyUsageName) => oid(OID[u])))));
  if (t.altNames.length) exts.push(extension(OID.subjectAltName, false, seq(t.altNames.map(encodeGeneralName))));
  exts.push(extension(OID.subjectKeyId, false, octets(Buffer.from(t.subjectKeyId, "hex"))));
  if (t.authorityKeyId) exts.push(extension(OID.authorityKeyId, false, seq([asn1.create(CTX, 0, false, bin(Buffer.from(t.authorityKeyId, "hex")))])));
  if (t.crlUrls?.length) {
    const fullName = asn1.create(CTX, 0, true, t.crlUrls.map((url) => asn1.create(CTX, GENERAL_NAME_TAG.uri, false, url)));
    exts.push(extension(OID.crlDistributionPoints, false, seq([seq([asn1.create(CTX, 0, true, [fullName])])])));
  }
  if (t.nameConstraints) {
    const trees: Asn1[] = [];
    if (t.nameConstraints.permitted.length) trees.push(asn1.create(CTX, 0, true, t.nameConstraints.permitted.map(encodeSubtree)));
    if (t.nameConstraints.excluded.length) trees.push(asn1.create(CTX, 1, true, t.nameConstraints.excluded.map(encodeSubtree)));
    if (trees.length) exts.push(extension(OID.nameConstraints, true, seq(trees)));
  }
  return exts;
}

function algorithmIdentifier(alg: SignatureAlgorithm): Asn1 {
  return alg === "sha256WithRSAEncryption" ? seq([oid(OID[alg]), asn1.create(U, T.NULL, false, "")]) : seq([oid(OID[alg])]);
}

function signedStructure(toBeSigned: Asn1, alg: SignatureAlgorithm): { der: Buffer; withSignature: (signature: Buffer) => Buffer } {
  return {
    der: der(toBeSigned),
    withSignature: (signature) => der(seq([toBeSigned, algorithmIdentifier(alg), asn1.create(U, T.BITSTRING, false, "\x00" + bin(signature))])),
  };
}

export function encodeTbsCertificate(t: CertTemplate): { tbsDer: Buffer; withSignature: (signature: Buffer) => Buffer } {
  const spki = fromDer(bin(t.publicKeySpki));
  const tbs = seq([
    asn1.create(CTX, 0, true, [asn1.create(U, T.INTEGER, false, asn1.integerToDer(2).getBytes())]),
    asn1.create(U, T.INTEGER, false, bin(Buffer.from(t.serial, "hex"))),
    algorithmIdentifier(t.signatureAlgorithm),
    t.issuerNameDer ? fromDer(bin(t.issuerNameDer)) : encodeName(t.issuer),
    seq([encodeTime(new Date(t.notBefore)), encodeTime(new Date(t.notAfter))]),
    encodeName(t.subject),
    spki,
    asn1.create(CTX, 3, true, [seq(encodeExtensions(t))]),
  ]);
  const { der: tbsDer, withSignature } = signedStructure(tbs, t.signatureAlgorithm);
  return { tbsDer, withSignature };
}

export function subjectPublicKeyBits(spkiDer: Buffer): Buffer {
  const spki = fromDer(bin(spkiDer));
  const bits = (spki.value as Asn1[])[1]!.value as string;
  return buf(bits.slice(1));
}

export function subjectNameDer(certDer: Buffer): Buffer {
  const tbs = (fromDer(bin(certDer)).value as Asn1[])[0]!.value as Asn1[];
  const offset = tbs[0]!.tagClass === CTX && tbs[0]!.type === 0 ? 1 : 0;
  return der(tbs[offset + 4]!);
}

const REASON_NAMES = new Map<number, string>([...Object.entries(REASON_CODES).map(([name, code]) => [code, name] as [number, string]), [6, "certificateHold"], [8, "removeFromCRL"], [10, "aACompromise"]]);
const REASON_BY_NAME = new Map<string, number>([...REASON_NAMES].map(([code, name]) => [name, code]));

function serialInteger(hex: string): Asn1 {
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.alloc(1), bytes]);
  return asn1.create(U, T.INTEGER, false, bin(bytes));
}

export function encodeTbsCertList(t: CrlTemplate): { tbsDer: Buffer; withSignature: (signature: Buffer) => Buffer } {
  const entries = [...t.entries].sort((a, b) => (a.serial.length - b.serial.length) || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  const revoked = entries.map((e) => {
    const parts = [serialInteger(e.serial), encodeTime(e.revokedAt)];
    const code = REASON_BY_NAME.get(e.reason) ?? (/^\d{1,2}$/.test(e.reason) ? Number(e.reason) : 0);
    if (code !== 0) parts.push(seq([extension(OID.crlReason, false, asn1.create(U, T.ENUMERATED, false, String.fromCharCode(code)))]));
    return seq(parts);
  });
  const tbs = seq([
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(1).getBytes()),
    algorithmIdentifier(t.signatureAlgorithm),
    fromDer(bin(t.issuerNameDer)),
    encodeTime(t.thisUpdate),
    encodeTime(t.nextUpdate),
    ...(revoked.length ? [seq(revoked)] : []),
    asn1.create(CTX, 0, true, [
      seq([
        extension(OID.authorityKeyId, false, seq([asn1.create(CTX, 0, false, bin(t.authorityKeyId))])),
        extension(OID.crlNumber, false, asn1.create(U, T.INTEGER, false, asn1.integerToDer(t.number).getBytes())),
      ]),
    ]),
  ]);
  const { der: tbsDer, withSignature } = signedStructure(tbs, t.signatureAlgorithm);
  return { tbsDer, withSignature };
}

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export function encodeCertificationRequest(args: { subject: SubjectSpec; spki: Buffer; altNames: AltName[]; signatureAlgorithm: SignatureAlgorithm }): {
  infoDer: Buffer;
  withSignature: (signature: Buffer) => Buffer;
} {
  const attributes: Asn1[] = [];
  if (args.altNames.length) {
    const san = extension(OID.subjectAltName, false, seq(args.altNames.map(encodeGeneralName)));
    attributes.push(seq([oid(EXTENSION_REQUEST), asn1.create(U, T.SET, true, [seq([san])])]));
  }
  const info = seq([
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(0).getBytes()),
    encodeName(args.subject),
    fromDer(bin(args.spki)),
    asn1.create(CTX, 0, true, attributes),
  ]);
  const { der: infoDer, withSignature } = signedStructure(info, args.signatureAlgorithm);
  return { infoDer, withSignature };
}

/** forge's OID encoding, for comparing der.ts's with it. */
export const forgeOidDer = (id: string): Buffer => der(oid(id));
/** forge's INTEGER encoding of a number (up to 32 bits). */
export const forgeIntegerDer = (n: number): Buffer => der(asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes()));
/** forge's INTEGER encoding of content bytes as given (it drops one redundant leading byte). */
export const forgeIntegerBytesDer = (bytes: Buffer): Buffer => der(asn1.create(U, T.INTEGER, false, bin(bytes)));
/** forge's encoding of a primitive element with these content bytes (length forms). */
export const forgeOctetsDer = (bytes: Buffer): Buffer => der(octets(bytes));
/** forge's encoding of a Name. */
export const forgeNameDer = (subject: SubjectSpec): Buffer => der(encodeName(subject));
