"""Admission: what a request gets when the server is at its cap of requests at once.

Requests under way (an open stream is one for its whole life) are counted here,
in ASGI, so the rule holds under any HTTP server the app runs on.  Past
``max_requests``:

- a stream is never answered with another status than 200: WHATWG HTML 9.2.3
  makes any other status fail an EventSource for good ("fail the connection"),
  so a moment of overload would stop every browser client for ever.  It gets a
  200 event stream that announces ``retry:`` and ends at once, which a client
  treats as a dropped connection and retries after that delay;
- a JSON route gets 503 with Retry-After and a readable message;
- `/api/info` is always answered: a client (and a person) can see the server
  lives and why it refuses.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse

from server.connections import RateLimitedLog
from server.response import HEADERS
from server.wire import comment_frame, retry_frame

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("server.connections")

RETRY_AFTER_S = 2  # Retry-After of a refusal, and the ``retry:`` a busy stream gets
ALWAYS = frozenset({"/api/info"})


def is_stream_path(path: str) -> bool:
    """The SSE routes (see `server.streams`)."""
    if path in ("/api/events", "/api/ticker"):
        return True
    return path.startswith("/api/jobs/") and path.endswith("/events")


class Admission:
    """ASGI middleware: counts requests under way and refuses past the cap."""

    def __init__(self, app: ASGIApp, max_requests: int) -> None:
        self._app = app
        self.max_requests = max_requests
        self.under_way = 0
        self.refused = 0
        self._log = RateLimitedLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.under_way >= self.max_requests and path not in ALWAYS:
            self.refused += 1
            self._log.warning(
                "admission",
                "%d requests under way, the cap: new streams are told to retry "
                "in %d s, API requests get 503",
                self.max_requests,
                RETRY_AFTER_S,
            )
            if is_stream_path(path):
                await _busy_stream(send)
            else:
                await _busy(scope, receive, send)
            return
        self.under_way += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self.under_way -= 1


async def _busy_stream(send: Send) -> None:
    body = retry_frame(RETRY_AFTER_S * 1000) + comment_frame(
        "server busy: reconnect after retry"
    )
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    message = (
        "the server is at its cap of requests at once (--max-connections): "
        f"try again in {RETRY_AFTER_S} s"
    )
    response = JSONResponse(
        {"message": message, "detail": message},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
    await response(scope, receive, send)
