import { formatPath, type Diagnostic } from "../errors.js";
import { commonNameMeaning, constrainedNameAt, constrainedNamesFor } from "./san.js";
import { CLOCK_SKEW_SECONDS, formatDuration, renewalWindowSeconds } from "./duration.js";
import { indexByName, issuerChain } from "./issuers.js";
import { constraintViolation, subtreeText, subtreeWithin } from "./name-constraints.js";
import type { Locate } from "./locate.js";
import type { IdentitySpec, LintSpec } from "./types.js";
import { launchClients } from "./serve.js";

export interface RuleContext {
  identities: IdentitySpec[];
  lint: LintSpec;
  byName: Map<string, IdentitySpec>;
  locate: Locate;
  report: (path: readonly (string | number)[], message: string, options?: { key?: boolean }) => void;
  warn: (path: readonly (string | number)[], message: string) => void;
}

type Rule = (ctx: RuleContext) => void;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Whether a name can be a folder name: no separators, no dot files, no `..`, at most 64 characters. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes("..");
}

/** Names become folder names: no separators, no dot files, no `..`, at most 64 characters. */
const safeNames: Rule = ({ identities, report }) => {
  for (const id of identities) {
    if (!isSafeName(id.name)) {
      const why = id.name.length > 64 ? "longer than 64 characters" : "use letters, digits, '.', '_' and '-', starting with a letter or digit";
      report(id.yamlPath, `name ${JSON.stringify(id.name)} cannot be used as a folder name: ${why}`, { key: true });
    }
  }
};

/** Names must be unique across cas, servers and clients, ignoring case (they collide on case-insensitive disks). */
const uniqueNames: Rule = ({ identities, report }) => {
  const seen = new Map<string, IdentitySpec>();
  for (const id of identities) {
    const folded = id.name.toLowerCase();
    const first = seen.get(folded);
    if (first) {
      report(id.yamlPath, `name "${id.name}" is already used by ${first.yamlPath.join(".")}; names must be unique, ignoring case`, { key: true });
    } else seen.set(folded, id);
  }
};

const issuersExist: Rule = ({ identities, byName, report }) => {
  for (const id of identities) {
    if (id.issuer === null) continue;
    const issuer = byName.get(id.issuer);
    if (!issuer) {
      const cas = identities.filter((c) => c.kind === "ca").map((c) => c.name);
      report([...id.yamlPath, "issuer"], `unknown issuer "${id.issuer}"; defined CAs: ${cas.join(", ") || "none"}`);
    } else if (issuer.kind !== "ca") {
      report([...id.yamlPath, "issuer"], `issuer "${id.issuer}" is a ${issuer.kind}, not a CA`);
    }
  }
};

const noIssuerCycles: Rule = ({ identities, byName, report }) => {
  for (const id of identities.filter((i) => i.kind === "ca")) {
    const seen = [id.name];
    let current = id.issuer === null ? undefined : byName.get(id.issuer);
    while (current && current.kind === "ca") {
      if (current.name === id.name) {
        report([...id.yamlPath, "issuer"], `issuer cycle: ${[...seen, id.name].join(" → ")}`);
        break;
      }
      if (seen.includes(current.name)) break;
      seen.push(current.name);
      current = current.issuer === null ? undefined : byName.get(current.issuer);
    }
  }
};

const leavesOutlivedByIssuer: Rule = ({ identities, byName, report }) => {
  for (const id of identities) {
    const issuer = id.issuer === null ? undefined : byName.get(id.issuer);
    if (!issuer || issuer.kind !== "ca") continue;
    if (id.validitySeconds > issuer.validitySeconds) {
      report(
        [...id.yamlPath, "validity"],
        `validity ${formatDuration(id.validitySeconds)} is longer than its issuer ${issuer.name}'s ${formatDuration(issuer.validitySeconds)}; a certificate cannot outlive its issuer`,
      );
    }
  }
};

/**
 * The renewal window must open after the certificate is issued. A fraction is taken of the lifetime as
 * written (validity plus the backdate), so for minute-long certificates even 1/3 can exceed the validity.
 */
