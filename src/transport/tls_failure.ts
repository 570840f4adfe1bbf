// What a runtime says about a failed TLS handshake, turned into a TlsError whose `reason` callers can
// branch on. Bun reports OpenSSL/Node verification codes (SELF_SIGNED_CERT_IN_CHAIN,
// ERR_TLS_CERT_ALTNAME_INVALID, ...), Deno reports rustls' words (UnknownIssuer, "not valid for name").
// Rule: the runtime's own words stay in the message as the detail; the reason and the advice are ours.
import { TlsError, type TlsFailureReason } from "../errors.ts";

const reasons: readonly [RegExp, TlsFailureReason][] = [
  [/ALTNAME|not valid for name|NotValidForName/i, "hostname-mismatch"],
  [/EXPIRED|NOT_YET_VALID|NotValidYet/i, "expired-certificate"],
  // BadSignature: rustls found a trusted CA of the issuer's name, but it did not sign this certificate.
  [/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|UnknownIssuer|CaUsedAsEndEntity|BadSignature|UNTRUSTED/i, "untrusted-certificate"],
  [/certificate|CERT/i, "invalid-certificate"],
];

const advice: Record<TlsFailureReason, string> = {
  "untrusted-certificate": "give the CA that signed it as tls.ca",
  "hostname-mismatch": "connect with a name the certificate lists, or name one in tls.servername",
  "expired-certificate": "the server needs a current certificate (or this machine's clock is wrong)",
  "invalid-certificate": "the server needs a certificate this runtime accepts",
  "handshake": "is this a TLS port? (rediss://, valkeys:// and the tls option speak only TLS)",
};

/** The reason behind a runtime's description of a failed handshake. */
export function tlsFailureReason(detail: string): TlsFailureReason {
  for (const [pattern, reason] of reasons) if (pattern.test(detail)) return reason;
  return "handshake";
}

/** A TlsError for the server at `where`, from the runtime's `detail` (its code and message). */
export function tlsFailure(where: string, detail: string, cause: unknown): TlsError {
  const reason = tlsFailureReason(detail);
  const what = reason === "handshake" ? `the TLS handshake with ${where} failed` : `the certificate of ${where} was refused`;
  return new TlsError(reason, `${what} (${reason}: ${detail}): ${advice[reason]}`, { cause });
}
