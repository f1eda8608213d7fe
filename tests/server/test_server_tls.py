"""The bundled server over TLS (uvicorn) and HTTP/2 (Hypercorn), as child processes.

A real httpx client trusts the local CA the server made in a temporary config
directory (`server_kinds`), and asks for HTTP/1.1 or HTTP/2 by ALPN.
"""

from __future__ import annotations

import os
import ssl
import stat
import sys
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import trustme
from cryptography import x509

from server import certs
from server.__main__ import main

from server_kinds import Child, spawn

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def h2_child() -> Iterator[Child]:
    child = spawn("hypercorn-h2", "--lab", "--retry", "100", "--log-level", "info")
    yield child
    child.stop()


def client(child: Child, *, http2: bool, timeout: float = 5) -> httpx.Client:
    assert child.ca_file is not None
    context = ssl.create_default_context(cafile=child.ca_file)
    return httpx.Client(
        base_url=child.url, verify=context, http2=http2, timeout=timeout
    )


def test_the_local_ca_is_made_once_reused_and_its_keys_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(certs, "LEAF_DAYS", certs.RENEW_DAYS - 1)  # near its end
    first = certs.local_cert(tmp_path)
    assert first.made_ca and first.made_leaf
    ca_pem = first.ca_file.read_bytes()
    for key in (first.ca_key, first.key_file):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    second = certs.local_cert(tmp_path)
    assert not second.made_ca and second.made_leaf  # renewed, same CA
    assert second.ca_file.read_bytes() == ca_pem
    monkeypatch.setattr(certs, "LEAF_DAYS", 90)
    assert certs.local_cert(tmp_path).made_leaf
    third = certs.local_cert(tmp_path)
    assert not third.made_ca and not third.made_leaf
    leaf = x509.load_pem_x509_certificate(third.cert_file.read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "::1",
    }


def test_the_config_dir_follows_the_apps_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(certs.ENV_DIR, "/somewhere/else")
    assert str(certs.config_dir()) == "/somewhere/else"
    monkeypatch.setenv(certs.ENV_DIR, "")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg")
    if sys.platform != "win32":
        assert str(certs.config_dir()) == "/xdg/sse-viewer"


def test_serve_tls_says_ready_https_and_speaks_h1_on_uvicorn() -> None:
    child = spawn("uvicorn-h11", "--tls")
    try:
        assert child.url.startswith("https://127.0.0.1:")
        assert child.ca_file is not None and os.path.exists(child.ca_file)
        with client(child, http2=True) as c:  # offers h2; uvicorn answers h1
            r = c.get("/api/info")
        assert r.status_code == 200 and r.http_version == "HTTP/1.1"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{child.url}/api/info", timeout=5)  # the CA is not trusted
    finally:
        child.stop()


def test_http2_speaks_h2_and_h1_by_alpn(h2_child: Child) -> None:
    assert h2_child.url.startswith("https://")
    for http2, version in ((True, "HTTP/2"), (False, "HTTP/1.1")):
        with client(h2_child, http2=http2) as c:
            r = c.get("/api/info")
        assert (r.status_code, r.http_version) == (200, version)


def test_http2_without_tls_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--http2", "--port", "0"]) == 2
    assert "browsers speak HTTP/2 only over TLS" in capsys.readouterr().err
    assert main(["--certfile", "x.pem", "--port", "0"]) == 2
    capsys.readouterr()
    assert main(["--certfile", "/no/cert.pem", "--keyfile", "/no/key.pem"]) == 1
    assert "error: cannot use --certfile/--keyfile" in capsys.readouterr().err


def test_certfile_and_keyfile_serve_the_users_own(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    child = spawn("uvicorn-h11", "--certfile", str(cert), "--keyfile", str(key))
    try:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        r = httpx.get(f"{child.url}/api/info", verify=context, timeout=5)
        assert r.status_code == 200 and child.url.startswith("https://")
    finally:
        child.stop()


def event_ids(c: httpx.Client, path: str, last_id: str | None = None) -> list[str]:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    ids: list[str] = []
    with c.stream("GET", path, headers=headers) as r:
        assert r.status_code == 200 and r.http_version == "HTTP/2"
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(line[4:])
    return ids


def test_replay_and_last_event_id_over_h2(h2_child: Child) -> None:
    with client(h2_child, http2=True, timeout=10) as c:
        body = {"kind": "build", "params": {"lines": 30, "interval_s": 0}}
        job = c.post("/api/jobs", json=body).json()["id"]
        story = event_ids(c, f"/api/jobs/{job}/events")
        assert len(story) > 30
        rest = event_ids(c, f"/api/jobs/{job}/events", story[9])
        assert rest == story[10:]


def test_host_and_origin_are_checked_over_h2(h2_child: Child) -> None:
    with client(h2_child, http2=True) as c:
        other = c.get("/api/info", headers={"Host": "evil.example"})
        assert other.http_version == "HTTP/2" and other.status_code == 400
        drop = c.post(
            "/api/lab/drop",
            headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        )
        assert drop.status_code == 403
        alias = c.get("/api/info", headers={"Host": f"localhost:{h2_child.port}"})
        assert alias.status_code == 200  # the connection outlived the early 403
    # Hypercorn logs through the server's config: the redacted access line.
    assert '"path":"/api/lab/drop","status":403' in h2_child.log()


def test_sigterm_ends_h2_streams_within_2_s() -> None:
    child = spawn("hypercorn-h2")
    ended: list[float] = []
    opened = threading.Event()

    def listen() -> None:
        with (
            client(child, http2=True, timeout=10) as c,
            c.stream("GET", "/api/events") as r,
        ):
            assert r.http_version == "HTTP/2"
            opened.set()
            for _ in r.iter_bytes():
                pass
        ended.append(time.monotonic())

    reader = threading.Thread(target=listen)
    reader.start()
    try:
        assert opened.wait(10)
        time.sleep(0.2)
        started = time.monotonic()
        child.proc.terminate()
        reader.join(5)
        assert ended and ended[0] - started < 2.0
        assert child.proc.wait(5) == 0
        assert time.monotonic() - started < 3.0
    finally:
        reader.join(5)
        child.stop()
