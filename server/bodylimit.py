"""Body limit: a request body past ``--max-body`` gets a readable 413, chunked too,
and one not received within ``--body-timeout`` gets 408.

Starlette's `RequestBodyLimitMiddleware` counts what the app reads, so a chunked
body without Content-Length is stopped at the limit, never buffered whole.  It
wraps ``receive``, which `server.response.transport_of` reads the connection
from, so requests without a body (every stream is a GET) pass untouched: their
body, if a client sends one anyway, is never read and uvicorn stops reading the
socket once 64 KiB wait (its flow control).

The body deadline counts from the moment the headers are complete (they have
their own, ``--headers-timeout``) to the body's last byte, whatever the rate: a
client that trickles 1 byte a second would otherwise hold a request slot of
server/admission.py for as long as it likes, since neither uvicorn nor Hypercorn
times out a body (Hypercorn's ``read_timeout`` would, but it also cuts every
quiet stream, server/hyper.py).  It is raised as an HTTPException from
``receive``, as starlette raises its 413, so FastAPI's body parsing passes it on
to the app's handler (server/app.py) and the route ends: the slot is freed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_BODY = (b"GET", b"HEAD", b"OPTIONS")


def too_large(limit: int) -> JSONResponse:
    """The 413 every over-long body gets, with a sentence a person can read."""
    message = (
        f"request body too large: the limit is {limit:,} bytes "
        "(the server's --max-body)"
    )
    return JSONResponse(
        {"message": message, "detail": message, "limit": limit}, status_code=413
    )


class BodyTimedOutError(HTTPException):
    """The body was not all received within the deadline (answered with 408)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(status_code=408, detail=f"{timeout_s:g}")
        self.timeout_s = timeout_s


def too_slow(timeout_s: float, http_version: str) -> JSONResponse:
    """The 408 of a body that took too long, with a sentence a person can read."""
    message = (
        f"request body too slow: it must arrive within {timeout_s:g} s of the "
        "headers (the server's --body-timeout)"
    )
    # RFC 9110 15.5.9: a 408 SHOULD say "close", the server stops waiting.  HTTP/2
    # forbids the header (RFC 9113 8.2.2); its stream simply ends.
    headers = {"Connection": "close"} if http_version.startswith("1") else None
    return JSONResponse(
        {"message": message, "detail": message, "timeout_s": timeout_s},
        status_code=408,
        headers=headers,
    )


class BodyLimit:
    """ASGI middleware: Content-Length past the limit is refused before any read;
    a body slower than ``body_timeout_s`` (0: no deadline) ends in 408."""

    def __init__(self, app: ASGIApp, max_body: int, body_timeout_s: float = 0) -> None:
        self._app = app
        self._max_body = max_body
        self._body_timeout_s = body_timeout_s
        self._limited = RequestBodyLimitMiddleware(app, max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers
        if length is None and not chunked and scope["method"].encode() in _NO_BODY:
            await self._app(scope, receive, send)
            return
        if length is not None and length.isdigit() and int(length) > self._max_body:
            await too_large(self._max_body)(scope, receive, send)
            return
        if self._body_timeout_s > 0:
            receive = _with_deadline(receive, self._body_timeout_s)
        await self._limited(scope, receive, send)


def _with_deadline(receive: Receive, timeout_s: float) -> Receive:
    """``receive``, raising `BodyTimedOutError` if the body is not all in within
    ``timeout_s`` from now; once it is, calls (a disconnect) pass untouched."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    body_done = False

    async def receive_by_deadline() -> Message:
        nonlocal body_done
        if body_done:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise BodyTimedOutError(timeout_s) from None
        if message["type"] != "http.request" or not message.get("more_body"):
            body_done = True
        return message

    return receive_by_deadline