const renewWindowFits: Rule = ({ identities, report }) => {
  for (const id of identities) {
    const window = renewalWindowSeconds(id.renewBefore, id.validitySeconds + CLOCK_SKEW_SECONDS);
    if (window >= id.validitySeconds) {
      const what = id.renewBefore.kind === "duration" ? `renewBefore ${id.renewBefore.text}` : `renewBefore ${id.renewBefore.text} (${formatDuration(window)} of a lifetime that starts ${formatDuration(CLOCK_SKEW_SECONDS)} early)`;
      report([...id.yamlPath, "renewBefore"], `${what} is not shorter than the validity ${formatDuration(id.validitySeconds)}; the certificate would be renewed on every run`);
    }
  }
};

/** Minutes are for short-lived leaves (test environments, step-ca style); a CA lives whole hours at least. */
const caLifetimesInHours: Rule = ({ identities, report }) => {
  for (const id of identities) {
    if (id.kind === "ca" && id.validitySeconds % 3600 !== 0) {
      report([...id.yamlPath, "validity"], `validity ${formatDuration(id.validitySeconds)} is in minutes; minutes are for servers and clients, a CA's validity is given in h, d, w or y`);
    }
  }
};

/** A CA with pathLength n may have at most n CAs below it on any path (RFC 5280 §4.2.1.9). */
const pathLengthsHold: Rule = ({ identities, byName, report }) => {
  for (const id of identities.filter((i) => i.kind === "ca")) {
    let depth = 0;
    let issuer = id.issuer === null ? undefined : byName.get(id.issuer);
    const visited = new Set<string>();
    while (issuer && issuer.kind === "ca" && !visited.has(issuer.name)) {
      visited.add(issuer.name);
      if (issuer.pathLength !== null && depth + 1 > issuer.pathLength) {
        report(
          [...id.yamlPath, "issuer"],
          `CA "${id.name}" is ${depth + 1} CA level(s) below "${issuer.name}", whose pathLength ${issuer.pathLength} allows ${issuer.pathLength}`,
        );
        break;
      }
      depth++;
      issuer = issuer.issuer === null ? undefined : byName.get(issuer.issuer);
    }
  }
};

const serversHaveNames: Rule = ({ identities, report }) => {
  for (const id of identities) {
    if (id.kind === "server" && id.altNames.length === 0) {
      report([...id.yamlPath, "altNames"], "a server needs at least one alt name (the host names or IPs clients connect to)");
    }
  }
};

const servePointsAtIdentities: Rule = ({ identities, byName, report }) => {
  for (const id of identities) {
    if (!id.serve) continue;
    const { clientCa, client } = id.serve;
    if (clientCa !== null && byName.get(clientCa)?.kind !== "ca") {
      report([...id.yamlPath, "serve", "clientCa"], `clientCa "${clientCa}" is not a CA defined under cas`);
    }
    if (client !== null && byName.get(client)?.kind !== "client") {
      report([...id.yamlPath, "serve", "client"], `client "${client}" is not defined under clients`);
    }
    if (id.serve.clientAuth !== "none" && clientCa === null && !identities.some((i) => i.kind === "client")) {
      report([...id.yamlPath, "serve", "clientAuth"], `clientAuth: ${id.serve.clientAuth} needs a CA to check client certificates against: set serve.clientCa, or define a client under clients`);
    }
  }
};

/**
 * Every name of every identity must lie inside the name constraints of every CA on its path: verifiers
 * apply them all. Checked here so provision never issues a certificate its own chain would reject.
 */
