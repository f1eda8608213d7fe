"""A server's certificate and TLS session as a user sees them; why TLS failed.

Pure values and parsing (``cryptography`` reads the DER); the one piece of I/O,
:func:`fetch_peer_certificate`, looks at a certificate that verification
refused, so that the error can show what was refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum

from cryptography import x509


class TLSProblem(StrEnum):
    """Why a TLS handshake (or the server, just after it) refused the connection."""

    UNTRUSTED = "untrusted"  # issued by a CA that is not trusted
    SELF_SIGNED = "self-signed"  # signed by itself, and not trusted
    EXPIRED = "expired"  # past its notAfter
    NOT_YET_VALID = "not-yet-valid"  # before its notBefore
    HOSTNAME = "hostname-mismatch"  # valid, but for other names
    CLIENT_CERT_REQUIRED = "client-cert-required"  # the server wants mTLS
    PINNED = "fingerprint-mismatch"  # not the certificate trusted for this host
    OTHER = "other"  # any other TLS failure (protocol version, cipher …)


_TEXTS = {
    TLSProblem.UNTRUSTED: "certificate not trusted (unknown issuer)",
    TLSProblem.SELF_SIGNED: "certificate not trusted (self-signed)",
    TLSProblem.EXPIRED: "certificate expired",
    TLSProblem.NOT_YET_VALID: "certificate not yet valid",
    TLSProblem.HOSTNAME: "certificate is for another host name",
    TLSProblem.CLIENT_CERT_REQUIRED: "the server requires a client certificate",
    TLSProblem.PINNED: "certificate is not the one trusted for this host",
    TLSProblem.OTHER: "TLS handshake failed",
}

# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) as ssl.SSLCertVerificationError
# gives them in ``verify_code``.
_VERIFY_CODES = {
    9: TLSProblem.NOT_YET_VALID,
    10: TLSProblem.EXPIRED,
    18: TLSProblem.SELF_SIGNED,  # depth zero self-signed
    19: TLSProblem.SELF_SIGNED,  # self-signed certificate in chain
    20: TLSProblem.UNTRUSTED,  # unable to get local issuer certificate
    21: TLSProblem.UNTRUSTED,  # unable to verify the first certificate
    62: TLSProblem.HOSTNAME,
    64: TLSProblem.HOSTNAME,  # IP address mismatch
}


def describe(problem: TLSProblem) -> str:
    return _TEXTS[problem]


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a user needs to decide whether to trust a certificate."""

    subject: str  # RFC 4514, e.g. "CN=localhost,O=Example"
    issuer: str
    not_before: str  # ISO 8601, UTC
    not_after: str
    sha256: str  # hex, lower case, no colons: the form kept in trusted_fingerprints
    names: tuple[str, ...] = ()  # subjectAltName DNS names and IP addresses

    @property
    def fingerprint(self) -> str:
        """The SHA-256 as browsers show it: AB:CD:…"""
        return ":".join(
            self.sha256[i : i + 2] for i in range(0, len(self.sha256), 2)
        ).upper()

    def summary(self) -> str:
        return (
            f"subject {self.subject}, issuer {self.issuer}, valid {self.not_before} "
            f"to {self.not_after}, SHA-256 {self.fingerprint}"
        )


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def certificate_info(der: bytes) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names.extend(san.get_values_for_type(x509.DNSName))
        names.extend(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return CertificateInfo(
        subject=cert.subject.rfc4514_string() or "(empty)",
        issuer=cert.issuer.rfc4514_string() or "(empty)",
        not_before=cert.not_valid_before_utc.astimezone(UTC).isoformat(),
        not_after=cert.not_valid_after_utc.astimezone(UTC).isoformat(),
        sha256=fingerprint_of(der),
        names=tuple(names),
    )


@dataclass(frozen=True, slots=True)
class TLSInfo:
    """The TLS session of an open https stream (the Open record's ``tls``)."""

    version: str  # "TLSv1.3"
    cipher: str  # "TLS_AES_256_GCM_SHA384"
    certificate: CertificateInfo | None


def session_info(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> TLSInfo:
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return TLSInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        certificate=certificate_info(der) if der else None,
    )


@dataclass(frozen=True, slots=True)
class TLSFailure:
    """Why TLS refused a connection, with the certificate refused (when known)."""

    problem: TLSProblem
    host: str
    port: int
    certificate: CertificateInfo | None = None
    detail: str = ""  # OpenSSL's words, when they add something

    def headline(self) -> str:
        """The problem and where, without the certificate's details."""
        text = f"TLS: {describe(self.problem)} ({self.host}:{self.port})"
        if self.detail:
            text += f": {self.detail}"
        return text

    def message(self) -> str:
        text = self.headline()
        if self.certificate is not None:
            text += f"; {self.certificate.summary()}"
        return text


def problem_of(exc: BaseException) -> TLSProblem | None:
    """The TLS failure behind ``exc`` (walking its causes), or None if none."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 16:
        seen += 1
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _VERIFY_CODES.get(cause.verify_code, TLSProblem.OTHER)
        if isinstance(cause, PinMismatchError):
            return TLSProblem.PINNED
        if isinstance(cause, ssl.SSLError):
            text = f"{cause.reason or ''} {cause}".upper()
            # TLS 1.3: the server checks the client's certificate after the
            # client's handshake is done, and says so with this alert (RFC 8446
            # 6.2); TLS 1.2 servers fail the handshake with a generic alert.
            if "CERTIFICATE_REQUIRED" in text or "CERTIFICATE REQUIRED" in text:
                return TLSProblem.CLIENT_CERT_REQUIRED
            if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
                return None  # the connection was closed: a network error
            return TLSProblem.OTHER
        cause = cause.__cause__ or cause.__context__
    return None


class PinMismatchError(ssl.SSLError):
    """A certificate accepted only by fingerprint was not the trusted one."""


PEER_FETCH_S = 5.0  # the second handshake is a courtesy: never wait long for it


@dataclass(frozen=True, slots=True)
class Peer:
    """What a handshake that verifies nothing learnt of a server."""

    certificate: CertificateInfo | None
    asks_for_client_certificate: bool


async def probe(host: str, port: int) -> Peer | None:
    """Handshake with ``host:port`` verifying nothing, send nothing, and close;
    None when no handshake could be made.

    Whether the server sent a CertificateRequest comes from ssl's message
    callback, a private hook of CPython's ssl (used by its own tests; absent
    elsewhere, where the answer is False): Python's asyncio servers, uvicorn
    among them, close the connection on a missing client certificate without
    the TLS alert that says so (RFC 8446 6.2, "certificate_required").
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    asked: list[bool] = []
    kinds = getattr(ssl, "_TLSMessageType", None)
    request = getattr(kinds, "CERTIFICATE_REQUEST", None)

    def watch(*message: object) -> None:
        # (connection, direction, version, content_type, msg_type, data)
        if message[1] == "read" and request is not None and message[4] == request:
            asked.append(True)

    if request is not None and hasattr(context, "_msg_callback"):
        context._msg_callback = watch
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(PEER_FETCH_S):
            _, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host
            )
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return Peer(certificate_info(der) if der else None, bool(asked))
