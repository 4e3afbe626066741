"""The TLS client side of security profiles 2 and 3 (whitepaper A00.FR.3xx / A00.FR.4xx).

- ``client_context(ca_file, cert_file, key_file)``: TLS 1.2 or newer (A00.FR.312/416), the
  whitepaper's TLS 1.2 cipher suites only (A00.FR.318/422, ``TLS12_CIPHERS``), no
  compression (A00.FR.320), certificate path and host name checked against the CSMS roots
  given - never the system store (A00.FR.307/308). TLS 1.3 keeps OpenSSL's AEAD suites
  (AES-GCM, ChaCha20-Poly1305): Python cannot restrict them and all are allowed by [1].
  A client certificate is loaded when ``cert_file`` is given (profile 3, A00.FR.401/402).
- ``failure_event(exc) -> (event, reason) | None``: the security event a failed connection
  attempt stands for (A00.FR.309, 315, 322, 413, 419, 426; FailedToAuthentication...).
"""

from __future__ import annotations

import ssl

from websockets.exceptions import InvalidStatus

from chargepoint.security import events

# OpenSSL names of TLS_ECDHE_ECDSA_WITH_AES_128/256_GCM_SHA256/384 and
# TLS_RSA_WITH_AES_128/256_GCM_SHA256/384 (the four suites of A00.FR.317).
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "AES128-GCM-SHA256:AES256-GCM-SHA384")


def client_context(ca_file: str | None, cert_file: str | None = None,
                   key_file: str | None = None) -> ssl.SSLContext:
    """See the module docstring. ``ca_file``: PEM file of the trusted CSMS roots (None:
    ``ValueError``, there is no fallback to the system store)."""
    if not ca_file:
        raise ValueError("no CentralSystemRootCertificate: TLS needs [ocpp] ca_file or an "
                         "installed root")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.load_verify_locations(cafile=ca_file)
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


_VERSION = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "WRONG_VERSION_NUMBER",
            "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW"}
_CIPHER = {"NO_CIPHERS_AVAILABLE", "NO_SHARED_CIPHER", "SSLV3_ALERT_HANDSHAKE_FAILURE",
           "WRONG_CIPHER_RETURNED", "NO_SUITABLE_SIGNATURE_ALGORITHM"}
_REJECTED_US = {"SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA",
                "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV13_ALERT_CERTIFICATE_REQUIRED",
                "SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_REVOKED",
                "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE", "TLSV1_ALERT_ACCESS_DENIED"}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def failure_event(exc: BaseException) -> tuple[str, str] | None:
    """The security event of a failed connection attempt, with a short reason; None for a
    failure that is no security matter (refused, DNS, timeout ...)."""
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            message = item.verify_message or str(item)
            if "mismatch" in message:  # "Hostname mismatch", "IP address mismatch"
                return events.CSMS_FAILED_TO_AUTHENTICATE, f"server certificate: {message}"
            return events.INVALID_CSMS_CERTIFICATE, f"server certificate: {message}"
        if isinstance(item, ssl.SSLError):
            reason = item.reason or ""
            if reason in _VERSION:
                return events.INVALID_TLS_VERSION, f"TLS handshake: {reason}"
            if reason in _CIPHER:
                return events.INVALID_TLS_CIPHER_SUITE, f"TLS handshake: {reason}"
            if reason in _REJECTED_US:
                return events.FAILED_TO_AUTHENTICATE_AT_CSMS, f"CSMS refused: {reason}"
        if isinstance(item, InvalidStatus) and item.response.status_code in (401, 403):
            return (events.FAILED_TO_AUTHENTICATE_AT_CSMS,
                    f"CSMS answered HTTP {item.response.status_code}")
    return None