const namesWithinConstraints: Rule = ({ identities, byName, locate, report }) => {
  for (const id of identities) {
    // Most PKIs have no constraints: the names (a DNS check per name) are worked out only under a constrained CA.
    const constrained = issuerChain(id, byName).filter((ca) => ca.nameConstraints);
    if (!constrained.length) continue;
    const names = constrainedNamesFor(id);
    for (const ca of constrained) {
      if (!ca.nameConstraints) continue;
      for (const { name } of names) {
        const why = constraintViolation(name, ca.nameConstraints);
        if (!why) continue;
        // Located only when reported: finding a place in the file is not free (config/incremental.ts).
        const where = locate([...ca.yamlPath, "nameConstraints"]);
        const { path, what } = constrainedNameAt(id, name);
        report(path, `${what} is outside the name constraints of CA ${ca.name} (${where.path}, line ${where.line}): ${why}`);
      }
    }
  }
};

/** A server's commonName that reads as a host name goes into the SAN, so it must be a valid one. */
const serverCommonNames: Rule = ({ identities, report }) => {
  for (const id of identities) {
    if (id.kind !== "server") continue;
    const meaning = commonNameMeaning(id.subject.commonName);
    if (meaning.kind === "invalid") report([...id.yamlPath, "commonName"], `commonName looks like a host name but is not a valid one: ${meaning.message}`);
  }
};

/** A CA's own constraints may only narrow its issuers': a permitted subtree must lie inside theirs. */
const constraintsOnlyNarrow: Rule = ({ identities, byName, report }) => {
  for (const ca of identities.filter((i) => i.kind === "ca" && i.nameConstraints)) {
    for (const [index, subtree] of ca.nameConstraints!.permitted.entries()) {
      for (const parent of issuerChain(ca, byName)) {
        const parentPermitted = parent.nameConstraints?.permitted.filter((p) => p.type === subtree.type) ?? [];
        const excluded = parent.nameConstraints?.excluded.find((p) => subtreeWithin(subtree, p));
        if ((parentPermitted.length && !parentPermitted.some((p) => subtreeWithin(subtree, p))) || excluded) {
          report([...ca.yamlPath, "nameConstraints", "permitted", index], `"${subtreeText(subtree)}" widens the name constraints of its issuer ${parent.name}; a CA's constraints may only narrow its issuer's`);
        }
      }
    }
  }
};

const SHORTEST_SENSIBLE_VALIDITY = 5 * 60;

/**
 * Leaf lifetimes clients refuse: Apple platforms reject TLS certificates valid for more than 825 days. The
 * lifetime judged is notAfter − notBefore as written, so it includes the clock-skew backdate.
 */
const leafLifetimes: Rule = ({ identities, lint, warn }) => {
  const skew = `notBefore is backdated ${CLOCK_SKEW_SECONDS / 60} minutes for clock skew`;
  for (const id of identities) {
    if (id.kind === "ca") continue;
    const lifetime = id.validitySeconds + CLOCK_SKEW_SECONDS;
    if (lint.maxLeafValiditySeconds !== null && lifetime > lint.maxLeafValiditySeconds) {
      warn([...id.yamlPath, "validity"], `validity ${formatDuration(id.validitySeconds)} makes a certificate that lives longer than lint.maxLeafValidity ${formatDuration(lint.maxLeafValiditySeconds)} (${skew}); use ${Math.floor((lint.maxLeafValiditySeconds - CLOCK_SKEW_SECONDS) / 86_400)}d or less`);
    } else if (id.validitySeconds < SHORTEST_SENSIBLE_VALIDITY) {
      warn([...id.yamlPath, "validity"], `validity ${formatDuration(id.validitySeconds)} is under 5 minutes: a server may hand out a certificate that expires before a client has finished using it`);
    } else if (id.kind === "server" && lifetime > APPLE_MAX_SECONDS) {
      warn([...id.yamlPath, "validity"], `validity ${formatDuration(id.validitySeconds)} makes a certificate that lives longer than 825 days (${skew}), the most Apple platforms accept for TLS server certificates (also from private roots); use 824d or less (browsers cap publicly trusted ones at 398 days)`);
    }
  }
};

const APPLE_MAX_SECONDS = 825 * 86_400;

/**
 * `revoked: true` is final and needs a CA above to list it: a root or an external CA cannot be revoked here,
 * and whatever a revoked CA issued must be revoked too (its chain no longer verifies anyway).
 */
