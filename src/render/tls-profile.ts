/**
 * Mozilla's "intermediate" server profile (https://wiki.mozilla.org/Security/Server_Side_TLS): TLS 1.2
 * and 1.3 only; for TLS 1.2 only ECDHE key exchange with AEAD ciphers (no CBC, so no LUCKY13). TLS 1.3's
 * suites are all AEAD and stay OpenSSL's defaults. Every rendered or launched server uses it.
 */
export const INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

export const INTERMEDIATE_PROTOCOLS = ["TLSv1.2", "TLSv1.3"] as const;

/**
 * OpenSSL's SSL_OP_NO_TLSv1_1 (bit 28), for uwsgi's `ssl-option` (a raw number). uwsgi already sets
 * SSL_OP_NO_SSLv3 and SSL_OP_NO_TLSv1 itself; OpenSSL 3 refuses TLS 1.1 at its default security level
 * anyway, but a build with a lower level must not offer it either.
 */
export const OPENSSL_OP_NO_TLSV1_1 = 0x10000000;
