"""A server's certificate and TLS session as a user sees them; why TLS failed.

Pure values and parsing (``cryptography`` reads the DER); handshake.py gets
them from ssl.  Records carry these values, so this module stays light to
import: no ssl, no asyncio, and cryptography only once a certificate is read.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


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


def out_of_dates(cert: CertificateInfo, wall: float) -> TLSProblem | None:
    """EXPIRED or NOT_YET_VALID when ``wall`` (time.time()) is outside the
    certificate's validity, else None."""
    now = datetime.fromtimestamp(wall, UTC)
    if now > datetime.fromisoformat(cert.not_after):
        return TLSProblem.EXPIRED
    if now < datetime.fromisoformat(cert.not_before):
        return TLSProblem.NOT_YET_VALID
    return None


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def certificate_info(der: bytes) -> CertificateInfo:
    # Imported here: records.py needs this module's types, and every consumer
    # of records (tail, the app at start-up) would otherwise load cryptography.
    from cryptography import x509

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

    @property
    def pinnable(self) -> bool:
        """Whether trusting the refused certificate by its fingerprint would open
        the connection (``tail --pin``)."""
        return self.certificate is not None and self.problem in _PINNABLE


# What a pin accepts: the certificate it names, whoever issued it, for whichever
# names and dates (transport.py, _PinnedObject); not a server that wants a client
# certificate, nor another TLS failure.
_PINNABLE = frozenset(
    {
        TLSProblem.UNTRUSTED,
        TLSProblem.SELF_SIGNED,
        TLSProblem.EXPIRED,
        TLSProblem.NOT_YET_VALID,
        TLSProblem.HOSTNAME,
    }
)
