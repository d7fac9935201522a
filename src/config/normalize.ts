import { classifyAltName, svidConflict, type AltName } from "./alt-names.js";
import { parseDuration, parseRenewBefore, type RenewBefore } from "./duration.js";
import type { Locate } from "./locate.js";
import type { CaInput, ClientInput, PkiInput, ServerInput } from "./schema.js";
import type { AltNameConstraint, IdentityKind, IdentitySpec, NameConstraintsSpec, ServeSpec, SubjectSpec } from "./types.js";
import type { Diagnostic } from "../errors.js";
import { isIP } from "node:net";
import { checkDnsName } from "./alt-names.js";
import { networkOf } from "./cidr.js";

/** Built-in lifetimes when neither the identity nor `defaults` names one. */
export const DEFAULT_VALIDITY = { root: "10y", intermediate: "5y", leaf: "90d" } as const;
export const DEFAULT_RENEW_BEFORE = "1/3";
export const DEFAULT_KEY = "ecdsa-p256";
export const DEFAULT_HOOK_TIMEOUT = "5m";
export const DEFAULT_CRL_VALIDITY = "7d";
/** A CRL is re-signed once half its lifetime has passed: a verifier that fetched it late still has days left. */
export const DEFAULT_CRL_REFRESH_BEFORE = "1/2";

function hookOf(command: string | string[] | undefined, timeout: string | undefined): IdentitySpec["afterChange"] {
  return command === undefined ? null : { command, timeoutSeconds: parseDuration(timeout ?? DEFAULT_HOOK_TIMEOUT)! };
}
/** 1000 years: the validity an external CA has until its certificate is read. */
const EXTERNAL_PLACEHOLDER_VALIDITY = 1000 * 365 * 86_400;

type AnyInput = CaInput | ServerInput | ClientInput;

/** Applies defaults and classifies alt names; reports entries that cannot be classified. */
export function normalizeIdentities(input: PkiInput, locate: Locate, diagnostics: Diagnostic[]): IdentitySpec[] {
  const defaults = input.defaults ?? {};
  const out: IdentitySpec[] = [];
  const sections: [IdentityKind, "cas" | "servers" | "clients"][] = [
    ["ca", "cas"],
    ["server", "servers"],
    ["client", "clients"],
  ];
  for (const [kind, section] of sections) {
    for (const [name, raw] of Object.entries(input[section] ?? {})) {
      const entry = raw as AnyInput;
      const yamlPath = [section, name] as const;
      const altNames = classifyAll("altNames" in entry ? (entry.altNames ?? []) : [], [...yamlPath, "altNames"], locate, diagnostics);
      const issuer = entry.issuer ?? null;
      const builtinValidity = kind !== "ca" ? DEFAULT_VALIDITY.leaf : issuer ? DEFAULT_VALIDITY.intermediate : DEFAULT_VALIDITY.root;
      const validityText = entry.validity ?? defaults.validity ?? builtinValidity;
      const renewText = entry.renewBefore ?? defaults.renewBefore ?? DEFAULT_RENEW_BEFORE;
      const firstDns = altNames.find((n) => n.type === "dns")?.value;
      const commonName = entry.commonName ?? (kind === "server" ? (firstDns ?? name) : name);
      const subject: SubjectSpec = { ...defaults.subject, ...entry.subject, commonName };
      const ca = kind === "ca" ? (entry as CaInput) : undefined;
      const external = ca?.external ? { cert: ca.external.cert, key: ca.external.key ?? null, chain: ca.external.chain ?? null } : null;
      const serveInput = kind === "server" ? (entry as ServerInput).serve : undefined;
      // A reason without revoked: true would do nothing: say so rather than ignore it.
      if (entry.revokedReason !== undefined && entry.revoked !== true) diagnostics.push({ severity: "error", ...locate([...yamlPath, "revokedReason"]), message: "revokedReason is only read with revoked: true" });
      out.push({
        name,
        kind,
        issuer,
        subject,
        altNames,
        key: (entry.key ?? defaults.key ?? DEFAULT_KEY) as IdentitySpec["key"],
        // An external CA's lifetime is its certificate's (store/external.ts fills it in); until then nothing may outlive it.
        validitySeconds: external ? EXTERNAL_PLACEHOLDER_VALIDITY : parseDuration(validityText)!,
        renewBefore: parseRenewBefore(renewText) as RenewBefore,
        pathLength: ca?.pathLength ?? null,
        nameConstraints: ca?.nameConstraints ? normalizeConstraints(ca.nameConstraints, [...yamlPath, "nameConstraints"], locate, diagnostics) : null,
        rotateKey: kind === "ca" ? "never" : ((entry as ServerInput).rotateKey ?? defaults.rotateKey ?? "always"),
        // A keyless external CA has nothing to decrypt, so the default passphrase is not asked for.
        passphraseEnv: entry.passphraseEnv ?? (external && external.key === null ? null : (defaults.passphraseEnv ?? null)),
        formats: [...new Set((entry.formats ?? []).filter((f): f is "der" | "p12" | "combined" => f !== "pem"))],
        p12PassphraseEnv: entry.p12PassphraseEnv ?? null,
        serve: serveInput ? normalizeServe(serveInput, [...yamlPath, "serve"], locate) : null,
        afterChange: hookOf(entry.afterChange ?? defaults.afterChange, entry.afterChangeTimeout ?? defaults.afterChangeTimeout),
        external,
        revoked: entry.revoked ? { reason: entry.revokedReason ?? "unspecified" } : null,
        revokeSuperseded: kind === "ca" ? false : ((entry as ServerInput).revokeSuperseded ?? defaults.revokeSuperseded ?? false),
        crl: ca
          ? {
              validitySeconds: parseDuration(ca.crlValidity ?? DEFAULT_CRL_VALIDITY)!,
              refreshBefore: parseRenewBefore(ca.crlRefreshBefore ?? DEFAULT_CRL_REFRESH_BEFORE) as RenewBefore,
              url: ca.crlUrl ?? null,
            }
          : null,
        yamlPath,
      });
    }
  }
  return out;
}

