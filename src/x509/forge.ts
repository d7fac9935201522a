// The only module that imports node-forge: it turns CertTemplates into DER and reads DER back (DecodedCertificate).
// node-forge's certificate API only knows RSA keys, so the TBSCertificate is assembled with its asn1
// module, which encodes any structure; signing happens in node:crypto (see issue.ts).
import { createRequire } from "node:module";
import type forgeTypes from "node-forge";
import { bytesToIp, ipToBytes, type AltName } from "../config/alt-names.js";
import { maskPrefix, networkBytes, prefixMask } from "../config/cidr.js";
import { REASON_CODES, SUBJECT_FIELDS, type AltNameConstraint, type SubjectSpec } from "../config/types.js";
import { InternalError } from "../errors.js";
import type { CertTemplate, CrlTemplate, DecodedCertificate, ExtKeyUsageName, KeyUsageName, SignatureAlgorithm } from "./spec.js";

// Loaded on first use: a run where nothing changed never encodes or decodes a certificate. Only the parts
// used: node-forge's index loads all of it (TLS, ciphers, RSA, PKCS#7...), which cost a cold run ≈50 ms of
// start-up. asn1.js brings util and oids; PKCS#12's key derivation (with SHA-256) only when a .p12 is written.
// Every part adds itself to the one forge object (node-forge/lib/forge.js).
const load = createRequire(import.meta.url);
let forgeLib: typeof forgeTypes | undefined;
const forge = new Proxy({} as typeof forgeTypes, {
  get: (_target, key) => {
    if (!forgeLib) {
      load("node-forge/lib/asn1.js");
      forgeLib = load("node-forge/lib/forge.js") as typeof forgeTypes;
    }
    if ((key === "pkcs12" || key === "md") && !forgeLib.pkcs12) {
      load("node-forge/lib/pkcs12.js");
      load("node-forge/lib/sha256.js");
    }
    return forgeLib[key as keyof typeof forgeTypes];
  },
});
const asn1 = new Proxy({} as typeof forgeTypes.asn1, { get: (_target, key) => forge.asn1[key as keyof typeof forgeTypes.asn1] });
// Tag numbers from X.680; fixed, so they need not wait for forge to load.
const U = 0x00;
const CTX = 0x80;
const T = { BOOLEAN: 1, INTEGER: 2, BITSTRING: 3, OCTETSTRING: 4, NULL: 5, OID: 6, ENUMERATED: 10, UTF8: 12, SEQUENCE: 16, SET: 17, PRINTABLESTRING: 19, UTCTIME: 23, GENERALIZEDTIME: 24 } as const;
type Asn1 = forgeTypes.asn1.Asn1;

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
// @types/node-forge predates fromDer's options object. Without decodeBitStrings: false, forge re-parses
// BIT STRING contents that happen to look like DER (an RSA public key does), which we must keep as bytes.
const fromDer = (bytes: string): Asn1 =>
  (asn1.fromDer as unknown as (b: string, o: { decodeBitStrings: boolean }) => Asn1)(bytes, { decodeBitStrings: false });

/** DER-encodes a BIT STRING of named bits, dropping trailing zero bits as DER requires. */
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
    // RFC 5280 §A.1: countryName is a PrintableString; everything else UTF8String (§4.1.2.6).
    const type = field === "country" ? T.PRINTABLESTRING : T.UTF8;
    const text = field === "country" ? value : forge.util.encodeUtf8(value);
    rdns.push(asn1.create(U, T.SET, true, [seq([oid(OID[field]), asn1.create(U, type, false, text)])]));
  }
  return seq(rdns);
}

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950 through 2049, GeneralizedTime (YYYYMMDDHHMMSSZ)
 * otherwise; always UTC, whole seconds. Written here rather than by forge, whose GeneralizedTime does not
 * pad years below 1000 and writes five digits after 9999.
 */
