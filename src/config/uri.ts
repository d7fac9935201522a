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

/** The IRI with each refused character shown as U+XXXX, so the message does not print control characters. */
function visible(iri: string): string {
  return [...iri].map((ch) => (ch.codePointAt(0)! > 0x7f && firstInvalid(ch, true) !== null ? `<${firstInvalid(ch, true)}>` : ch)).join("");
}

/** Percent-encodes the UTF-8 bytes of each non-ASCII character (RFC 3986 §2.1: uppercase hex). */
function percentEncode(text: string): string {
  return text.replace(/[^\x00-\x7f]/gu, (ch) => [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase()}`).join(""));
}
