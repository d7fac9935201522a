import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import type { KeyType } from "../../src/config/types.js";
import { factsFromTemplate, inspectCertificate } from "../../src/x509/inspect.js";
import { serialFrom, signCertificate, subjectKeyIdOf, templateFor } from "../../src/x509/issue.js";
import { generateKey } from "../../src/x509/keys.js";

describe("factsFromTemplate agrees with parsing the certificate", () => {
  for (const key of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] as KeyType[]) {
    it(`${key}, with name constraints, every SAN type`, async () => {
      const { config, diagnostics } = parseConfig(
        `version: 1
cas:
  root: { key: ${key}, subject: { country: DE, organization: "Grüße & Co" }, nameConstraints: { permitted: [.test, 10.1.2.3/8, "::1/128", "2001:db8::/32", example.org], excluded: [bad.test] } }
servers:
  web: { issuer: root, key: ${key}, altNames: [web.test, "*.web.test", 10.0.0.1, "2001:db8::1", "spiffe://web.test/api", ops@web.test] }
`,
        "pki.yaml",
      );
      expect(diagnostics).toEqual([]);
      const [root, web] = config!.identities;
      const rootKey = await generateKey(root!.key);
      const webKey = await generateKey(web!.key);
      const now = new Date("2027-02-03T04:05:06.789Z");
      const later = new Date("2029-02-03T04:05:06.789Z");
      const rootTemplate = templateFor({ identity: root!, spki: rootKey.spki, serial: serialFrom(randomBytes(16)), notBefore: now, notAfter: later, issuer: null });
      const rootCert = signCertificate(rootTemplate, rootKey.privateKey);
      expect(factsFromTemplate(rootTemplate, rootCert.der, root!.key)).toEqual(inspectCertificate(rootCert.pem).facts);
      const webTemplate = templateFor({
        identity: web!,
        spki: webKey.spki,
        serial: serialFrom(randomBytes(16)),
        notBefore: now,
        notAfter: later,
        issuer: { subject: root!.subject, keyType: root!.key, subjectKeyId: subjectKeyIdOf(rootKey.spki) },
      });
      const webCert = signCertificate(webTemplate, rootKey.privateKey);
      expect(factsFromTemplate(webTemplate, webCert.der, web!.key)).toEqual(inspectCertificate(webCert.pem).facts);
    });
  }
});
