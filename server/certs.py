"""The server's own certificate: a local CA made on first use, and a leaf it signs.

``serve --tls`` without ``--certfile`` uses these.  The CA lives in the config
directory (``tls/ca.pem``, ``tls/ca.key``) so a user trusts it once, in the app
(the TLS tab's "CA file") or in a browser or OS store, and every later run's leaf
is trusted too.  The leaf names localhost, 127.0.0.1 and ::1; it is made again
when it nears its end, names other hosts, or was signed by another CA.  Keys are
written with mode 0600.  The ``cryptography`` package makes them (as trustme,
the tests' CA, does), since the standard library cannot.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from collections.abc import Iterator

APP = "sse-viewer"
ENV_DIR = "SSE_VIEWER_CONFIG_DIR"
NAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
CA_DAYS = 3650
# Apple's platforms refuse a TLS server certificate valid for more than 825 days;
# browsers cap publicly trusted ones lower still.  A short leaf is renewed silently.
LEAF_DAYS = 90
RENEW_DAYS = 14  # a leaf with fewer days left is made again


def config_dir() -> Path:
    """Where the app keeps its settings: ``$SSE_VIEWER_CONFIG_DIR``, or Qt's place.

    This is the rule of desktop/ui/settings.py (QSettings, IniFormat, UserScope),
    written again here because the server must not import the desktop package:
    ``%APPDATA%/sse-viewer`` on Windows, ``$XDG_CONFIG_HOME/sse-viewer``
    (``~/.config/sse-viewer``) elsewhere, macOS included.
    """
    directory = os.environ.get(ENV_DIR, "").strip()
    if directory:
        return Path(directory).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / APP
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".config") / APP


@dataclass(frozen=True, slots=True)
class LocalCert:
    """The files of the local CA and of the leaf it signed."""

    ca_file: Path
    ca_key: Path
    cert_file: Path
    key_file: Path
    made_ca: bool  # the CA was made by this call
    made_leaf: bool  # the leaf was made (or renewed) by this call


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    """Write ``data`` to ``path`` atomically; a ``secret`` is mode 0600 from birth."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    if secret:
        os.chmod(path, 0o600)  # os.open's mode is masked by the umask only downwards


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(ca_file: Path, ca_key: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, APP),
            # The user's store shows this name: say whose machine it belongs to.
            x509.NameAttribute(
                NameOID.COMMON_NAME,
                f"{APP} local CA ({os.environ.get('USER', 'user')})",
            ),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    _write(ca_key, _key_pem(key), secret=True)
    _write(ca_file, cert.public_bytes(serialization.Encoding.PEM), secret=False)


def _san() -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in NAMES]
        + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    )


def _make_leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    cert_file: Path,
    key_file: Path,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_file, _key_pem(key), secret=True)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), secret=False)


def _leaf_is_good(cert_file: Path, key_file: Path, ca: x509.Certificate) -> bool:
    """The leaf exists, was signed by ``ca``, names our hosts and has time left."""
    if not (cert_file.is_file() and key_file.is_file()):
        return False
    try:
        leaf = x509.load_pem_x509_certificate(cert_file.read_bytes())
        leaf.verify_directly_issued_by(ca)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    left = leaf.not_valid_after_utc - _now()
    return san.value == _san() and left > datetime.timedelta(days=RENEW_DAYS)


def _load_ca(
    ca_file: Path, ca_key: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    if not (ca_file.is_file() and ca_key.is_file()):
        return None
    try:
        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    except (ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if ca.not_valid_after_utc - _now() < datetime.timedelta(days=LEAF_DAYS):
        return None  # its leaves would outlive it
    return ca, key


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold ``directory/.lock`` alone: of two servers starting at once, one makes
    the CA and the leaf while the other waits, then finds them made.

    The standard library's locks (``fcntl.flock``; ``msvcrt.locking`` on Windows)
    rather than the ``filelock`` package: a dependency for these few lines.  The
    lock goes with the descriptor, so a process that dies releases it.
    """
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:  # LK_LOCK retries for ~10 s, then raises: wait on
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def local_cert(directory: Path | None = None) -> LocalCert:
    """The local CA and a current leaf under ``directory/tls``, made as needed."""
    tls = (directory or config_dir()) / "tls"
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(tls):
        return _local_cert(tls)


def _local_cert(tls: Path) -> LocalCert:
    ca_file, ca_key = tls / "ca.pem", tls / "ca.key"
    cert_file, key_file = tls / "server.pem", tls / "server.key"
    loaded = _load_ca(ca_file, ca_key)
    made_ca = loaded is None
    if loaded is None:
        _make_ca(ca_file, ca_key)
        loaded = _load_ca(ca_file, ca_key)
        assert loaded is not None
    ca, key = loaded
    made_leaf = not _leaf_is_good(cert_file, key_file, ca)
    if made_leaf:
        _make_leaf(ca, key, cert_file, key_file)
    return LocalCert(ca_file, ca_key, cert_file, key_file, made_ca, made_leaf)
