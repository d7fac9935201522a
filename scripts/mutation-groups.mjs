// What `npm run mutate` (scripts/mutate.mjs) runs: each group is one Stryker run over `mutate` against only the
// fast, in-process test files that cover it. One run over every module against every fast test would take many
// hours on two cores (each mutant would rerun unrelated slow tests); per group, the same mutants are judged by the
// tests that can see them. docs/MUTATION.md records each group's score and explains its survivors.
// test/repo/mutation-groups.test.ts checks that every module of the four folders is in a group or in `unscored`
// with its reason, and that every test file named here exists.

/** `env` is set for the group's run only. @type {{ mutate: string[], tests: string[], env?: Record<string, string> }[]} */
export const groups = [
  // src/config
  { mutate: ["src/config/name-constraints.ts"], tests: ["test/config/name-constraints.test.ts", "test/config/edges.test.ts", "test/config/cidr.test.ts"] },
  {
    mutate: ["src/config/alt-names.ts", "src/config/uri.ts", "src/config/duration.ts", "src/config/san.ts"],
    tests: ["test/config/name-constraints.test.ts", "test/config/alt-names.test.ts", "test/config/uri.test.ts", "test/config/duration.test.ts", "test/config/san.test.ts", "test/config/edges.test.ts", "test/config/cidr.test.ts"],
  },
  { mutate: ["src/config/rules.ts"], tests: ["test/config/rules.test.ts"] },
  { mutate: ["src/config/normalize.ts"], tests: ["test/config/normalize.test.ts"] },
  { mutate: ["src/config/external.ts", "src/config/issuers.ts"], tests: ["test/config/external.test.ts"] },
  { mutate: ["src/config/expansion.ts", "src/config/duplicate-keys.ts", "src/config/locate.ts"], tests: ["test/config/expansion.test.ts"] },
  { mutate: ["src/config/yaml-errors.ts"], tests: ["test/config/yaml-errors.test.ts"] },
  { mutate: ["src/config/cidr.ts"], tests: ["test/config/cidr.test.ts"] },
  { mutate: ["src/config/serve.ts", "src/config/unicode.ts"], tests: ["test/config/lone-surrogate.test.ts", "test/config/schema.test.ts", "test/config/serve-clients.test.ts"] },
  { mutate: ["src/config/load.ts", "src/config/cache.ts"], tests: ["test/config/load.test.ts"] },
  { mutate: ["src/config/acme.ts"], tests: ["test/config/acme.test.ts"] },
  { mutate: ["src/config/parse.ts"], tests: ["test/config/parse.test.ts", "test/config/typos.test.ts"] },
  // The example-based tests only: the property test (random edits against a full parse, about 20 s a run) and the
  // 2,000-server case would take hours here; `npm test` runs both.
  { mutate: ["src/config/incremental.ts"], tests: ["test/config/incremental.test.ts", "test/config/incremental-layout.test.ts", "test/config/incremental-rules.test.ts"], env: { PROPERTY_RUNS: "0", INCREMENTAL_SERVERS: "200" } },
  // src/plan
  {
    mutate: ["src/plan/diff.ts", "src/plan/renewal.ts"],
    tests: ["test/plan/diff.test.ts", "test/plan/next-due.test.ts", "test/plan/build.test.ts", "test/plan/crl.test.ts", "test/config/field-effects.test.ts"],
  },
  // build.ts in three disjoint parts (a line in two groups would count its mutants twice in the summary).
  { mutate: ["src/plan/build.ts:218-351"], tests: ["test/plan/decide.test.ts", "test/plan/build.test.ts", "test/plan/external.test.ts"] },
  { mutate: ["src/plan/compose.ts", "src/plan/format.ts", "src/plan/hooks.ts"], tests: ["test/plan/compose-format-hooks.test.ts"] },
  { mutate: ["src/plan/build.ts:182-217", "src/plan/build.ts:352-468"], tests: ["test/plan/external.test.ts", "test/plan/passphrases.test.ts", "test/plan/assembly.test.ts", "test/plan/decide.test.ts", "test/plan/build.test.ts"] },
  { mutate: ["src/plan/build.ts:1-181"], tests: ["test/plan/assembly.test.ts", "test/plan/decide.test.ts", "test/plan/build.test.ts", "test/plan/passphrases.test.ts", "test/plan/external.test.ts"] },
  { mutate: ["src/plan/revocation.ts"], tests: ["test/plan/revocation.test.ts"] },
  // src/x509
  { mutate: ["src/x509/spec.ts", "src/x509/inspect.ts"], tests: ["test/x509/issue.test.ts"] },
  // forge.ts reads back what others wrote (certificates, CRLs, requests, key headers) and builds PKCS#12: three
  // runs of under half an hour each. (Its lines 98-166 were scored before encode.ts took the encoder over.)
  { mutate: ["src/x509/forge.ts:1-160"], tests: ["test/x509/forge-decode.test.ts"] },
  { mutate: ["src/x509/forge.ts:161-281"], tests: ["test/x509/crl.test.ts", "test/x509/csr.test.ts", "test/x509/forge-decode.test.ts"] },
  { mutate: ["src/x509/forge.ts:282-408"], tests: ["test/x509/pkcs12.test.ts", "test/x509/forge-decode.test.ts", "test/x509/key-decisions.test.ts"] },
  { mutate: ["src/x509/keys.ts"], tests: ["test/x509/key-decisions.test.ts"] },
  { mutate: ["src/x509/crl.ts"], tests: ["test/x509/crl.test.ts"] },
  { mutate: ["src/x509/csr.ts", "src/x509/pem.ts", "src/x509/pkcs12.ts"], tests: ["test/x509/csr.test.ts", "test/x509/pem.test.ts", "test/x509/pkcs12.test.ts"] },
  { mutate: ["src/x509/issue.ts"], tests: ["test/x509/issue.test.ts"] },
  { mutate: ["src/x509/der.ts", "src/x509/encode.ts"], tests: ["test/x509/der-encoder.test.ts", "test/x509/crl.test.ts", "test/x509/csr.test.ts", "test/x509/issue.test.ts"] },
  // src/store
  { mutate: ["src/store/guard.ts"], tests: ["test/store/guard.test.ts"] },
  {
    mutate: ["src/store/state-parse.ts", "src/store/folder-swap.ts", "src/store/atomic-write.ts"],
    tests: ["test/store/state-file.test.ts", "test/store/folder-swap.test.ts", "test/store/atomic-write.test.ts"],
  },
  {
    mutate: ["src/store/layout.ts", "src/store/stamp.ts", "src/store/passphrase.ts", "src/store/own-keys.ts"],
    tests: ["test/store/layout.test.ts", "test/store/stamp.test.ts", "test/store/passphrase.test.ts", "test/store/own-keys.test.ts"],
  },
  { mutate: ["src/store/lock.ts", "src/store/pending-hooks.ts"], tests: ["test/store/lock.test.ts", "test/store/pending-hooks.test.ts"] },
  {
    mutate: ["src/store/state-cache.ts", "src/store/read-crls.ts", "src/store/external.ts", "src/store/pending-key.ts"],
    tests: ["test/store/state-cache.test.ts", "test/store/read-crls.test.ts", "test/store/external.test.ts", "test/store/pending-key.test.ts"],
  },
  // read-state.ts in two runs of about 25 minutes each.
  { mutate: ["src/store/read-state.ts:1-233"], tests: ["test/store/read-state.test.ts", "test/store/read-state-trust.test.ts"] },
  { mutate: ["src/store/read-state.ts:234-473"], tests: ["test/store/read-state.test.ts", "test/store/read-state-trust.test.ts"] },
  { mutate: ["src/store/state-file.ts"], tests: ["test/store/state-file.test.ts", "test/store/written-state.test.ts"] },
];

/** Modules of the four folders no group mutates, each with the reason (docs/MUTATION.md says more). */
export const unscored = new Map([
  ["src/config/types.ts", "types only, no logic"],
  ["src/plan/types.ts", "types only, no logic"],
  ["src/x509/oids.ts", "a table of constants, static (ignoreStatic); every OID is checked against forge's in test/x509/der-encoder.test.ts"],
  ["src/config/zod.ts", "re-exports of zod, no logic of ours"],
  ["src/config/json-schema.ts", "one call to zod's toJSONSchema; its output is compared with the committed pki.schema.json"],
  ["src/config/schema.ts", "declarative zod built at import (static); its callbacks are pinned by schema, typos and field-effects tests"],
  ["src/config/acme-schema.ts", "declarative zod built at import (static), as schema.ts"],
  ["src/config/serve-schema.ts", "declarative zod built at import (static), as schema.ts"],
]);

/** The folders `npm run mutate` covers (issue 12; stryker.config.mjs's default `mutate`). */
export const mutatedFolders = ["src/config", "src/plan", "src/x509", "src/store"];
