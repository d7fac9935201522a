/** Wraps DER bytes as PEM with 64-character lines. */
export function toPem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** Every PEM block in a text, in order. */
export function pemBlocks(text: string): { label: string; der: Buffer; pem: string }[] {
  return [...text.matchAll(BLOCK)].map((m) => ({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ""), "base64"), pem: `${m[0]}\n` }));
}

/** The DER of the first block with this label, or undefined. */
export function pemToDer(text: string, label: string): Buffer | undefined {
  return pemBlocks(text).find((b) => b.label === label)?.der;
}

/** Encrypted PKCS#8, or a traditional (OpenSSL "Proc-Type: 4,ENCRYPTED") key such as an external CA may bring. */
export function isEncryptedKeyPem(pem: string): boolean {
  return pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.includes("Proc-Type: 4,ENCRYPTED");
}
