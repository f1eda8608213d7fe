"""Body limit: a request body past ``--max-body`` gets a readable 413, chunked too.

Starlette's `RequestBodyLimitMiddleware` counts what the app reads, so a chunked
body without Content-Length is stopped at the limit, never buffered whole.  It
wraps ``receive``, which `server.response.transport_of` reads the connection
from, so requests without a body (every stream is a GET) pass untouched: their
body, if a client sends one anyway, is never read and uvicorn stops reading the
socket once 64 KiB wait (its flow control).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

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


class BodyLimit:
    """ASGI middleware: Content-Length past the limit is refused before any read."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self._app = app
        self._max_body = max_body
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
        await self._limited(scope, receive, send)
