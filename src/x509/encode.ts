// Certificates, CRLs and certification requests as DER, built with the Buffer encoder of der.ts: the structures a
// run builds for every identity it issues. Reading them back, PKCS#12 and encrypted keys stay in forge.ts.
import { ipToBytes, type AltName } from "../config/alt-names.js";
import { networkBytes, prefixMask } from "../config/cidr.js";
import { SUBJECT_FIELDS, type AltNameConstraint, type SubjectSpec } from "../config/types.js";
import { InternalError } from "../errors.js";
import { bitString, childrenOf, CONSTRUCTED, CONTEXT, explicit, implicit, integer, integerBytes, NULL, octetString, oid, readElement, sequence, set, TAG, tlv, TRUE } from "./der.js";
import { GENERAL_NAME_TAG, KEY_USAGE_BITS, OID, REASON_BY_NAME } from "./oids.js";
import type { CertTemplate, CrlTemplate, SignatureAlgorithm } from "./spec.js";

/** Bytes of a string of one-byte characters (ASCII by the time it gets here). */
const latin1 = (text: string) => Buffer.from(text, "latin1");
/** A surrogate that is not half of a pair: no UTF-8 encoding exists for it. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** A Name (RFC 5280 §4.1.2.4): one RDN per field, in the order of SUBJECT_FIELDS. */
export function encodeName(subject: SubjectSpec): Buffer {
  const rdns: Buffer[] = [];
  for (const field of SUBJECT_FIELDS) {
    const value = subject[field];
    if (value === undefined) continue;
    if (LONE_SURROGATE.test(value)) throw new InternalError(`subject ${field} ${JSON.stringify(value)} is not valid Unicode`);
    // RFC 5280 §A.1: countryName is a PrintableString; everything else UTF8String (§4.1.2.6).
    const string = field === "country" ? tlv(TAG.PRINTABLESTRING, latin1(value)) : tlv(TAG.UTF8, Buffer.from(value, "utf8"));
    rdns.push(set([sequence([oid(OID[field]), string])]));
  }
  return sequence(rdns);
}

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950 through 2049, GeneralizedTime (YYYYMMDDHHMMSSZ)
 * otherwise; always UTC, whole seconds, four-digit years (0000–9999).
 */
export function encodeTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 0 || year > 9999) throw new InternalError(`time ${date.getTime()} ms cannot be encoded in a certificate`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year >= 1950 && year <= 2049 ? tlv(TAG.UTCTIME, latin1(`${two(year % 100)}${rest}`)) : tlv(TAG.GENERALIZEDTIME, latin1(`${String(year).padStart(4, "0")}${rest}`));
}

function encodeGeneralName(name: AltName): Buffer {
  // dNSName, rfc822Name and URI are IA5Strings: config/ hands over ASCII only (A-labels, percent-encoding).
  if (name.type !== "ip" && /[^\x00-\x7f]/.test(name.value)) throw new InternalError(`alt name ${JSON.stringify(name.value)} is not ASCII`);
  return implicit(GENERAL_NAME_TAG[name.type], name.type === "ip" ? ipToBytes(name.value) : latin1(name.value));
}

/** A GeneralSubtree (RFC 5280 §4.2.1.10): an IP range is its network address followed by its mask. */
function encodeSubtree(c: AltNameConstraint): Buffer {
  if (c.type !== "ip") return sequence([implicit(GENERAL_NAME_TAG[c.type], latin1(c.value))]);
  const network = networkBytes(c.value, c.prefix);
  return sequence([implicit(GENERAL_NAME_TAG.ip, Buffer.concat([network, prefixMask(network.length, c.prefix)]))]);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(critical ? [oid(id), TRUE, octetString(value)] : [oid(id), octetString(value)]);
}

