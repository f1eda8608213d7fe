"""The server under probe as a child process, per HTTP server kind, with its RSS.

Each kind is a command that serves the app and prints ``READY <url>``; the
probes only speak HTTP to it and read /proc, so they hold for any HTTP server the
app may run on later: add its command to `KINDS` (e.g. an HTTP/2 one) and every
probe runs against it too.
"""

from __future__ import annotations

import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx
import pytest

from procstatus import status_kib

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
KINDS: dict[str, list[str]] = {
    # uvicorn with its h11 protocol, as `sse-viewer serve` runs it.
    "uvicorn-h11": [sys.executable, "-m", "server"],
    # Hypercorn over TLS with the local CA, as `sse-viewer serve --tls --http2`:
    # httpx speaks h2 to it; raw-socket probes speak HTTP/1.1 inside TLS.
    "hypercorn-h2": [sys.executable, "-m", "server", "--tls", "--http2"],
}
# One config directory for every TLS child of the session: the CA is made once.
_CONFIG = tempfile.TemporaryDirectory(prefix="sse-viewer-config-")


@dataclass
class Child:
    """One server process: its url, and its stderr (a file, read at any time)."""

    proc: subprocess.Popen[bytes]
    url: str
    stderr: IO[bytes]
    ca_file: str | None = None  # the local CA of an https child

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].split(":")[0]

    def client(self, timeout: float = 10) -> httpx.Client:
        """An httpx client for this child (HTTP/2 where it offers it)."""
        if self.ca_file is None:
            return httpx.Client(base_url=self.url, timeout=timeout)
        return httpx.Client(
            base_url=self.url, timeout=timeout, verify=self._context(), http2=True
        )

    def get(self, path: str, timeout: float = 5) -> httpx.Response:
        with self.client(timeout) as client:
            return client.get(path)

    def connect(self, rcvbuf: int | None = None) -> socket.socket:
        """A socket to the child, inside TLS (speaking HTTP/1.1) for an https one."""
        sock = socket.socket()
        sock.settimeout(10)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((self.host, self.port))
        if self.ca_file is None:
            return sock
        context = self._context()
        context.set_alpn_protocols(["http/1.1"])
        return context.wrap_socket(sock, server_hostname=self.host)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_mb(self) -> float:
        return status_kib(self.proc.pid, "VmRSS") / 1024

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log(self) -> str:
        self.stderr.flush()
        with open(self.stderr.name, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


def spawn(kind: str, *args: str, nofile: int | None = None) -> Child:
    """Start ``kind`` on a free loopback port; ``nofile`` caps its descriptors."""

    argv = KINDS[kind]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's server
    ca_file = None
    if "--tls" in (*argv, *args):
        env["SSE_VIEWER_CONFIG_DIR"] = _CONFIG.name
        ca_file = str(Path(_CONFIG.name) / "tls" / "ca.pem")
    stderr = tempfile.NamedTemporaryFile(prefix="server-", suffix=".log")  # noqa: SIM115
    proc = subprocess.Popen(
        [*argv, "--port", "0", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    if nofile is not None:  # before it reads the limit (its READY comes later)
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (nofile, nofile))
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("READY "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{kind} did not start: {line!r}")
    return Child(proc, line.split()[1], stderr, ca_file)


@pytest.fixture(params=sorted(KINDS))
def server_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def make_child(server_kind: str) -> Iterator[Callable[..., Child]]:
    """Start children of this test's server kind; all are stopped at its end."""
    started: list[Child] = []

    def make(*args: str, nofile: int | None = None) -> Child:
        child = spawn(server_kind, *args, nofile=nofile)
        started.append(child)
        return child

    yield make
    for child in started:
        child.stop()


def wait_for(check: Callable[[], bool], within: float, step: float = 0.05) -> float:
    """Seconds until ``check()`` holds; AssertionError past ``within``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(step)
    return time.monotonic() - started