function normalizeServe(input: NonNullable<ServerInput["serve"]>, at: (string | number)[], locate: Locate): ServeSpec {
  return {
    at: locate(at, { key: true }),
    appAt: input.app === undefined ? null : locate([...at, "app"]),
    host: input.host,
    port: input.port,
    app: input.app ?? null,
    clientAuth: input.clientAuth,
    clientCa: input.clientCa ?? null,
    client: input.client ?? null,
  };
}

function classifyAll(values: string[], path: (string | number)[], locate: Locate, diagnostics: Diagnostic[]): AltName[] {
  const names: AltName[] = [];
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const result = classifyAltName(value);
    if (!result.ok) {
      diagnostics.push({ severity: "error", ...locate([...path, index]), message: result.message });
      return;
    }
    const key = `${result.name.type}:${result.name.value}`;
    if (seen.has(key)) {
      diagnostics.push({ severity: "error", ...locate([...path, index]), message: `duplicate alt name "${value}"` });
      return;
    }
    seen.add(key);
    names.push(result.name);
    // Reported once, at the second URI: one problem, one message.
    const conflict = result.name.type === "uri" && names.filter((n) => n.type === "uri").length === 2 ? svidConflict(names) : null;
    if (conflict) diagnostics.push({ severity: "error", ...locate([...path, index]), message: conflict });
  });
  return names;
}

function normalizeConstraints(
  input: { permitted?: string[] | undefined; excluded?: string[] | undefined },
  path: (string | number)[],
  locate: Locate,
  diagnostics: Diagnostic[],
): NameConstraintsSpec {
  const parse = (list: string[] | undefined, key: string) =>
    (list ?? []).flatMap((value, index): AltNameConstraint[] => {
      const parsed = parseConstraint(value);
      if (typeof parsed === "string") {
        diagnostics.push({ severity: "error", ...locate([...path, key, index]), message: parsed });
        return [];
      }
      return [parsed];
    });
  return { permitted: parse(input.permitted, "permitted"), excluded: parse(input.excluded, "excluded") };
}

/** `10.0.0.0/8` → IP range; `@example.test` or `x@y` → email; otherwise a DNS suffix (`.test`, `localhost`). */
export function parseConstraint(text: string): AltNameConstraint | string {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr) {
    const family = isIP(cidr[1]!);
    const prefix = Number(cidr[2]);
    if (!family || prefix > (family === 4 ? 32 : 128)) return `"${text}" is not a valid IP range (use CIDR such as 127.0.0.0/8 or ::1/128)`;
    return { type: "ip", value: networkOf(cidr[1]!, prefix), prefix };
  }
  if (isIP(text)) return { type: "ip", value: networkOf(text, 128), prefix: isIP(text) === 4 ? 32 : 128 };
  if (text.includes("@")) {
    const domain = text.slice(text.lastIndexOf("@") + 1);
    const check = checkDnsName(domain.replace(/^\./, ""), { allowWildcard: false });
    return check.ok ? { type: "email", value: text.startsWith("@") ? text.slice(1) : text } : `"${text}" is not a valid email constraint`;
  }
  const check = checkDnsName(text.replace(/^\./, ""), { allowWildcard: false });
  if (!check.ok) return `"${text}" is not a valid DNS name constraint: ${check.message}`;
  return { type: "dns", value: text.startsWith(".") ? `.${check.value}` : check.value };
}
