// The only module that imports node-forge: it reads certificates, CRLs and requests back (DecodedCertificate),
// and builds PKCS#12 files and encrypted private keys with its asn1 module. What every issuing run builds
// (certificates, CRLs, requests) is encoded by encode.ts without forge.
import { createRequire } from "node:module";
import type forgeTypes from "node-forge";
import { bytesToIp, type AltName } from "../config/alt-names.js";
import { maskPrefix } from "../config/cidr.js";
import { SUBJECT_FIELDS, type AltNameConstraint, type SubjectSpec } from "../config/types.js";
import { GENERAL_NAME_TAG, KEY_USAGE_BITS, OID, REASON_NAMES } from "./oids.js";
import type { DecodedCertificate, KeyUsageName } from "./spec.js";

// Loaded on first use: a run that only issues never loads it. Only the parts
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
    if (asn1.derToOid(type!.value as string) !== OID.extensionRequest) continue;
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
  // The leaf's certificate bag and the key bag carry the same local key id and friendly name (that pairs them).
  const attributes = () =>
    asn1.create(U, T.SET, true, [
      seq([oid(P12.localKeyId), asn1.create(U, T.SET, true, [localKeyId])]),
      seq([oid(P12.friendlyName), asn1.create(U, T.SET, true, [asn1.create(U, 30, false, args.friendlyName) /* BMPString: forge's toDer writes 16 bits per character */])]),
    ]);
  const certBags = args.certDers.map((certDer, index) =>
    seq([
      oid(P12.certBag),
      asn1.create(CTX, 0, true, [seq([oid(P12.x509Certificate), asn1.create(CTX, 0, true, [octets(certDer)])])]),
      ...(index === 0 ? [attributes()] : []),
    ]),
  );
  const keyBag = seq([oid(P12.shroudedKeyBag), asn1.create(CTX, 0, true, [fromDer(bin(args.encryptedKeyDer))]), attributes()]);
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
