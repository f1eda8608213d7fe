"""The lab's switches, consulted when a stream connects, and the answers they give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from server.encoding import Buffering, Encoder, Gzip, Identity

RefuseWith = Literal[204, 401, 503, "html"]


@dataclass(slots=True)
class LabState:
    """The switches the lab sets; consulted when a stream connects."""

    refuse_left: int = 0
    refuse_with: RefuseWith = 503
    retry_after_s: int = 5
    retry_ms: int | None = None  # overrides Settings.retry_ms when set
    encoding: Literal["identity", "gzip", "buffer"] = "identity"
    buffer_bytes: int = 4096

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
