"""Runner: binds the socket, runs uvicorn, says READY, and drains streams on shutdown.

The socket is bound here (not by uvicorn) so port 0 works and TCP keepalive is set
once on the listener, which accepted sockets inherit.  uvicorn runs the lifespan's
shutdown only after every connection has closed, so streams would never learn of a
SIGTERM from it: the `Server` subclass ends them first, then lets uvicorn wait (at
most ``shutdown_timeout_s``).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import socket
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

from server import tcp
from server.connections import ConnectionGuard, ConnectionLimits, GuardedH11Protocol
from server.heap import tune_gc
from server.settings import listen_backlog

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from server.connections import RateLimitedLog
    from server.runtime import Runtime
    from server.settings import Settings

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        # stdout carries only the READY line: a launcher reads it from a pipe.
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def is_loopback(host: str) -> bool:
    """True if every address ``host`` names is a loopback one."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
        for info in infos
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket with keepalive options set."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host not in ("", "0.0.0.0", "::") and ":" not in host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only
    # then, and without it Nagle + delayed ACK add ~40 ms to keep-alive requests.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.keep_alive(sock)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket, *, tls: bool = False) -> str:
    host, port = sock.getsockname()[:2]
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A certificate chain and its (unencrypted) key, as PEM files."""

    certfile: str
    keyfile: str


class Server(uvicorn.Server):
    """uvicorn's server, plus a READY callback and a stream drain before shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: FastAPI,
        on_ready: Callable[[], None] | None = None,
        guard: ConnectionGuard | None = None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._on_ready = on_ready
        self._guard = guard

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self._guard is not None:
            _quiet_accept_errors(asyncio.get_running_loop(), self._guard.log)
        await super().startup(sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        rt: Runtime | None = getattr(self._app.state, "runtime", None)
        if rt is not None:  # None if the lifespan never started
            await rt.begin_shutdown()
        await super().shutdown(sockets)


def make_server(
    app: FastAPI,
    *,
    shutdown_timeout_s: float = 2.0,
    on_ready: Callable[[], None] | None = None,
    log_config: dict[str, Any] | None = None,
    tls: TlsFiles | None = None,
) -> Server:
    settings: Settings | None = getattr(app.state, "settings", None)
    guard = None
    http: type[asyncio.Protocol] | str = "auto"
    backlog = 2048
    if settings is not None:
        backlog = listen_backlog()
        guard = ConnectionGuard(
            ConnectionLimits(settings.connection_cap(), settings.headers_timeout_s)
        )
        http = GuardedH11Protocol.guarded(guard)
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,  # server.accesslog writes a redacted one
        log_config=log_config if log_config is not None else LOG_CONFIG,
        timeout_graceful_shutdown=int(max(1, shutdown_timeout_s)),
        ws="none",
        http=http,
        backlog=backlog,
        ssl_certfile=tls.certfile if tls else None,
        ssl_keyfile=tls.keyfile if tls else None,
    )
    return Server(config, app, on_ready, guard)


_ACCEPT_FAILED = "socket.accept() out of system resource"


def _quiet_accept_errors(loop: asyncio.AbstractEventLoop, log: RateLimitedLog) -> None:
    """asyncio logs a traceback per failed accept() (EMFILE: out of descriptors),
    then pauses accepting for a second; make it one line per period instead."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == _ACCEPT_FAILED:
            log.warning(
                "accept",
                "accept() failed: %s; retrying each second",
                context.get("exception"),
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def log_config_at(level: str) -> dict[str, Any]:
    """`LOG_CONFIG` with the server's (and uvicorn's) loggers at ``level``."""
    log_config = copy.deepcopy(LOG_CONFIG)
    for name in ("uvicorn", "server"):
        log_config["loggers"][name]["level"] = level
    return log_config


def on_stdin_eof(stop: Callable[[], object]) -> threading.Thread:
    """Call ``stop`` (from a thread) when stdin reaches EOF: the launcher died
    (or closed the pipe). One watcher for uvicorn, Hypercorn and the workers'
    supervisor."""

    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop()

    thread = threading.Thread(target=wait_for_eof, name="stdin watch", daemon=True)
    thread.start()
    return thread


def watch_stdin(server: Server) -> threading.Thread:
    """Exit when stdin reaches EOF: the launcher died (or closed the pipe)."""

    def stop() -> None:
        server.should_exit = True

    return on_stdin_eof(stop)


def serve(
    app: FastAPI,
    sock: socket.socket,
    *,
    watch: bool,
    timeout_s: float,
    log_level: str = "INFO",
    tls: TlsFiles | None = None,
    path: str = "",
) -> None:
    """Run until SIGINT/SIGTERM (or stdin EOF with ``watch``); print READY when up
    (the URL, and ``path`` after it: the mock names its stream)."""

    def ready() -> None:
        tune_gc()
        print(f"READY {url_of(sock, tls=tls is not None)}{path}", flush=True)

    server = make_server(
        app,
        shutdown_timeout_s=timeout_s,
        on_ready=ready,
        log_config=log_config_at(log_level),
        tls=tls,
    )
    if watch:
        watch_stdin(server)
    asyncio.run(server.serve(sockets=[sock]))
