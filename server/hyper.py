"""HTTP/2 (and HTTP/1.1) over TLS through Hypercorn, for ``serve --tls --http2``.

Why Hypercorn: it is maintained, speaks h2 by ALPN next to HTTP/1.1 on one
socket, and runs this app unchanged.  uvicorn has no HTTP/2; Granian (not
measured) would bring a Rust server whose worker model replaces
server/runner.py.  Its cost, measured on this server's ticker (curl reading
``/api/ticker?rate=0&count=100000`` over TLS, medians of 3 alternating runs on
2 shared cores): uvicorn h11 ~370k events/s, Hypercorn h11 ~275k, Hypercorn
h2 ~235k.  So HTTP/2 costs a third of the peak rate, far above any stream's
need, and buys browsers one connection for all their streams; plain HTTP/1.1
stays on uvicorn, the default, and ``--tls`` alone keeps uvicorn too.

What holds here of the protections server/runner.py adds to uvicorn:

- incomplete requests time out: Hypercorn's idle timer runs from a connection's
  opening and again after each response until a whole request has arrived, so
  ``keep_alive_timeout`` is the headers deadline; the TLS handshake gets the same;
- request heads are bounded by ``h11_max_incomplete_size`` (h1) and
  ``h2_max_header_list_size`` (h2); bodies by server/bodylimit.py (the app's),
  in size and in time (``--body-timeout``: 408, the slot freed);
- Host/Origin checks, admission (503/429 past the caps) and SIGTERM's stream
  drain are the app's and hold under any ASGI server;
- a reader that stopped is dropped only once a write blocks for
  ``--send-timeout``: what the client acknowledged is read from uvicorn's
  transport (server/response.py), which Hypercorn does not hand to the app, so
  the drop waits for the kernel's send buffer to fill first;
- the connection cap of server/connections.py does NOT: Hypercorn has no hook to
  refuse or evict a connection, so a flood of idle connections is bounded only by
  the headers deadline and the fd limit.  ``read_timeout`` stays off: an SSE client
  sends nothing for minutes, and it would cut every stream.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import signal
import socket
from typing import TYPE_CHECKING, Any, cast

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from server.heap import tune_gc
from server.runner import on_stdin_eof

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from hypercorn.typing import Framework
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from server.runner import TlsFiles
    from server.runtime import Runtime
    from server.settings import Settings

DRAIN_BYTES = 1024 * 1024  # read at most this much of a refused request's body
DRAIN_S = 1.0  # for at most this long


class DrainBeforeEnd:
    """Reads the rest of a request's body before the response's last message.

    Hypercorn's h2 forgets a stream once its response ends; DATA frames of the
    request still in flight then raise KeyError and take down the whole
    connection, every stream on it included (pgjones/hypercorn issue #329, fix
    pending in pull request #334).  Any early answer does that: 403 to a page
    elsewhere, 401, 413.  So a bounded drain runs first; past its bounds the
    response ends anyway (a hostile upload, whose connection may then close).
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body_done = False

        async def tracked_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                body_done = True
            return message

        async def draining_send(message: Message) -> None:
            if (
                not body_done
                and message["type"] == "http.response.body"
                and not message.get("more_body")
            ):
                await self._drain(tracked_receive, lambda: body_done)
            await send(message)

        await self._app(scope, tracked_receive, draining_send)

    @staticmethod
    async def _drain(receive: Receive, done: Callable[[], bool]) -> None:
        read = 0
        try:
            async with asyncio.timeout(DRAIN_S):
                while not done() and read <= DRAIN_BYTES:
                    read += len((await receive()).get("body", b""))
        except TimeoutError:
            pass


def make_config(
    sock: socket.socket, tls: TlsFiles, settings: Settings, timeout_s: float
) -> Config:
    config = Config()
    # Hypercorn adopts a descriptor by number and closes it; give it a copy.
    config.bind = [f"fd://{socket.dup(sock.fileno())}"]
    config.certfile = tls.certfile
    config.keyfile = tls.keyfile
    config.alpn_protocols = ["h2", "http/1.1"]
    config.graceful_timeout = max(1.0, timeout_s)
    config.accesslog = None  # server.accesslog writes a redacted one
    config.errorlog = logging.getLogger("server.hypercorn")
    config.include_server_header = False
    if settings.headers_timeout_s > 0:
        config.keep_alive_timeout = settings.headers_timeout_s
        config.ssl_handshake_timeout = settings.headers_timeout_s
    return config


def serve(
    app: FastAPI,
    sock: socket.socket,
    *,
    tls: TlsFiles,
    settings: Settings,
    watch: bool,
    timeout_s: float,
    url: str,
    log_config: dict[str, Any],
) -> None:
    """Run until SIGINT/SIGTERM (or stdin EOF with ``watch``); print READY when up."""
    # uvicorn applies server/runner.py's LOG_CONFIG itself; Hypercorn does not.
    logging.config.dictConfig(log_config)
    asyncio.run(_serve(app, make_config(sock, tls, settings, timeout_s), watch, url))


async def _serve(app: FastAPI, config: Config, watch: bool, url: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if watch:
        on_stdin_eof(lambda: loop.call_soon_threadsafe(stop.set))

    async def shutdown_trigger() -> None:
        # Hypercorn awaits this once its listeners accept, so READY is true here.
        tune_gc()
        print(f"READY {url}", flush=True)
        await stop.wait()
        # Hypercorn then waits for every connection before the lifespan's shutdown,
        # as uvicorn does: end the streams first (server/runner.py's Server.shutdown).
        rt: Runtime | None = getattr(app.state, "runtime", None)
        if rt is not None:
            await rt.begin_shutdown()

    # Hypercorn types its app with its own TypedDicts; starlette's are plain dicts.
    asgi = cast("Framework", DrainBeforeEnd(app))
    await hypercorn_serve(asgi, config, shutdown_trigger=shutdown_trigger, mode="asgi")
