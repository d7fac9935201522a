/** ACME error types (RFC 8555 §6.7) the endpoint uses; each becomes `urn:ietf:params:acme:error:<type>`. */
export type AcmeErrorType =
  | "accountDoesNotExist"
  | "alreadyRevoked"
  | "badCSR"
  | "badNonce"
  | "badPublicKey"
  | "badRevocationReason"
  | "badSignatureAlgorithm"
  | "connection"
  | "dns"
  | "externalAccountRequired"
  | "incorrectResponse"
  | "invalidContact"
  | "malformed"
  | "orderNotReady"
  | "rejectedIdentifier"
  | "serverInternal"
  | "tls"
  | "unauthorized"
  | "unsupportedIdentifier";

/** An RFC 7807 problem document as ACME sends it. */
export interface ProblemDocument {
  type: string;
  detail: string;
  status: number;
  subproblems?: (Omit<ProblemDocument, "status" | "subproblems"> & { identifier: { type: string; value: string } })[];
}

/** AcmeProblem is thrown by request handlers and sent as application/problem+json by the server. */
export class AcmeProblem extends Error {
  constructor(
    readonly type: AcmeErrorType,
    message: string,
    readonly status: number = defaultStatus(type),
    readonly subproblems?: ProblemDocument["subproblems"],
  ) {
    super(message);
    this.name = "AcmeProblem";
  }

  toDocument(): ProblemDocument {
    return { type: `urn:ietf:params:acme:error:${this.type}`, detail: this.message, status: this.status, ...(this.subproblems ? { subproblems: this.subproblems } : {}) };
  }
}

function defaultStatus(type: AcmeErrorType): number {
  if (type === "unauthorized") return 403;
  if (type === "accountDoesNotExist") return 400;
  if (type === "serverInternal") return 500;
  if (type === "orderNotReady") return 403;
  return 400;
}

/** A problem document for a failed validation, stored on the challenge. */
export function problemOf(type: AcmeErrorType, detail: string): ProblemDocument {
  return new AcmeProblem(type, detail).toDocument();
}
