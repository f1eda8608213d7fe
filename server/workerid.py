"""Which worker process served a response: ``X-SSE-Worker: w<n>-<pid>``.

With ``serve --workers N`` a client's reconnection may land on another process;
the header (and ``/api/info``'s ``worker``) lets the app and the lab show which one
served each connection.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-SSE-Worker"


def worker_id(number: int = 1) -> str:
    """This process's id as worker ``number``: ``w<number>-<pid>``.

    The pid tells a replacement (same slot, new process) from the worker it
    replaced.
    """
    return f"w{number}-{os.getpid()}"


class WorkerHeader:
    """ASGI middleware adding the header to every HTTP response.

    A pure ASGI wrapper rather than starlette's ``BaseHTTPMiddleware``: that one
    runs the route in another task and wraps its body, which streams do not need.
    """

    def __init__(self, app: ASGIApp, worker: str) -> None:
        self._app = app
        self._header = (HEADER.lower().encode(), worker.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self._app(scope, receive, send_with_header)
