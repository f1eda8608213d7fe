"""``sse-viewer tail`` over TLS, black-box: real uvicorn TLS servers on 127.0.0.1.

An untrusted certificate ends the run with exit 1 and one line naming it (not a
retry every 3 s for ever); --cacert, --cert/--key and -k work; the JSON ``open``
record carries the extra key ``tls``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tlsserver import PASSPHRASE, Certificates, make_certificates, tls_server

pytestmark = pytest.mark.timeout(60)

SSE_VIEWER = Path(sys.executable).parent / "sse-viewer"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _tail(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("SSL_CERT_FILE", None)
    environment.update(env or {})
    return subprocess.run(
        [str(SSE_VIEWER), "tail", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _records(stdout: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def test_an_untrusted_certificate_exits_1_and_names_it(certs: Certificates) -> None:
    with tls_server(certs.unknown_issuer) as url:
        run = _tail("--format", "json", "--cacert", certs.ca_file, url)
    assert run.returncode == 1, run
    (line,) = run.stderr.strip().splitlines()
    assert "certificate not trusted (unknown issuer)" in line
    assert "SHA-256 " in line
    records = _records(run.stdout)
    assert [r["state"] for r in records] == ["connecting", "closed"]
    closed = records[-1]
    assert closed["failed"] is True
    assert isinstance(closed["tls"], dict)
    assert closed["tls"]["problem"] == "untrusted"


def test_a_pin_from_the_refusal_opens_that_server_alone(certs: Certificates) -> None:
    """The refusal says how to trust that one certificate and --pin does (for its
    own host and port: tests/core/engine/test_tls.py); a malformed pin or an http
    URL is a usage error."""
    with tls_server(certs.self_signed) as url:
        refused = _tail(url)
        hint = "; to trust this certificate alone: --pin "
        assert hint in refused.stderr, refused.stderr
        pin = refused.stderr.split(hint, 1)[1].split()[0]
        run = _tail("--count", "1", "--pin", pin, url)
    assert refused.returncode == 1
    assert run.returncode == 0, run
    assert "hello" in run.stdout
    bad = _tail("--pin", "AB:CD", url)
    assert bad.returncode == 2 and "64 hex digits" in bad.stderr
    plain = _tail("--pin", pin, "http://127.0.0.1:1/")
    assert plain.returncode == 2 and "needs an https:// URL" in plain.stderr


def test_cacert_opens_and_json_open_says_tls(certs: Certificates) -> None:
    with tls_server(certs.good) as url:
        run = _tail("--format", "json", "--count", "1", "--cacert", certs.ca_file, url)
    assert run.returncode == 0, run
    opened = next(r for r in _records(run.stdout) if r.get("state") == "open")
    tls = opened["tls"]
    assert isinstance(tls, dict)
    assert str(tls["version"]).startswith("TLSv1.")
    assert tls["certificate"]["names"] == ["localhost", "127.0.0.1"]


def test_insecure_opens_a_self_signed_stream(certs: Certificates) -> None:
    with tls_server(certs.self_signed) as url:
        run = _tail("--count", "1", "-k", url)
    assert run.returncode == 0, run
    assert "hello" in run.stdout


def test_client_certificate_with_an_encrypted_key(certs: Certificates) -> None:
    with tls_server(certs.good, client_ca=certs.ca_file) as url:
        refused = _tail("--cacert", certs.ca_file, url)
        run = _tail(
            "--count", "1", "--cacert", certs.ca_file,
            "--cert", certs.client.cert, "--key", certs.client_encrypted_key, url,
            env={"SSE_VIEWER_KEY_PASSPHRASE": PASSPHRASE.decode()},
        )  # fmt: skip
    assert refused.returncode == 1
    assert "requires a client certificate" in refused.stderr
    assert run.returncode == 0, run


def test_an_unreadable_certificate_is_a_usage_error(
    certs: Certificates, tmp_path: Path
) -> None:
    run = _tail("--cert", str(tmp_path / "missing.pem"), "https://127.0.0.1:1/")
    assert run.returncode == 2
    assert "TLS setup" in run.stderr
    assert "Traceback" not in run.stderr


def test_help_documents_the_tls_options() -> None:
    run = _tail("--help")
    for option in (
        "--cacert", "--pin", "--cert", "--key", "--insecure", "SSLKEYLOGFILE",
    ):  # fmt: skip
        assert option in run.stdout
