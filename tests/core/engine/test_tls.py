"""TLS against real uvicorn servers on 127.0.0.1 with trustme certificates.

Certificate failures are named, carry the refused certificate, and close the
stream as failed at once (retrying is futile); trust comes from a CA file,
SSL_CERT_FILE, a fingerprint trusted for the host, or -k; mTLS works, and an
open https stream says its TLS version, cipher and certificate.
"""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.engine.certificate import TLSProblem, certificate_info
from desktop.core.engine.records import (
    Closed,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.engine.transport import (
    Transport,
    TrustedCertificate,
    make_client,
    pins_for,
)

from stream_checks import collect, of, options, run
from tlsserver import PASSPHRASE, Certificates, make_certificates, tls_server

if TYPE_CHECKING:
    from desktop.core.engine.records import Record

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _der(path: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(
        Path(path).read_text().split("-----END")[0] + ("-----END CERTIFICATE-----\n")
    )


def _stream(url: str, transport: Transport, **kwargs: object) -> list[Record]:
    async def go() -> list[Record]:
        async with make_client(transport) as client:
            return await collect(
                options(url, transport=transport, **kwargs),  # type: ignore[arg-type]
                client=client,
            )

    records: list[Record] = run(go())
    return records


def _closed(records: list[Record]) -> Closed:
    last = records[-1]
    assert isinstance(last, Closed)
    return last


@pytest.mark.parametrize(
    ("which", "problem"),
    [
        ("unknown_issuer", TLSProblem.UNTRUSTED),
        ("self_signed", TLSProblem.SELF_SIGNED),
        ("expired", TLSProblem.EXPIRED),
        ("wrong_host", TLSProblem.HOSTNAME),
    ],
)
def test_a_refused_certificate_is_named_and_closes_failed_at_once(
    certs: Certificates, which: str, problem: TLSProblem
) -> None:
    pair = getattr(certs, which)
    with tls_server(pair) as url:
        records = _stream(url, Transport(ca_file=certs.ca_file))
    closed = _closed(records)
    assert not of(records, Reconnecting), "retrying a refused certificate is futile"
    assert closed.failed
    assert closed.outcome is Outcome.TLS
    assert closed.tls is not None
    assert closed.tls.problem is problem
    assert "operation not permitted" not in closed.reason
    cert = closed.tls.certificate
    assert cert is not None
    assert cert == certificate_info(_der(pair.cert))
    assert cert.fingerprint in closed.reason
    assert cert.subject in closed.reason
    assert closed.tls.host == "127.0.0.1"


def test_a_ca_file_is_trusted_and_open_says_the_session(
    certs: Certificates,
) -> None:
    with tls_server(certs.good) as url:
        records = _stream(url, Transport(ca_file=certs.ca_file), count=1)
    assert not _closed(records).failed
    (opened,) = of(records, Open)
    assert opened.tls is not None
    assert opened.tls.version.startswith("TLSv1.")
    assert opened.tls.cipher
    assert opened.tls.certificate == certificate_info(_der(certs.good.cert))


def test_ssl_cert_file_is_honoured(
    certs: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certs.ca_file)
    with tls_server(certs.good) as url:
        records = _stream(url, Transport(), count=1)
    assert not _closed(records).failed


def test_the_system_store_does_not_trust_a_test_ca(certs: Certificates) -> None:
    with tls_server(certs.good) as url:
        closed = _closed(_stream(url, Transport()))
    assert closed.tls is not None
    assert closed.tls.problem is TLSProblem.UNTRUSTED


def test_insecure_accepts_anything(certs: Certificates) -> None:
    with tls_server(certs.self_signed) as url:
        records = _stream(url, Transport(verify=False), count=1)
    assert not _closed(records).failed


def test_a_trusted_fingerprint_is_accepted_for_its_host_only(
    certs: Certificates,
) -> None:
    der = _der(certs.self_signed.cert)
    sha = certificate_info(der).sha256
    with tls_server(certs.self_signed) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        pinned = Transport(
            trusted_fingerprints=frozenset({TrustedCertificate("127.0.0.1", port, sha)})
        )
        assert not _closed(_stream(url, pinned, count=1)).failed
        # Another port of the same host is not covered by the pin.
        other = Transport(
            trusted_fingerprints=frozenset(
                {TrustedCertificate("127.0.0.1", port + 1, sha)}
            )
        )
        closed = _closed(_stream(url, other))
        assert closed.tls is not None
        assert closed.tls.problem is TLSProblem.SELF_SIGNED


def test_a_pin_for_port_443_covers_that_port_only(certs: Certificates) -> None:
    sha = certificate_info(_der(certs.self_signed.cert)).sha256
    at_443 = Transport(
        trusted_fingerprints=frozenset({TrustedCertificate("127.0.0.1", 443, sha)})
    )
    # httpx drops the default port: both spellings are port 443, another is not.
    assert pins_for(at_443, httpx.URL("https://127.0.0.1/")) == {sha}
    assert pins_for(at_443, httpx.URL("https://127.0.0.1:443/x")) == {sha}
    assert pins_for(at_443, httpx.URL("https://127.0.0.1:8443/")) == set()
    assert pins_for(at_443, httpx.URL("http://127.0.0.1/")) == set()
    with tls_server(certs.self_signed) as url:
        closed = _closed(_stream(url, at_443, count=1))
    assert closed.tls is not None, closed
    assert closed.tls.problem is TLSProblem.SELF_SIGNED


def test_an_expired_pinned_certificate_opens_with_a_notice_naming_the_expiry(
    certs: Certificates,
) -> None:
    expired = certificate_info(_der(certs.expired.cert))
    with tls_server(certs.expired) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        pinned = Transport(
            trusted_fingerprints=frozenset(
                {TrustedCertificate("127.0.0.1", port, expired.sha256)}
            )
        )
        records = _stream(url, pinned, count=1)
    assert not _closed(records).failed
    (opened,) = of(records, Open)
    notice = records[records.index(opened) + 1]
    assert isinstance(notice, Notice), records
    assert notice.kind is NoticeKind.PINNED_OUT_OF_DATES
    assert f"expired on {expired.not_after}" in notice.detail
    assert f"127.0.0.1:{port}" in notice.detail
    # A pinned certificate in its dates opens without a word.
    good = certificate_info(_der(certs.self_signed.cert))
    with tls_server(certs.self_signed) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        pinned = Transport(
            trusted_fingerprints=frozenset(
                {TrustedCertificate("127.0.0.1", port, good.sha256)}
            )
        )
        assert not of(_stream(url, pinned, count=1), Notice)


def test_a_pinned_host_with_another_certificate_fails_closed(
    certs: Certificates,
) -> None:
    with tls_server(certs.good) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        # The good certificate would pass the CA, but the host is pinned to
        # another: no request may go out on it.
        pinned = Transport(
            ca_file=certs.ca_file,
            trusted_fingerprints=frozenset(
                {TrustedCertificate("127.0.0.1", port, "00" * 32)}
            ),
        )
        closed = _closed(_stream(url, pinned))
    assert closed.failed
    assert closed.tls is not None
    assert closed.tls.problem is TLSProblem.PINNED
    assert closed.tls.certificate is not None


def test_client_certificate_required_is_named(certs: Certificates) -> None:
    with tls_server(certs.good, client_ca=certs.ca_file) as url:
        closed = _closed(_stream(url, Transport(ca_file=certs.ca_file)))
    assert closed.failed
    assert closed.tls is not None
    assert closed.tls.problem is TLSProblem.CLIENT_CERT_REQUIRED
    assert "client certificate" in closed.reason


def test_a_client_certificate_opens_an_mtls_stream(certs: Certificates) -> None:
    transport = Transport(
        ca_file=certs.ca_file,
        client_cert=certs.client.cert,
        client_key=certs.client_encrypted_key,
        client_key_password=PASSPHRASE.decode(),
    )
    with tls_server(certs.good, client_ca=certs.ca_file) as url:
        records = _stream(url, transport, count=1)
    assert not _closed(records).failed


def test_sslkeylogfile_gets_the_session_keys(
    certs: Certificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(log))
    with tls_server(certs.good) as url:
        _stream(url, Transport(ca_file=certs.ca_file), count=1)
    assert "CLIENT_TRAFFIC_SECRET_0" in log.read_text() or "CLIENT_RANDOM" in (
        log.read_text()
    )


def test_transport_with_pins_survives_a_recording_round_trip() -> None:
    from desktop.core.files import codec

    transport = Transport(
        trusted_fingerprints=frozenset({TrustedCertificate("h", 1, "ab" * 32)})
    )
    assert codec.read(Transport, codec.plain(transport)) == transport
    assert dataclasses.replace(transport) == transport
