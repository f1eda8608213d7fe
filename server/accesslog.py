"""Access log: one JSON line per request on ``server.access``, token redacted.

uvicorn's own access log is off: it prints the raw query string, token included.
Streams get a second line when they open, since they may stay open for hours.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import orjson

from server.auth import path_of

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("server.access")


class AccessLog:
    """ASGI middleware; ``receive`` passes untouched (see `response.transport_of`)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self._app(scope, receive, send)
            return
        started = time.monotonic()
        status = 0
        size = 0
        client = scope.get("client")
        record: dict[str, object] = {
            "client": f"{client[0]}:{client[1]}" if client else None,
            "method": scope["method"],
            "path": path_of(scope),
        }

        async def logged_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    log.info(
                        "%s",
                        orjson.dumps(
                            {**record, "status": status, "stream": "open"}
                        ).decode(),
                    )
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self._app(scope, receive, logged_send)
        finally:
            line = {
                **record,
                "status": status,
                "bytes": size,
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
            log.info("%s", orjson.dumps(line).decode())
