"""The lab's switches, consulted when a stream connects, and the answers they give.

Switches come in two scopes.  The untagged ones (`LabState`'s own fields) act on
every connect, as the Lab dock's buttons do.  A *tag* (``lab_tag`` on a stream
request, ``tag`` in a lab route's body) scopes them to the connects carrying that
tag: a lesson refuses, announces ``retry:`` or gzips its own streams only, and
the user's other tabs never take a refusal meant for it.  A tagged connect
consults its tag's switches first and falls back on the untagged ones.

Also the lab's own records: what a browser's EventSource reported (`/api/lab/browser`)
and the steady `pulse` publisher (`/api/lab/pulse`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from server.encoding import Buffering, Encoder, Gzip, Identity

log = logging.getLogger("server.lab")

RefuseWith = Literal[204, 401, 503, "html"]
EncodingMode = Literal["identity", "gzip", "buffer"]
RetryUnit = Literal["", "s", "ms"]
BROWSER_OBSERVATIONS = 10_000
MAX_TAGS = 256  # tags with switches kept; the least recently set one goes first


@dataclass(slots=True)
class TagSwitches:
    """The switches of one tag; None: as the untagged switch says."""

    refuse_left: int = 0
    refuse_with: RefuseWith = 503
    retry_after_s: int = 5
    retry_ms: int | None = None
    retry_unit: RetryUnit | None = None
    encoding: EncodingMode | None = None
    buffer_bytes: int = 4096
    omit_end_next: int = 0  # the next jobs started with this tag end without `end`

    def describe(self) -> dict[str, object]:
        return {
            "refuse_left": self.refuse_left,
            "refuse_with": self.refuse_with,
            "retry_ms": self.retry_ms,
            "encoding": self.encoding,
            "buffer_bytes": self.buffer_bytes,
            "omit_end_next": self.omit_end_next,
        }


@dataclass(slots=True)
class LabState:
    """The switches the lab sets; consulted when a stream connects."""

    refuse_left: int = 0
    refuse_with: RefuseWith = 503
    retry_after_s: int = 5
    retry_ms: int | None = None  # overrides Settings.retry_ms when set
    # After the number ("retry: 20s"): a spec trap every client ignores.
    retry_unit: RetryUnit = ""
    encoding: EncodingMode = "identity"
    buffer_bytes: int = 4096
    # Per-tag switches, least recently set first (bounded by MAX_TAGS).
    tags: OrderedDict[str, TagSwitches] = field(default_factory=OrderedDict)
    # What browsers' EventSources reported (page at `/`), oldest first, bounded.
    browser: deque[dict[str, object]] = field(
        default_factory=lambda: deque(maxlen=BROWSER_OBSERVATIONS)
    )
    pulse_ms: int = 0  # the pulse publisher's period; 0: off
    pulse: asyncio.Task[None] | None = None
    pulse_stop: asyncio.Event | None = None  # set: the publisher ends its loop

    async def stop_pulse(self, grace_s: float = 2.0) -> None:
        """Stop the pulse publisher, if it runs, and wait until it has.

        It is asked, not cancelled: a publish under way (a command to Redis)
        completes, so the broker's connection is never cut mid-command; one still
        stuck after ``grace_s`` is cancelled after all.
        """
        task, stop = self.pulse, self.pulse_stop
        self.pulse, self.pulse_stop, self.pulse_ms = None, None, 0
        if task is None:
            return
        if stop is not None:
            stop.set()
        _done, pending = await asyncio.wait({task}, timeout=grace_s)
        if pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and (error := task.exception()) is not None:
            log.warning("the pulse had stopped on its own: %r", error)

    # -- tags ------------------------------------------------------------------------

    def switches(self, tag: str) -> TagSwitches:
        """The tag's switches, made on first use (the oldest tag goes past MAX_TAGS)."""
        found = self.tags.get(tag)
        if found is None:
            found = self.tags[tag] = TagSwitches()
            while len(self.tags) > MAX_TAGS:
                self.tags.popitem(last=False)
        else:
            self.tags.move_to_end(tag)
        return found

    def forget_tag(self, tag: str) -> bool:
        """Drop the tag's switches (its connects get the untagged ones again)."""
        return self.tags.pop(tag, None) is not None

    def reset(self) -> None:
        """Every switch back to normal, tagged ones included (the pulse aside)."""
        self.refuse_left, self.retry_ms, self.encoding = 0, None, "identity"
        self.retry_unit = ""
        self.tags.clear()

    # -- consulted on a connect ----------------------------------------------------

    def take_refusal(self, tag: str = "") -> tuple[RefuseWith, int] | None:
        """The answer (and its Retry-After) for this connect instead of a stream.

        A tagged connect takes its tag's refusals first, then the untagged ones.
        """
        own = self.tags.get(tag) if tag else None
        if own is not None and own.refuse_left > 0:
            own.refuse_left -= 1
            return own.refuse_with, own.retry_after_s
        if self.refuse_left <= 0:
            return None
        self.refuse_left -= 1
        return self.refuse_with, self.retry_after_s

    def retry_for(self, tag: str = "") -> int | None:
        """The ``retry:`` the lab asks for this connect; None: the server's own."""
        own = self.tags.get(tag) if tag else None
        if own is not None and own.retry_ms is not None:
            return own.retry_ms
        return self.retry_ms

    def retry_unit_for(self, tag: str = "") -> RetryUnit:
        """The unit the lab puts after ``retry:``'s number ("" for none)."""
        own = self.tags.get(tag) if tag else None
        if own is not None and own.retry_unit is not None:
            return own.retry_unit
        return self.retry_unit

    def encoder(self, tag: str = "") -> Encoder:
        mode, size = self.encoding, self.buffer_bytes
        own = self.tags.get(tag) if tag else None
        if own is not None and own.encoding is not None:
            mode, size = own.encoding, own.buffer_bytes
        if mode == "gzip":
            return Gzip()
        if mode == "buffer":
            return Buffering(size)
        return Identity()

    def take_omit_end(self, tag: str) -> bool:
        """Whether a job started with ``tag`` takes one of the tag's omit-end."""
        own = self.tags.get(tag) if tag else None
        if own is None or own.omit_end_next <= 0:
            return False
        own.omit_end_next -= 1
        return True


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
