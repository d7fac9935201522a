import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { checkDnsName } from "./alt-names.js";

/**
 * An IRI as a URI, the form RFC 5280 §4.2.1.6 requires in a uniformResourceIdentifier (an IA5String):
 * RFC 3987 §3.1 step 2, with the host converted by IDNA ToASCII (§7.4 of RFC 5280) and every other
 * non-ASCII character percent-encoded as UTF-8. Only non-ASCII text is touched, so an ASCII URI comes back
 * byte for byte (WHATWG's `new URL().href` would also lowercase, add slashes, drop default ports…, and a
 * re-run would then compare a different string from the one the user wrote).
 */
export function iriToUri(iri: string): { ok: true; value: string } | { ok: false; message: string } {
  if (/^[\x00-\x7f]*$/.test(iri)) return { ok: true, value: iri };
  // RFC 3986 appendix B: scheme, authority, path, query, fragment.
  const parts = /^([^:/?#]+:)(\/\/[^/?#]*)?([^?#]*)(\?[^#]*)?(#.*)?$/s.exec(iri);
  if (!parts) return { ok: false, message: `"${iri}" is not a valid URI` };
  const [, scheme = "", authority = "", path = "", query = "", fragment = ""] = parts;
  const bad = [scheme, authority, path, fragment].map((part) => firstInvalid(part, false)).find((c) => c !== null) ?? firstInvalid(query, true);
  if (bad != null) return { ok: false, message: `URI "${visible(iri)}" contains ${bad}, which an IRI may not (RFC 3987 §2.2)` };
  let encodedAuthority = authority;
  if (authority) {
    // authority = "//" [ userinfo "@" ] host [ ":" port ]
    const at = authority.lastIndexOf("@");
    const userinfo = at >= 0 ? authority.slice(2, at + 1) : "";
    const hostPort = authority.slice(at >= 0 ? at + 1 : 2);
    const port = /:[^:\]]*$/.exec(hostPort)?.[0] ?? "";
    const host = hostPort.slice(0, hostPort.length - port.length);
    let asciiHost = host;
    if (/[^\x00-\x7f]/.test(host)) {
      const converted = domainToASCII(host);
      const checked = converted === "" ? null : checkDnsName(converted, { allowWildcard: false });
      if (!checked?.ok) return { ok: false, message: `URI "${iri}": "${host}" is not a valid internationalized host name (IDNA)` };
      asciiHost = checked.value;
    }
    encodedAuthority = `//${percentEncode(userinfo)}${asciiHost}${percentEncode(port)}`;
  }
  return { ok: true, value: `${percentEncode(scheme)}${encodedAuthority}${percentEncode(path)}${percentEncode(query)}${percentEncode(fragment)}` };
}

/** RFC 3987 ucschar, plus iprivate in the query: everything else above ASCII (C1 controls, surrogates, noncharacters) is refused. */
function allowed(cp: number, inQuery: boolean): boolean {
  if ((cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xf900 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xffef)) return true;
  if (cp >= 0x10000 && cp <= 0xefffd && (cp & 0xffff) <= 0xfffd) return true;
  return inQuery && ((cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xf0000 && cp <= 0xffffd) || (cp >= 0x100000 && cp <= 0x10fffd));
}

function firstInvalid(text: string, inQuery: boolean): string | null {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x7f && !allowed(cp, inQuery)) return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return null;
}

/** The IRI with each refused or control character shown as <U+XXXX>, so a message does not print control characters. */
function visible(iri: string): string {
  return [...iri].map((ch) => (isControl(ch) || (ch.codePointAt(0)! > 0x7f && firstInvalid(ch, true) !== null) ? `<${codePoint(ch)}>` : ch)).join("");
}

