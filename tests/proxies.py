"""Real proxies and a real HTTP/2 server on 127.0.0.1, for transport tests.

tinyproxy (HTTP forward proxy with CONNECT and Basic auth) and microsocks
(SOCKS5) are Debian's, installed by tests/run.sh; each runs in the foreground
with a config of its own on a free port.  The HTTP/2 server is Hypercorn with
a trustme certificate, serving a small SSE app that ends its response after a
few events, so the client reconnects, and logs what each request carried.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("proxy did not start listening")


@contextlib.contextmanager
def _child(argv: list[str], port: int) -> Iterator[str]:
    if shutil.which(argv[0]) is None:
        raise RuntimeError(f"{argv[0]} is missing: tests/run.sh installs it")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def tinyproxy(
    tmp_path: Path, connect_ports: tuple[int, ...] = (), auth: str | None = None
) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a running tinyproxy.

    Like Debian's default config, it tunnels (CONNECT) only to port 443 unless
    ``connect_ports`` names others; ``auth`` ("user:password") turns Basic
    auth on (a 407 without it).
    """
    port = free_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 30",
        "MaxClients 20",
        "LogLevel Critical",
        f'PidFile "{tmp_path / f"tinyproxy-{port}.pid"}"',
        # As Debian's default config: without any ConnectPort line, every port is.
        "ConnectPort 443",
        *(f"ConnectPort {p}" for p in connect_ports),
    ]
    if auth is not None:
        user, _, password = auth.partition(":")
        lines.append(f"BasicAuth {user} {password}")
    conf = tmp_path / f"tinyproxy-{port}.conf"
    conf.write_text("\n".join(lines) + "\n")
    with _child(["tinyproxy", "-d", "-c", str(conf)], port) as address:
        yield f"http://{address}"


@contextlib.contextmanager
def microsocks() -> Iterator[str]:
    """``socks5://127.0.0.1:PORT`` of a running microsocks."""
    port = free_port()
    with _child(["microsocks", "-i", "127.0.0.1", "-p", str(port)], port) as address:
        yield f"socks5://{address}"


# -- an HTTP/2 SSE server -------------------------------------------------------


@dataclass
class H2Server:
    """A Hypercorn TLS server (h2 and http/1.1 by ALPN) with a trustme CA."""

    url: str
    ca_file: str
    # (HTTP version, Last-Event-ID) of every request, in order.
    seen: list[tuple[str, str]] = field(default_factory=list)


def _sse_app(seen: list[tuple[str, str]], per_response: int) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        headers = dict(scope["headers"])
        last = headers.get(b"last-event-id", b"").decode()
        seen.append((scope["http_version"], last))
        start = int(last) if last.isdigit() else 0
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        body = b"retry: 10\n\n" + b"".join(
            f"id: {n}\ndata: event {n}\n\n".encode()
            for n in range(start + 1, start + 1 + per_response)
        )
        await send({"type": "http.response.body", "body": body})

    return app


@contextlib.contextmanager
def h2_server(
    tmp_path: Path, per_response: int = 2, *, tls: bool = True
) -> Iterator[H2Server]:
    """``tls=False``: the same app over plain HTTP/1.1 (a target for proxies)."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = (tmp_path / n for n in ("h2.pem", "h2.key", "ca.pem"))
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    if tls:
        config.certfile, config.keyfile = str(cert), str(key)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = config.errorlog = None
    config.graceful_timeout = 1.0
    port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    server = H2Server(f"{scheme}://127.0.0.1:{port}/events", str(ca_file))
    app = _sse_app(server.seen, per_response)
    started = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop: list[asyncio.Event] = []

    def run() -> None:
        async def main() -> None:
            loop_box.append(asyncio.get_running_loop())
            stop.append(asyncio.Event())
            started.set()
            await serve(app, config, shutdown_trigger=stop[0].wait)

        asyncio.run(main())

    thread = threading.Thread(target=run, name="h2 server", daemon=True)
    thread.start()
    try:
        assert started.wait(10)
        yield server
    finally:
        loop_box[0].call_soon_threadsafe(stop[0].set)
        thread.join(10)
        sock.detach()  # Hypercorn took the descriptor over and closed it