const revocationsHold: Rule = ({ identities, byName, report, warn }) => {
  for (const id of identities) {
    const issuer = id.issuer === null ? undefined : byName.get(id.issuer);
    if (id.revoked && id.external) {
      report([...id.yamlPath, "revoked"], `external CA ${id.name} cannot be revoked by provision: its CRL is kept by whoever holds its key; remove it from pki.yaml and from the trust stores`);
    } else if (id.revoked && id.issuer === null) {
      report([...id.yamlPath, "revoked"], `root ${id.name} cannot be revoked: no CA above it signs a CRL; remove it from pki.yaml and from every trust store (provision trust uninstall)`);
    }
    if (issuer?.revoked && !id.revoked) {
      report([...id.yamlPath, "issuer"], `issuer ${issuer.name} is revoked: revoke ${id.name} too (revoked: true), or give it another issuer`);
    }
    if (id.serve?.client && byName.get(id.serve.client)?.revoked) report([...id.yamlPath, "serve", "client"], `client "${id.serve.client}" is revoked; name another client`);
    // Every client it would present is revoked: the launch config presents none, and the server refuses it.
    if (id.serve?.clientAuth === "required" && id.serve.client === null && launchClients(identities, id.serve).client === null) {
      const revoked = launchClients(identities, id.serve).clientCas.flatMap((ca) => identities.filter((c) => c.kind === "client" && c.issuer === ca && c.revoked).map((c) => c.name));
      if (revoked.length) {
        warn([...id.yamlPath, "serve", "clientAuth"], `every client ${id.name} accepts is revoked (${revoked.join(", ")}): its client config (client.env, client.curlrc, provision exec ${id.name}) presents no certificate, and the server refuses it; add a client, or set serve.clientAuth`);
      }
    }
    if (id.serve?.clientCa && byName.get(id.serve.clientCa)?.revoked) report([...id.yamlPath, "serve", "clientCa"], `CA "${id.serve.clientCa}" is revoked; name another CA`);
  }
};

export const RULES: readonly Rule[] = [
  safeNames,
  uniqueNames,
  issuersExist,
  noIssuerCycles,
  leavesOutlivedByIssuer,
  renewWindowFits,
  caLifetimesInHours,
  pathLengthsHold,
  serversHaveNames,
  serverCommonNames,
  servePointsAtIdentities,
  namesWithinConstraints,
  constraintsOnlyNarrow,
  leafLifetimes,
  revocationsHold,
];

export function runRules(identities: IdentitySpec[], locate: Locate, diagnostics: Diagnostic[], lint: LintSpec = { maxLeafValiditySeconds: null }, rules: readonly Rule[] = RULES): void {
  const byName = indexByName(identities);
  // One problem, one message: a rule about a whole list (a server with no alt names left) says nothing when an
  // entry of that list was already reported (the invalid alt name that was dropped is the cause).
  const report: RuleContext["report"] = (path, message, options) => {
    const listEntry = `${formatPath(path)}[`;
    if (diagnostics.some((d) => d.severity === "error" && d.path?.startsWith(listEntry))) return;
    diagnostics.push({ severity: "error", ...locate(path, options), message });
  };
  const warn: RuleContext["warn"] = (path, message) => diagnostics.push({ severity: "warning", ...locate(path), message });
  for (const rule of rules) rule({ identities, lint, byName, locate, report, warn });
}

/** Orders identities so that each issuer precedes what it signs; ties break by kind, then name. */
export function sortByIssuer(identities: IdentitySpec[]): IdentitySpec[] {
  const byName = indexByName(identities);
  const depth = (id: IdentitySpec): number => {
    let d = 0;
    for (let cur = id; cur.issuer !== null && d < identities.length; d++) {
      const next = byName.get(cur.issuer);
      if (!next) break;
      cur = next;
    }
    return d;
  };
  const kindOrder = { ca: 0, server: 1, client: 2 } as const;
  return [...identities].sort(
    (a, b) => depth(a) - depth(b) || kindOrder[a.kind] - kindOrder[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}
