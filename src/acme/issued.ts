import { AcmeState } from "./state.js";

/** One certificate `provision acme` issued, as `provision status` lists it. */
export interface AcmeIssuedRow {
  names: string[];
  serial: string;
  notAfter: string;
  daysLeft: number;
  state: "valid" | "expired" | "revoked";
  /** The order it was issued for (its chain is pki/acme/certs/<order>.pem). */
  order: string;
}

/**
 * The certificates issued over ACME, from the endpoint's state in the output folder (validated as it is
 * read; what does not fit is left out), soonest expiry first. Renewing them is each client's job, so they
 * are listed, not planned.
 */
export function acmeIssuedCertificates(outputDir: string, now: Date): AcmeIssuedRow[] {
  const { state } = AcmeState.load(outputDir);
  const rows: AcmeIssuedRow[] = [];
  for (const order of state.orders.values()) {
    const cert = order.certificate;
    if (!cert) continue;
    const msLeft = Date.parse(cert.notAfter) - now.getTime();
    rows.push({
      names: order.identifiers.map((i) => i.value),
      serial: cert.serial,
      notAfter: cert.notAfter,
      daysLeft: Math.floor(msLeft / 86_400_000),
      state: cert.revoked ? "revoked" : msLeft <= 0 ? "expired" : "valid",
      order: order.id,
    });
  }
  return rows.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.serial.localeCompare(b.serial));
}
