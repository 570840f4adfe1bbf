// Method: pure TS: the words Bun 1.4.5 and Deno 2.9.6 were seen to use for failed TLS handshakes
// (copied from real failures against redis-server in tests/integration/tls.test.ts) are mapped to a
// TlsError reason; the real handshakes are tested there, on both runtimes.
import { assert, runtime, test } from "../shim.ts";
import { ConnectionError, TlsError } from "../../src/errors.ts";
import { tlsFailure, tlsFailureReason } from "../../src/transport/tls_failure.ts";

test(`tls failure: each runtime's words map to one reason (${runtime})`, () => {
  const seen: [string, ReturnType<typeof tlsFailureReason>][] = [
    // Bun (Node's error codes over BoringSSL)
    ["SELF_SIGNED_CERT_IN_CHAIN: self signed certificate in certificate chain", "untrusted-certificate"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT: self signed certificate", "untrusted-certificate"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate", "untrusted-certificate"],
    ["ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ", "hostname-mismatch"],
    ["CERT_HAS_EXPIRED: certificate has expired", "expired-certificate"],
    ["EPROTO: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", "handshake"],
    // Deno (rustls)
    ["invalid peer certificate: UnknownIssuer", "untrusted-certificate"],
    ["invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))", "untrusted-certificate"],
    ["invalid peer certificate: BadSignature", "untrusted-certificate"],
    ['invalid peer certificate: certificate not valid for name "127.0.0.1"; certificate is only valid for DnsName("x")', "hostname-mismatch"],
    ["invalid peer certificate: certificate expired: verification time 1796657272 (UNIX), but certificate is not valid after 1577923200", "expired-certificate"],
    ["received corrupt message of type InvalidContentType", "handshake"],
  ];
  for (const [words, reason] of seen) assert.equal(tlsFailureReason(words), reason, words);
});

test(`tls failure: the error names the server, the reason and what to do, and is a ConnectionError (${runtime})`, () => {
  const cause = new Error("UnknownIssuer");
  const error = tlsFailure("127.0.0.1:6380", "invalid peer certificate: UnknownIssuer", cause);
  assert.ok(error instanceof TlsError && error instanceof ConnectionError);
  assert.equal(error.code, "ERR_PUSHWIRE_TLS");
  assert.equal(error.name, "TlsError");
  assert.equal(error.reason, "untrusted-certificate");
  assert.equal(error.cause, cause);
  assert.match(error.message, /127\.0\.0\.1:6380 was refused \(untrusted-certificate: invalid peer certificate: UnknownIssuer\): give the CA/);
  assert.match(tlsFailure("h:1", "EPROTO: WRONG_VERSION_NUMBER", undefined).message, /TLS handshake with h:1 failed.*is this a TLS port/);
});
