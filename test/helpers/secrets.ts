/**
 * Every passphrase and password the tests hand to provision or to the tools around it. The global teardown
 * (test/global-setup.ts) fails the suite when any of them appears in the output of a process the tests ran;
 * test/store/secrets.test.ts fails when a test uses a passphrase that is not listed here.
 */
export const TEST_SECRETS = {
  primary: "correct horse battery staple",
  rotated: "Tr0ub4dor&3-rotated",
  wrong: "not-the-passphrase-8Jq",
  exportCa: "export-test-passphrase",
  ciNightly: "nightly ci secret for the test",
  ci: "ci secret for the test",
  p12: "s3cret-p12",
  teamAdmin: "team-admin-passphrase",
  companyCa: "company-ca-passphrase",
} as const;

export const ALL_TEST_SECRETS: readonly string[] = Object.values(TEST_SECRETS);
