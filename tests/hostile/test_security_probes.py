"""Black-box probes of `python -m server` as a hostile client or web page would send.

Each is a curl-style request, byte for byte, to a real server child on 127.0.0.1:
a token spelt ``access%5Ftoken`` or ``ACCESS_TOKEN``, a trailing slash, a foreign
``Host`` (DNS rebinding), a cross-site "simple" POST, a blank ``--token``.  The
server's stderr (its access log) is read after it stops: the token is never in it.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

TOKEN = "Tq7-probe"


@dataclass
class Child:
    process: subprocess.Popen[str]
    host: str
    port: int
    stderr: Path

    def stop(self) -> str:
        """SIGTERM, wait, and return everything it wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)
        return self.stderr.read_text()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def request(
    child: Child,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: str = "",
) -> Answer:
    """One request with exactly this target and these headers (Host included)."""
    conn = http.client.HTTPConnection(child.host, child.port, timeout=5)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": f"{child.host}:{child.port}", **(headers or {})}
        for name, value in headers.items():
            conn.putheader(name, value)
        data = body.encode()
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data or None)
        response = conn.getresponse()
        text = response.read().decode()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, text
        )
    finally:
        conn.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """``sse-viewer serve --port 0 ARGS 2>err``; every child is stopped after."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        err = tmp_path / f"err{len(children)}"
        with err.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "server", "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={k: v for k, v in os.environ.items() if k != "SSE_VIEWER_TOKEN"},
            )
        child = Child(process, "127.0.0.1", 0, err)
        children.append(child)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:"), (line, err.read_text())
        child.port = int(line.rsplit(":", 1)[1])
        return child

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait(10)
        assert child.process.stdout is not None
        child.process.stdout.close()


def test_a_token_in_any_spelling_never_reaches_the_log_and_the_page_guards_it(
    serve: Callable[..., Child],
) -> None:
    child = serve("--token", TOKEN)
    encoded = request(child, "GET", f"/api/info?access%5Ftoken={TOKEN}")
    assert encoded.status == 200
    misspelt = request(child, "GET", f"/api/info?ACCESS_TOKEN={TOKEN}")
    assert misspelt.status == 401
    slash = request(
        child,
        "GET",
        f"/api/info/?access_token={TOKEN}",
        {"Host": f"localhost:{child.port}"},
    )
    assert slash.status == 404 and "location" not in slash.headers
    assert TOKEN not in slash.body
    page = request(child, "GET", f"/?access_token={TOKEN}")
    assert page.status == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    docs = request(child, "GET", f"/docs?access_token={TOKEN}")
    assert docs.status == 200 and "cdn" not in docs.body.lower()
    err = child.stop()
    assert err.count('"path":"/api/info') == 3, err
    assert err.lower().count('token=***"') == 5, err  # every request, masked
    assert f"={TOKEN}" not in err and TOKEN not in err


def test_a_web_page_cannot_drive_a_tokenless_loopback_server(
    serve: Callable[..., Child],
) -> None:
    child = serve("--lab")
    cross_site = request(
        child,
        "POST",
        "/api/lab/drop",
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert cross_site.status == 403, cross_site.body
    rebound = request(child, "GET", "/api/info", {"Host": "attacker.example"})
    assert rebound.status == 400
    own = request(
        child,
        "POST",
        "/api/lab/drop",
        {"Origin": f"http://localhost:{child.port}", "Content-Type": "text/plain"},
    )
    assert own.status == 200
    assert request(child, "POST", "/api/lab/drop").status == 200  # curl, the app
    child.stop()


def test_a_blank_token_is_refused_with_a_reason() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "--port", "0", "--token", " "],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "token is blank" in done.stderr