/** A BIT STRING of named bits, trailing zero bits dropped as DER requires (X.690 §11.2.2). */
function namedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 2);
  bytes[0] = 7 - (highest % 8);
  for (const bit of bits) bytes[1 + (bit >> 3)]! |= 0x80 >> (bit & 7);
  return tlv(TAG.BITSTRING, bytes);
}

function encodeExtensions(t: CertTemplate): Buffer[] {
  const basic = t.isCa ? (t.pathLength !== null ? [TRUE, integer(t.pathLength)] : [TRUE]) : [];
  const exts = [extension(OID.basicConstraints, true, sequence(basic)), extension(OID.keyUsage, true, namedBits(t.keyUsage.map((u) => KEY_USAGE_BITS[u])))];
  if (t.extKeyUsage.length) exts.push(extension(OID.extKeyUsage, false, sequence(t.extKeyUsage.map((u) => oid(OID[u])))));
  // RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty; ours never is.
  if (t.altNames.length) exts.push(extension(OID.subjectAltName, false, sequence(t.altNames.map(encodeGeneralName))));
  exts.push(extension(OID.subjectKeyId, false, octetString(Buffer.from(t.subjectKeyId, "hex"))));
  if (t.authorityKeyId) exts.push(extension(OID.authorityKeyId, false, sequence([implicit(0, Buffer.from(t.authorityKeyId, "hex"))])));
  if (t.crlUrls?.length) {
    // RFC 5280 §4.2.1.13: one DistributionPoint whose fullName lists the URIs; no reasons, no cRLIssuer.
    const fullName = explicit(0, t.crlUrls.map((url) => implicit(GENERAL_NAME_TAG.uri, latin1(url))));
    exts.push(extension(OID.crlDistributionPoints, false, sequence([sequence([explicit(0, [fullName])])])));
  }
  if (t.nameConstraints) {
    const trees: Buffer[] = [];
    if (t.nameConstraints.permitted.length) trees.push(explicit(0, t.nameConstraints.permitted.map(encodeSubtree)));
    if (t.nameConstraints.excluded.length) trees.push(explicit(1, t.nameConstraints.excluded.map(encodeSubtree)));
    if (trees.length) exts.push(extension(OID.nameConstraints, true, sequence(trees)));
  }
  return exts;
}

function algorithmIdentifier(alg: SignatureAlgorithm): Buffer {
  // RFC 4055: RSA PKCS#1 v1.5 identifiers carry NULL parameters; RFC 5758: ECDSA ones carry none.
  return alg === "sha256WithRSAEncryption" ? sequence([oid(OID[alg]), NULL]) : sequence([oid(OID[alg])]);
}

/** What a caller signs, and how the signature is wrapped around it. */
export interface ToBeSigned {
  tbsDer: Buffer;
  withSignature: (signature: Buffer) => Buffer;
}

/**
 * Certificate (RFC 5280 §4.1), CertificateList (§5.1) and CertificationRequest (RFC 2986 §4.2) all are
 * SEQUENCE { to-be-signed, AlgorithmIdentifier, BIT STRING }.
 */
function signedStructure(tbsDer: Buffer, alg: SignatureAlgorithm): ToBeSigned {
  return { tbsDer, withSignature: (signature) => sequence([tbsDer, algorithmIdentifier(alg), bitString(signature)]) };
}

/** Encodes the TBSCertificate (v3); the public key and an external issuer's Name go in byte for byte. */
export function encodeTbsCertificate(t: CertTemplate): ToBeSigned {
  const tbs = sequence([
    explicit(0, [integer(2)]),
    integerBytes(Buffer.from(t.serial, "hex")),
    algorithmIdentifier(t.signatureAlgorithm),
    t.issuerNameDer ?? encodeName(t.issuer),
    sequence([encodeTime(new Date(t.notBefore)), encodeTime(new Date(t.notAfter))]),
    encodeName(t.subject),
    t.publicKeySpki,
    explicit(3, [sequence(encodeExtensions(t))]),
  ]);
  return signedStructure(tbs, t.signatureAlgorithm);
}