export function encodeTime(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 0 || year > 9999) throw new InternalError(`time ${date.getTime()} ms cannot be encoded in a certificate`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year >= 1950 && year <= 2049
    ? asn1.create(U, T.UTCTIME, false, `${two(year % 100)}${rest}`)
    : asn1.create(U, T.GENERALIZEDTIME, false, `${String(year).padStart(4, "0")}${rest}`);
}

function encodeGeneralName(name: AltName): Asn1 {
  // dNSName, rfc822Name and URI are IA5Strings: config/ hands over ASCII only (A-labels, percent-encoding);
  // forge would keep the low byte of anything else (€ → 0xAC).
  if (name.type !== "ip" && /[^\x00-\x7f]/.test(name.value)) throw new InternalError(`alt name ${JSON.stringify(name.value)} is not ASCII`);
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
  if (t.altNames.length) {
    // RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty; ours never is.
    exts.push(extension(OID.subjectAltName, false, seq(t.altNames.map(encodeGeneralName))));
  }
  exts.push(extension(OID.subjectKeyId, false, octets(Buffer.from(t.subjectKeyId, "hex"))));
  if (t.authorityKeyId) exts.push(extension(OID.authorityKeyId, false, seq([asn1.create(CTX, 0, false, bin(Buffer.from(t.authorityKeyId, "hex")))])));
  if (t.crlUrls?.length) {
    // RFC 5280 §4.2.1.13: one DistributionPoint whose fullName lists the URIs; no reasons, no cRLIssuer.
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
  // RFC 4055: RSA PKCS#1 v1.5 identifiers carry NULL parameters; RFC 5758: ECDSA ones carry none.
  return alg === "sha256WithRSAEncryption" ? seq([oid(OID[alg]), asn1.create(U, T.NULL, false, "")]) : seq([oid(OID[alg])]);
}

/**
 * The DER to sign and a function that wraps a signature around it: Certificate (RFC 5280 §4.1), CertificateList
 * (§5.1) and CertificationRequest (RFC 2986 §4.2) all are SEQUENCE { to-be-signed, AlgorithmIdentifier, BIT STRING }.
 */
function signedStructure(toBeSigned: Asn1, alg: SignatureAlgorithm): { der: Buffer; withSignature: (signature: Buffer) => Buffer } {
  return {
    der: der(toBeSigned),
    withSignature: (signature) => der(seq([toBeSigned, algorithmIdentifier(alg), asn1.create(U, T.BITSTRING, false, "\x00" + bin(signature))])),
  };
}

/** Encodes the TBSCertificate; returns the DER to sign and a function that wraps a signature into the certificate. */
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

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function subjectPublicKeyBits(spkiDer: Buffer): Buffer {
  const spki = fromDer(bin(spkiDer));
  const bits = (spki.value as Asn1[])[1]!.value as string;
  return buf(bits.slice(1));
}

function decodeName(node: Asn1): Partial<SubjectSpec> {
  const out: Partial<SubjectSpec> = {};
  const byOid = new Map<string, (typeof SUBJECT_FIELDS)[number]>(SUBJECT_FIELDS.map((f) => [OID[f], f]));
  for (const rdn of node.value as Asn1[]) {
    for (const atv of rdn.value as Asn1[]) {
      const [type, value] = atv.value as Asn1[];
      const field = byOid.get(asn1.derToOid(type!.value as string));
      if (field) out[field] = value!.type === T.UTF8 ? forge.util.decodeUtf8(value!.value as string) : (value!.value as string);
    }
  }
  return out;
}

function decodeGeneralName(node: Asn1): AltName | undefined {
  const value = node.value as string;
  switch (node.type) {
    case GENERAL_NAME_TAG.dns: return { type: "dns", value };
    case GENERAL_NAME_TAG.email: return { type: "email", value };
    case GENERAL_NAME_TAG.uri: return { type: "uri", value };
    case GENERAL_NAME_TAG.ip: return { type: "ip", value: bytesToIp(buf(value)) };
    default: return undefined;
  }
}

/** One GeneralSubtree of a NameConstraints extension; undefined for a type provision does not model (directoryName, otherName). */
function decodeSubtree(node: Asn1): AltNameConstraint | undefined {
  const base = (node.value as Asn1[])[0]!;
  switch (base.type) {
    case GENERAL_NAME_TAG.dns: return { type: "dns", value: base.value as string };
    case GENERAL_NAME_TAG.email: return { type: "email", value: base.value as string };
    case GENERAL_NAME_TAG.uri: return { type: "uri", value: base.value as string };
    case GENERAL_NAME_TAG.ip: {
      const bytes = buf(base.value as string);
      const half = bytes.length / 2;
      return { type: "ip", value: bytesToIp(bytes.subarray(0, half)), prefix: maskPrefix(bytes.subarray(half)) };
    }
    default: return undefined;
  }
}

/** Reads subject, issuer and the extensions provision sets from certificate DER. */
export function decodeCertificate(certDer: Buffer): DecodedCertificate {
  const cert = fromDer(bin(certDer));
  const tbs = (cert.value as Asn1[])[0]!.value as Asn1[];
  const offset = tbs[0]!.tagClass === CTX && tbs[0]!.type === 0 ? 1 : 0;
  const out: DecodedCertificate = {
    issuer: decodeName(tbs[offset + 2]!),
    subject: decodeName(tbs[offset + 4]!),
    altNames: [],
    isCa: false,
    pathLength: null,
    keyUsage: [],
    extKeyUsage: [],
    subjectKeyId: null,
    authorityKeyId: null,
    nameConstraints: null,
    crlUrls: [],
  };
  const extWrapper = tbs.find((n) => n.tagClass === CTX && n.type === 3);
  for (const ext of extWrapper ? ((extWrapper.value as Asn1[])[0]!.value as Asn1[]) : []) {
    const parts = ext.value as Asn1[];
    const id = asn1.derToOid(parts[0]!.value as string);
    const inner = fromDer(parts[parts.length - 1]!.value as string);
    if (id === OID.basicConstraints) {
      for (const item of inner.value as Asn1[]) {
        if (item.type === T.BOOLEAN) out.isCa = (item.value as string) !== "\x00";
        if (item.type === T.INTEGER) out.pathLength = asn1.derToInteger(item.value as string);
      }
    } else if (id === OID.subjectAltName) {
      out.altNames = (inner.value as Asn1[]).map(decodeGeneralName).filter((n): n is AltName => n !== undefined);
    } else if (id === OID.subjectKeyId) {
      out.subjectKeyId = buf(inner.value as string).toString("hex");
    } else if (id === OID.authorityKeyId) {
      const keyId = (inner.value as Asn1[]).find((n) => n.tagClass === CTX && n.type === 0);
      out.authorityKeyId = keyId ? buf(keyId.value as string).toString("hex") : null;
    } else if (id === OID.keyUsage) {
      const bytes = buf((inner.value as string).slice(1));
      out.keyUsage = (Object.keys(KEY_USAGE_BITS) as KeyUsageName[]).filter((u) => {
        const bit = KEY_USAGE_BITS[u];
        return ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0;
      });
    } else if (id === OID.extKeyUsage) {
      const names = new Map<string, string>([[OID.serverAuth, "serverAuth"], [OID.clientAuth, "clientAuth"]]);
      out.extKeyUsage = (inner.value as Asn1[]).map((n) => {
        const o = asn1.derToOid(n.value as string);
        return names.get(o) ?? o;
      });
    } else if (id === OID.nameConstraints) {
      const trees = inner.value as Asn1[];
      const list = (tag: number) => ((trees.find((n) => n.type === tag)?.value as Asn1[] | undefined) ?? []).map(decodeSubtree).filter((c) => c !== undefined);
      const permitted = list(0);
      const excluded = list(1);
      out.nameConstraints = permitted.length || excluded.length ? { permitted, excluded } : null;
    } else if (id === OID.crlDistributionPoints) {
      out.crlUrls = crlUrlsOf(inner);
    }
  }
  return out;
}

/** The URIs in the fullName of every DistributionPoint (relative names and cRLIssuer are not read). */
function crlUrlsOf(points: Asn1): string[] {
  const urls: string[] = [];
  for (const point of points.value as Asn1[]) {
    const name = (point.value as Asn1[]).find((n) => n.tagClass === CTX && n.type === 0);
    const fullName = (name?.value as Asn1[] | undefined)?.find((n) => n.tagClass === CTX && n.type === 0);
    for (const general of (fullName?.value as Asn1[] | undefined) ?? []) if (general.type === GENERAL_NAME_TAG.uri) urls.push(general.value as string);
  }
  return urls;
}

/** The subject Name of a certificate as DER, byte for byte (to be copied into what it issues). */
export function subjectNameDer(certDer: Buffer): Buffer {
  const tbs = (fromDer(bin(certDer)).value as Asn1[])[0]!.value as Asn1[];
  const offset = tbs[0]!.tagClass === CTX && tbs[0]!.type === 0 ? 1 : 0;
  return der(tbs[offset + 4]!);
}

const REASON_NAMES = new Map<number, string>([...Object.entries(REASON_CODES).map(([name, code]) => [code, name] as [number, string]), [6, "certificateHold"], [8, "removeFromCRL"], [10, "aACompromise"]]);
const REASON_BY_NAME = new Map<string, number>([...REASON_NAMES].map(([code, name]) => [name, code]));

/** A certificate serial (hex) as the content of a DER INTEGER: minimal, and positive. */
function serialInteger(hex: string): Asn1 {
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.alloc(1), bytes]);
  return asn1.create(U, T.INTEGER, false, bin(bytes));
}

