"""The lab's switches, consulted when a stream connects, and the answers they give.

Also the lab's own records: what a browser's EventSource reported (`/api/lab/browser`)
and the steady `pulse` publisher (`/api/lab/pulse`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from server.encoding import Buffering, Encoder, Gzip, Identity

RefuseWith = Literal[204, 401, 503, "html"]
BROWSER_OBSERVATIONS = 10_000


@dataclass(slots=True)
class LabState:
    """The switches the lab sets; consulted when a stream connects."""

    refuse_left: int = 0
    refuse_with: RefuseWith = 503
    retry_after_s: int = 5
    retry_ms: int | None = None  # overrides Settings.retry_ms when set
    encoding: Literal["identity", "gzip", "buffer"] = "identity"
    buffer_bytes: int = 4096
    # What browsers' EventSources reported (page at `/`), oldest first, bounded.
    browser: deque[dict[str, object]] = field(
        default_factory=lambda: deque(maxlen=BROWSER_OBSERVATIONS)
    )
    pulse_ms: int = 0  # the pulse publisher's period; 0: off
    pulse: asyncio.Task[None] | None = None

    async def stop_pulse(self) -> None:
        """Stop the pulse publisher, if it runs, and wait until it has."""
        task, self.pulse, self.pulse_ms = self.pulse, None, 0
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def take_refusal(self) -> RefuseWith | None:
        """The answer for this connect instead of a stream, if the lab asked for one."""
        if self.refuse_left <= 0:
            return None
        self.refuse_left -= 1
        return self.refuse_with

    def encoder(self) -> Encoder:
        if self.encoding == "gzip":
            return Gzip()
        if self.encoding == "buffer":
            return Buffering(self.buffer_bytes)
        return Identity()


def refusal_response(kind: RefuseWith, retry_after_s: int) -> Response:
    if kind == 204:
        return Response(status_code=204)
    if kind == 401:
        return PlainTextResponse(
            "lab: unauthorized\n",
            401,
            headers={"WWW-Authenticate": 'Bearer realm="lab"'},
        )
    if kind == 503:
        return PlainTextResponse(
            "lab: service unavailable\n",
            503,
            headers={"Retry-After": str(retry_after_s)},
        )
    return HTMLResponse(
        "<!doctype html><title>lab</title><p>lab: not an event stream</p>\n"
    )
