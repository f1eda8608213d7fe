"""A stream's TLS settings as the connection bar's "TLS" tab holds them.

Kept as the user chose them (file paths as typed) until Connect turns them
into the engine's :class:`~desktop.core.engine.transport.Transport`.  The key's
passphrase is a secret: profiles keep it in the keychain (profiles/book.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from desktop.core.engine.transport import Transport, TrustedCertificate

if TYPE_CHECKING:
    from desktop.core.engine.certificate import TLSFailure


@dataclass(frozen=True, slots=True)
class TLSForm:
    """What the "TLS" tab shows; the defaults are a browser's."""

    verify: bool = True  # off: "Don't verify", badged on the stream's tab
    ca_file: str = ""  # a PEM bundle trusted besides the system's store
    client_cert: str = ""  # mTLS: a PEM certificate (it may hold the key too)
    client_key: str = ""
    key_passphrase: str = ""  # secret: never in the settings file
    trusted: tuple[TrustedCertificate, ...] = ()  # "Trust this certificate …"

    def is_default(self) -> bool:
        return self == TLSForm()

    def transport(self) -> Transport:
        return Transport(
            verify=self.verify,
            ca_file=self.ca_file.strip() or None,
            trusted_fingerprints=frozenset(self.trusted),
            client_cert=self.client_cert.strip() or None,
            client_key=self.client_key.strip() or None,
            client_key_password=self.key_passphrase or None,
        )

    def trusting(self, failure: TLSFailure) -> TLSForm:
        """This form, also trusting the certificate ``failure`` refused."""
        if failure.certificate is None:
            return self
        pin = TrustedCertificate(
            failure.host.lower(), failure.port, failure.certificate.sha256
        )
        if pin in self.trusted:
            return self
        return replace(self, trusted=(*self.trusted, pin))

    def revoking(self, pin: TrustedCertificate) -> TLSForm:
        return replace(self, trusted=tuple(p for p in self.trusted if p != pin))


def pin_text(pin: TrustedCertificate) -> str:
    """``host:port  AB:CD:…`` as the TLS tab lists a trusted certificate."""
    pairs = ":".join(pin.sha256[i : i + 2] for i in range(0, len(pin.sha256), 2))
    return f"{pin.host}:{pin.port}  SHA-256 {pairs.upper()}"


def pin_of(text: str) -> TrustedCertificate | None:
    """The reverse of the stored form ``host:port sha256`` (profiles), or None."""
    where, _, sha = text.strip().partition(" ")
    host, _, port = where.rpartition(":")
    sha = sha.strip().lower()
    if not host or not port.isdigit() or len(sha) != 64:
        return None
    if any(c not in "0123456789abcdef" for c in sha):
        return None
    return TrustedCertificate(host, int(port), sha)