const isControl = (ch: string) => ch < " " || ch === "\x7f";
const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** Percent-encodes the UTF-8 bytes of each non-ASCII character (RFC 3986 §2.1: uppercase hex). */
function percentEncode(text: string): string {
  return text.replace(/[^\x00-\x7f]/gu, (ch) => [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase()}`).join(""));
}

// RFC 3986 §2.2–2.3 and §3: the characters each component may hold besides %XX escapes.
const UNRESERVED_SUB_DELIMS = "A-Za-z0-9\\-._~!$&'()*+,;=";
const COMPONENT_CHARS = {
  userinfo: new RegExp(`[${UNRESERVED_SUB_DELIMS}:]`),
  host: new RegExp(`[${UNRESERVED_SUB_DELIMS}]`),
  // IP-literal (§3.2.2): IPv6 or IPvFuture inside brackets.
  "IP literal": new RegExp(`[${UNRESERVED_SUB_DELIMS}:]`),
  port: /[0-9]/,
  path: new RegExp(`[${UNRESERVED_SUB_DELIMS}:@/]`),
  query: new RegExp(`[${UNRESERVED_SUB_DELIMS}:@/?]`),
  fragment: new RegExp(`[${UNRESERVED_SUB_DELIMS}:@/?]`),
};
type Component = keyof typeof COMPONENT_CHARS;

/** A URI split per RFC 3986 appendix B, each part with the index where it starts (for messages). */
interface UriParts {
  scheme: string;
  /** null when the URI has no `//` authority. */
  userinfo: string | null;
  host: string | null;
  port: string | null;
  path: string;
  query: string | null;
  fragment: string | null;
  at: Map<Component, number>;
}

function splitUri(uri: string): UriParts | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/[^/?#]*)?([^?#]*)(\?[^#]*)?(#.*)?$/s.exec(uri);
  if (!m) return null;
  const [, scheme = "", authority, path = "", query, fragment] = m;
  const at = new Map<Component, number>();
  let userinfo: string | null = null;
  let host: string | null = null;
  let port: string | null = null;
  let index = scheme.length + 1;
  if (authority !== undefined) {
    const body = authority.slice(2);
    index += 2;
    // userinfo may not hold "@" (§3.2.1), so the first one ends it; a second is then refused in the host.
    const atSign = body.indexOf("@");
    if (atSign >= 0) {
      userinfo = body.slice(0, atSign);
      at.set("userinfo", index);
      index += atSign + 1;
    }
    const hostPort = body.slice(atSign + 1);
    const literal = /^\[[^\]]*\]/.exec(hostPort)?.[0];
    // An unclosed "[" leaves the whole rest as the host, where the "[" is then refused.
    host = literal ?? (hostPort.startsWith("[") ? hostPort : /^[^:]*/.exec(hostPort)![0]);
    at.set(literal ? "IP literal" : "host", literal ? index + 1 : index);
    index += host.length;
    if (hostPort.length > host.length) {
      // After an IP literal anything but ":" is as wrong as a letter in the port.
      const colon = hostPort[host.length] === ":" ? 1 : 0;
      port = hostPort.slice(host.length + colon);
      at.set("port", index + colon);
      index += hostPort.length - host.length;
    }
  }
  at.set("path", index);
  index += path.length;
  if (query !== undefined) at.set("query", index + 1);
  index += query?.length ?? 0;
  if (fragment !== undefined) at.set("fragment", index + 1);
  return { scheme, userinfo, host, port, path, query: query?.slice(1) ?? null, fragment: fragment?.slice(1) ?? null, at };
}

/** What to write instead of a character a URI may not hold: its %XX escape(s). */
function escapeOf(ch: string): string {
  return [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

/**
 * RFC 3986 §3 on the ASCII form of a URI altName (what iriToUri returns), then the SPIFFE ID rules when the
 * scheme is spiffe. ASCII characters outside RFC 3986 (space, `<>"{}|\^` and the backtick, controls, a `%` that
 * starts no escape, `[`/`]` outside an IP literal, a second `#`) are refused with the escape to write, not
 * encoded: RFC 3987 §3.1 maps only non-ASCII characters, so such text is neither a URI nor an IRI, and encoding
 * it would guess (is `%zz` a literal percent sign, or a typo?) and issue a name other than the one the user's
 * peers compare with. Go's crypto/x509 refuses a whole certificate whose URI holds `%zz`, a control character
 * or a space in the host, so one such name breaks every Go client of it.
 */
export function checkUri(uri: string): { ok: true } | { ok: false; message: string } {
  const parts = splitUri(uri);
  if (!parts) return { ok: false, message: `"${visible(uri)}" is not a valid URI (RFC 3986: scheme ":" then the rest)` };
  const literal = parts.at.has("IP literal");
  const components: [Component, string | null][] = [
    ["userinfo", parts.userinfo], [literal ? "IP literal" : "host", literal ? parts.host!.slice(1, -1) : parts.host], ["port", parts.port],
    ["path", parts.path], ["query", parts.query], ["fragment", parts.fragment],
  ];
  for (const [component, text] of components) {
    if (text === null) continue;
    const start = parts.at.get(component)!;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === "%" && component !== "port" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) continue;
      if (ch !== "%" && COMPONENT_CHARS[component].test(ch)) continue;
      const where = `at character ${start + i + 1} (in the ${component})`;
      if (component === "port") return { ok: false, message: `URI "${visible(uri)}" has a port that is not a number: "${visible(ch)}" ${where}` };
      if (ch === "%") return { ok: false, message: `URI "${visible(uri)}" has a "%" that starts no %XX escape ${where}, which RFC 3986 §2.1 does not allow; write a literal "%" as %25` };
      const what = ch === " " ? "a space" : isControl(ch) ? `the control character ${codePoint(ch)}` : `"${ch}"`;
      // Go and WHATWG URL parsers refuse an escaped ASCII character in a host name, so no escape is offered there.
      if (component === "host") return { ok: false, message: `URI "${visible(uri)}" has ${what} ${where}, which a host name may not hold` };
      return { ok: false, message: `URI "${visible(uri)}" has ${what} ${where}, which RFC 3986 does not allow there; percent-encode it as ${escapeOf(ch)}` };
    }
  }
  return parts.scheme.toLowerCase() === "spiffe" ? checkSpiffeId(uri, parts) : { ok: true };
}