/** A certificate serial (hex) as a DER INTEGER: minimal, and positive. */
function serialInteger(hex: string): Buffer {
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.alloc(1), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

/**
 * Encodes a v2 CRL's TBSCertList (RFC 5280 §5.1): entries sorted by serial, each with a reasonCode unless
 * unspecified (§5.3.1 says to omit it then); the CRL extensions are the AKI and the CRL number. An empty CRL
 * leaves out revokedCertificates, as §5.1.2.6 requires.
 */
export function encodeTbsCertList(t: CrlTemplate): ToBeSigned {
  const entries = [...t.entries].sort((a, b) => (a.serial.length - b.serial.length) || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  const revoked = entries.map((e) => {
    const parts = [serialInteger(e.serial), encodeTime(e.revokedAt)];
    // Names decoded from an older CRL may be any RFC 5280 reason, or the number of one provision has no name for.
    const code = REASON_BY_NAME.get(e.reason) ?? (/^\d{1,2}$/.test(e.reason) ? Number(e.reason) : 0);
    if (code !== 0) parts.push(sequence([extension(OID.crlReason, false, tlv(TAG.ENUMERATED, Buffer.from([code])))]));
    return sequence(parts);
  });
  const tbs = sequence([
    integer(1),
    algorithmIdentifier(t.signatureAlgorithm),
    t.issuerNameDer,
    encodeTime(t.thisUpdate),
    encodeTime(t.nextUpdate),
    ...(revoked.length ? [sequence(revoked)] : []),
    explicit(0, [
      sequence([
        extension(OID.authorityKeyId, false, sequence([implicit(0, t.authorityKeyId)])),
        extension(OID.crlNumber, false, integer(t.number)),
      ]),
    ]),
  ]);
  return signedStructure(tbs, t.signatureAlgorithm);
}

/** PKCS#10 CertificationRequestInfo with the SAN as an extensionRequest; sign `tbsDer`, then wrap. */
export function encodeCertificationRequest(args: { subject: SubjectSpec; spki: Buffer; altNames: AltName[]; signatureAlgorithm: SignatureAlgorithm }): ToBeSigned {
  const attributes: Buffer[] = [];
  if (args.altNames.length) {
    const san = extension(OID.subjectAltName, false, sequence(args.altNames.map(encodeGeneralName)));
    attributes.push(sequence([oid(OID.extensionRequest), set([sequence([san])])]));
  }
  const info = sequence([integer(0), encodeName(args.subject), args.spki, explicit(0, attributes)]);
  return signedStructure(info, args.signatureAlgorithm);
}

// What encoding copies out of DER it did not build: the subject Name of an issuer's certificate, and the key
// bits a key identifier is the hash of. Read with der.ts, so issuing never loads forge.

/** The subject Name of a certificate as DER, byte for byte (to be copied into what it issues). */
export function subjectNameDer(certDer: Buffer): Buffer {
  const tbs = childrenOf(certDer, childrenOf(certDer, readElement(certDer, 0))[0]!);
  // version [0] is optional (v1 certificates have none); then serial, signature, issuer, validity, subject.
  const offset = tbs[0]!.tag === (CONTEXT | CONSTRUCTED | 0) ? 1 : 0;
  const subject = tbs[offset + 4]!;
  return certDer.subarray(subject.start, subject.end);
}

/** RFC 5280 §4.2.1.2 method 1 hashes these: the subjectPublicKey BIT STRING's bytes, without its unused-bits byte. */
export function subjectPublicKeyBits(spkiDer: Buffer): Buffer {
  const bits = childrenOf(spkiDer, readElement(spkiDer, 0))[1]!;
  if (bits.tag !== TAG.BITSTRING) throw new RangeError("SubjectPublicKeyInfo without a BIT STRING");
  return spkiDer.subarray(bits.contentStart + 1, bits.end);
}