/**
 * Encodes a v2 CRL's TBSCertList (RFC 5280 §5.1): entries sorted by serial, each with a reasonCode unless
 * unspecified (§5.3.1 says to omit it then); the CRL extensions are the AKI and the CRL number. An empty CRL
 * leaves out revokedCertificates, as §5.1.2.6 requires.
 */
export function encodeTbsCertList(t: CrlTemplate): { tbsDer: Buffer; withSignature: (signature: Buffer) => Buffer } {
  const entries = [...t.entries].sort((a, b) => (a.serial.length - b.serial.length) || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  const revoked = entries.map((e) => {
    const parts = [serialInteger(e.serial), encodeTime(e.revokedAt)];
    // Names decoded from an older CRL may be any RFC 5280 reason, or the number of one provision has no name for.
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

/** A CRL as read back: what `inspect` shows and what a run compares, plus the bytes to check its signature. */
export interface DecodedCrl {
  tbsDer: Buffer;
  /** The hash of the signature algorithm (sha256, sha384, ...), or its OID when unknown. */
  signatureHash: string;
  signature: Buffer;
  issuer: Partial<SubjectSpec>;
  issuerNameDer: Buffer;
  thisUpdate: string;
  nextUpdate: string | null;
  number: number | null;
  authorityKeyId: string | null;
  entries: { serial: string; revokedAt: string; reason: string }[];
}

function decodeTime(node: Asn1): string {
  const value = node.value as string;
  return (node.type === T.UTCTIME ? asn1.utcTimeToDate(value) : asn1.generalizedTimeToDate(value)).toISOString();
}

const isTime = (node: Asn1 | undefined) => node !== undefined && node.tagClass === U && (node.type === T.UTCTIME || node.type === T.GENERALIZEDTIME);

/** Decodes a CRL's DER; throws on anything that is not a CertificateList. */
export function decodeCrl(crlDer: Buffer): DecodedCrl {
  const top = fromDer(bin(crlDer));
  const [tbsNode, algorithm, signature] = top.value as Asn1[];
  const tbs = tbsNode!.value as Asn1[];
  let at = tbs[0]!.type === T.INTEGER && tbs[0]!.tagClass === U ? 1 : 0;
  at += 1; // signature algorithm
  const issuerNode = tbs[at++]!;
  const thisUpdate = decodeTime(tbs[at++]!);
  const nextUpdate = isTime(tbs[at]) ? decodeTime(tbs[at++]!) : null;
  const entries: DecodedCrl["entries"] = [];
  if (tbs[at] && tbs[at]!.tagClass === U && tbs[at]!.type === T.SEQUENCE) {
    for (const entry of tbs[at++]!.value as Asn1[]) {
      const [serial, date, extensions] = entry.value as Asn1[];
      let reason = "unspecified";
      for (const ext of (extensions?.value as Asn1[] | undefined) ?? []) {
        const parts = ext.value as Asn1[];
        if (asn1.derToOid(parts[0]!.value as string) !== OID.crlReason) continue;
        const code = (fromDer(parts[parts.length - 1]!.value as string).value as string).charCodeAt(0);
        reason = REASON_NAMES.get(code) ?? String(code);
      }
      entries.push({ serial: buf(serial!.value as string).toString("hex").replace(/^(00)+(?=.)/, ""), revokedAt: decodeTime(date!), reason });
    }
  }
  let number: number | null = null;
  let authorityKeyId: string | null = null;
  const extWrapper = tbs.slice(at).find((n) => n.tagClass === CTX && n.type === 0);
  for (const ext of extWrapper ? ((extWrapper.value as Asn1[])[0]!.value as Asn1[]) : []) {
    const parts = ext.value as Asn1[];
    const id = asn1.derToOid(parts[0]!.value as string);
    const inner = fromDer(parts[parts.length - 1]!.value as string);
    if (id === OID.crlNumber) number = Number.parseInt(buf(inner.value as string).toString("hex") || "0", 16);
    if (id === OID.authorityKeyId) {
      const keyId = (inner.value as Asn1[]).find((n) => n.tagClass === CTX && n.type === 0);
      authorityKeyId = keyId ? buf(keyId.value as string).toString("hex") : null;
    }
  }
  const algorithmOid = asn1.derToOid((algorithm!.value as Asn1[])[0]!.value as string);
  return {
    tbsDer: der(tbsNode!),
    signatureHash: SIGNATURE_OIDS.get(algorithmOid) ?? algorithmOid,
    signature: buf((signature!.value as string).slice(1)),
    issuer: decodeName(issuerNode),
    issuerNameDer: der(issuerNode),
    thisUpdate,
    nextUpdate,
    number,
    authorityKeyId,
    entries,
  };
}

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

/** PKCS#10 CertificationRequestInfo with the SAN as an extensionRequest; sign `infoDer`, then wrap. */
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

/** What provision needs from a CSR: the signed bytes and signature (to verify), subject, key and SANs. */
export interface DecodedRequest {
  infoDer: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
  subject: Partial<SubjectSpec>;
  spki: Buffer;
  altNames: AltName[];
}

const SIGNATURE_OIDS = new Map<string, string>([
  [OID.sha256WithRSAEncryption, "sha256"],
  ["1.2.840.113549.1.1.12", "sha384"],
  ["1.2.840.113549.1.1.13", "sha512"],
  [OID.ecdsaWithSHA256, "sha256"],
  [OID.ecdsaWithSHA384, "sha384"],
  ["1.2.840.10045.4.3.4", "sha512"],
]);

export function decodeCertificationRequest(requestDer: Buffer): DecodedRequest {
  const request = fromDer(bin(requestDer));
  const [info, algorithm, signature] = request.value as Asn1[];
  const [, subject, spki, attributes] = info!.value as Asn1[];
  const altNames: AltName[] = [];
  for (const attribute of (attributes?.value as Asn1[] | undefined) ?? []) {
    const [type, values] = attribute.value as Asn1[];
    if (asn1.derToOid(type!.value as string) !== EXTENSION_REQUEST) continue;
    for (const ext of ((values!.value as Asn1[])[0]!.value as Asn1[])) {
      const parts = ext.value as Asn1[];
      if (asn1.derToOid(parts[0]!.value as string) !== OID.subjectAltName) continue;
      const names = fromDer(parts[parts.length - 1]!.value as string);
      for (const n of names.value as Asn1[]) {
        const name = decodeGeneralName(n);
        if (name) altNames.push(name);
      }
    }
  }
  const algorithmOid = asn1.derToOid((algorithm!.value as Asn1[])[0]!.value as string);
  return {
    infoDer: der(info!),
    signatureAlgorithm: SIGNATURE_OIDS.get(algorithmOid) ?? algorithmOid,
    signature: buf((signature!.value as string).slice(1)),
    subject: decodeName(subject!),
    spki: der(spki!),
    altNames,
  };
}

const P12 = {
  data: "1.2.840.113549.1.7.1",
  certBag: "1.2.840.113549.1.12.10.1.3",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

function dataContentInfo(content: Buffer): Asn1 {
  return seq([oid(P12.data), asn1.create(CTX, 0, true, [octets(content)])]);
}

/**
 * PKCS#12 (RFC 7292) with the leaf certificate, its chain and its key, readable by `openssl pkcs12` and
 * Java's keytool. node-forge's PKCS#12 builder only takes RSA keys, so the structure is assembled here: the
 * key goes in as the PBES2 (PBKDF2 + AES-256-CBC) EncryptedPrivateKeyInfo node:crypto exports, the
 * certificates in plain SafeContents, and the whole is sealed with an HMAC-SHA256 MAC keyed by the
 * RFC 7292 appendix B KDF.
 */
export function encodePkcs12(args: {
  certDers: Buffer[];
  encryptedKeyDer: Buffer;
  friendlyName: string;
  password: string;
  salt: Buffer;
  hmac: (key: Buffer, data: Buffer) => Buffer;
  iterations?: number;
}): Buffer {
  const iterations = args.iterations ?? 10_000;
  const localKeyId = octets(args.salt.subarray(0, 8));
  const attributes = (withName: boolean) =>
    asn1.create(U, T.SET, true, [
      seq([oid(P12.localKeyId), asn1.create(U, T.SET, true, [localKeyId])]),
      ...(withName ? [seq([oid(P12.friendlyName), asn1.create(U, T.SET, true, [asn1.create(U, 30, false, args.friendlyName) /* BMPString: forge's toDer writes 16 bits per character */])])] : []),
    ]);
  const certBags = args.certDers.map((certDer, index) =>
    seq([
      oid(P12.certBag),
      asn1.create(CTX, 0, true, [seq([oid(P12.x509Certificate), asn1.create(CTX, 0, true, [octets(certDer)])])]),
      ...(index === 0 ? [attributes(true)] : []),
    ]),
  );
  const keyBag = seq([oid(P12.shroudedKeyBag), asn1.create(CTX, 0, true, [fromDer(bin(args.encryptedKeyDer))]), attributes(true)]);
  const authSafe = der(seq([dataContentInfo(der(seq(certBags))), dataContentInfo(der(seq([keyBag])))]));
  const macSalt = args.salt.subarray(8, 24);
  const macKey = buf(forge.pkcs12.generateKey(args.password, forge.util.createBuffer(bin(macSalt)), 3, iterations, 32, forge.md.sha256.create()).getBytes());
  const mac = seq([
    seq([seq([oid(P12.sha256), asn1.create(U, T.NULL, false, "")]), octets(args.hmac(macKey, authSafe))]),
    octets(macSalt),
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
  ]);
  return der(seq([asn1.create(U, T.INTEGER, false, asn1.integerToDer(3).getBytes()), dataContentInfo(authSafe), mac]));
}

const PBES2 = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA1: "1.2.840.113549.2.7",
  hmacWithSHA256: "1.2.840.113549.2.9",
  hmacWithSHA512: "1.2.840.113549.2.11",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
} as const;

/**
 * EncryptedPrivateKeyInfo (RFC 5958) with PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 and AES-256-CBC.
 * node:crypto's KeyObject.export always uses 2048 iterations and an 8-byte salt, so the structure is
 * built here around ciphertext made by node:crypto (x509/keys.ts).
 */
export function encodeEncryptedPrivateKeyInfo(args: { salt: Buffer; iterations: number; iv: Buffer; ciphertext: Buffer }): Buffer {
  const algorithm = (id: string, params: Asn1) => seq([oid(id), params]);
  const kdfParams = seq([
    octets(args.salt),
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(args.iterations).getBytes()),
    algorithm(PBES2.hmacWithSHA256, asn1.create(U, T.NULL, false, "")),
  ]);
  const pbes2Params = seq([algorithm(PBES2.pbkdf2, kdfParams), algorithm(PBES2.aes256Cbc, octets(args.iv))]);
  return der(seq([algorithm(PBES2.pbes2, pbes2Params), octets(args.ciphertext)]));
}

/** How an EncryptedPrivateKeyInfo derives its key: PBKDF2's PRF, iterations and salt length; null when not PBES2/PBKDF2. */
export function decodeKeyEncryption(encryptedDer: Buffer): { prf: string; iterations: number; saltLength: number; cipher: string } | null {
  try {
    const top = fromDer(bin(encryptedDer));
    const [alg] = top.value as Asn1[];
    const [algOid, params] = alg!.value as Asn1[];
    if (asn1.derToOid(algOid!.value as string) !== PBES2.pbes2) return null;
    const [kdf, scheme] = params!.value as Asn1[];
    const [kdfOid, kdfParams] = kdf!.value as Asn1[];
    if (asn1.derToOid(kdfOid!.value as string) !== PBES2.pbkdf2) return null;
    const [salt, count, ...rest] = kdfParams!.value as Asn1[];
    const prfNode = rest.find((n) => n.tagClass === U && n.type === T.SEQUENCE);
    const prfOid = prfNode ? asn1.derToOid((prfNode.value as Asn1[])[0]!.value as string) : PBES2.hmacWithSHA1;
    const prf = prfOid === PBES2.hmacWithSHA256 ? "sha256" : prfOid === PBES2.hmacWithSHA512 ? "sha512" : prfOid === PBES2.hmacWithSHA1 ? "sha1" : prfOid;
    const schemeOid = asn1.derToOid((scheme!.value as Asn1[])[0]!.value as string);
    const iterations = Number.parseInt(buf(count!.value as string).toString("hex") || "0", 16);
    return { prf, iterations, saltLength: (salt!.value as string).length, cipher: schemeOid === PBES2.aes256Cbc ? "aes-256-cbc" : schemeOid };
  } catch {
    return null;
  }
}

const ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31";

/**
 * The acmeIdentifier extension of a tls-alpn-01 challenge certificate (RFC 8737 §3): whether it is marked
 * critical and the OCTET STRING it wraps (SHA-256 of the key authorization); null when absent or malformed.
 */
export function acmeIdentifierOf(certDer: Buffer): { critical: boolean; value: Buffer } | null {
  try {
    const tbs = (fromDer(bin(certDer)).value as Asn1[])[0]!.value as Asn1[];
    const extWrapper = tbs.find((n) => n.tagClass === CTX && n.type === 3);
    for (const ext of extWrapper ? ((extWrapper.value as Asn1[])[0]!.value as Asn1[]) : []) {
      const parts = ext.value as Asn1[];
      if (asn1.derToOid(parts[0]!.value as string) !== ACME_IDENTIFIER_OID) continue;
      const critical = parts.length === 3 && parts[1]!.type === T.BOOLEAN && (parts[1]!.value as string) !== "\x00";
      const inner = fromDer(parts[parts.length - 1]!.value as string);
      if (inner.type !== T.OCTETSTRING || typeof inner.value !== "string") return null;
      return { critical, value: buf(inner.value) };
    }
  } catch {
    return null;
  }
  return null;
}