/** SPIFFE IDs are at most 2048 bytes (SPIFFE-ID §2.3). */
const SPIFFE_MAX = 2048;

/**
 * The SPIFFE ID rules (SPIFFE-ID.md §2, as go-spiffe and SPIRE apply them) and X509-SVID §3.1 (a leaf's ID has a
 * path): `spiffe://<trust domain>/<segment>/…`, the trust domain of lowercase letters, digits, `.`, `-`, `_`, no
 * userinfo or port; each segment of letters, digits, `.`, `-`, `_`, neither empty nor `.`/`..`; no query or
 * fragment; no percent-encoding.
 */
function checkSpiffeId(uri: string, parts: UriParts): { ok: true } | { ok: false; message: string } {
  const refuse = (why: string) => ({ ok: false as const, message: `SPIFFE ID "${visible(uri)}" ${why}` });
  if (parts.scheme !== "spiffe") return refuse(`must start with "spiffe://" in lowercase (SPIFFE-ID §2)`);
  if (parts.host === null || parts.host === "") return refuse(`names no trust domain: write spiffe://<trust domain>/<path>, such as spiffe://example.test/ns/web`);
  if (parts.userinfo !== null) return refuse(`may not hold a user part ("${parts.userinfo}@"): the trust domain is the whole authority (SPIFFE-ID §2.1)`);
  if (parts.port !== null) return refuse(`may not hold a port (":${parts.port}"): the trust domain is the whole authority (SPIFFE-ID §2.1)`);
  if (/[A-Z]/.test(parts.host) && /^[A-Za-z0-9._-]+$/.test(parts.host)) return refuse(`has an uppercase trust domain; write it in lowercase: spiffe://${parts.host.toLowerCase()}${parts.path}`);
  if (!/^[a-z0-9._-]+$/.test(parts.host)) return refuse(`has a trust domain "${parts.host}" with characters other than lowercase letters, digits, ".", "-" and "_" (SPIFFE-ID §2.1)`);
  if (parts.query !== null) return refuse(`may not hold a query ("?${parts.query}") (SPIFFE-ID §2)`);
  if (parts.fragment !== null) return refuse(`may not hold a fragment ("#${parts.fragment}") (SPIFFE-ID §2)`);
  if (parts.path === "" || parts.path === "/") return refuse(`has no path: a certificate's SPIFFE ID names a workload below its trust domain, such as spiffe://${parts.host}/ns/web (X509-SVID §3.1)`);
  for (const segment of parts.path.slice(1).split("/")) {
    if (segment === "") return refuse(`has an empty path segment ("//" or a trailing "/") (SPIFFE-ID §2.2)`);
    if (segment === "." || segment === "..") return refuse(`has a "${segment}" path segment (SPIFFE-ID §2.2)`);
    if (!/^[A-Za-z0-9._-]+$/.test(segment)) return refuse(`has a path segment "${segment}" with characters other than letters, digits, ".", "-" and "_" (SPIFFE-ID §2.2: no percent-encoding either)`);
  }
  if (uri.length > SPIFFE_MAX) return refuse(`is ${uri.length} bytes long; the limit is ${SPIFFE_MAX} (SPIFFE-ID §2.3)`);
  return { ok: true };
}

/**
 * The host a URI constraint (RFC 5280 §4.2.1.10) is matched against: the reg-name of its authority, or null when
 * it has none (`urn:x`, `spiffe:///x`) or it is an IP address, which OpenSSL and Go then refuse under any URI
 * constraint.
 */
export function uriHost(uri: string): string | null {
  const host = splitUri(uri)?.host;
  if (!host || host.startsWith("[") || isIP(host)) return null;
  return host;
}
