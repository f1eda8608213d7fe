"""Connections: a cap below the fd limit, and a deadline for a request's headers.

uvicorn times out an idle keep-alive connection only after a response; a
connection that never completes its first request's headers (or sends half of
the next one) holds its file descriptor for ever, and enough of them exhaust
the process's descriptors (asyncio then logs an EMFILE traceback per accept).
uvicorn's ``limit_concurrency`` is no help here: it answers 503 to every request
past it, and any non-200 fails a browser's EventSource for good.

So the HTTP protocol is uvicorn's h11 one plus a `ConnectionGuard`:

- every connection gets ``headers_timeout_s`` to complete a request's headers,
  from its opening and again after each response (keep-alive);
- past ``max_connections`` the connection that waited longest for its headers
  is closed to make room, so a flood of half-open connections cannot lock out
  `/api/info`; when none waits, the new one is closed at once;
- these events are logged at most once per ``LOG_EVERY_S``, with a count.

What a request is answered once it arrived (a stream past the cap, a JSON route
past it) is the app's, in `server.admission`, and holds under any ASGI server.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("server.connections")

LOG_EVERY_S = 10.0


class RateLimitedLog:
    """One warning per key and period; the next one says how many were held back."""

    def __init__(self, every_s: float = LOG_EVERY_S) -> None:
        self._every_s = every_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        suffix = f" ({held} more since the last such line)" if held else ""
        log.warning(message + suffix, *args)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int  # open connections at most
    headers_timeout_s: float  # to complete a request's headers; 0: no deadline


class ConnectionGuard:
    """The open connections of one server, and which of them wait for headers."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0
        self.log = RateLimitedLog()
        # Connections waiting for a request's headers, the longest waiting first.
        self._waiting: OrderedDict[int, GuardedH11Protocol] = OrderedDict()
        self.refused = 0  # closed at once: over the cap, none to make room
        self.evicted = 0  # closed to make room for a newer one
        self.timed_out = 0  # did not complete their headers in time

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Count a new connection; False: it must be closed (over the cap)."""
        self.open += 1
        if self.open <= self.limits.max_connections:
            return True
        if self._waiting:
            _, oldest = self._waiting.popitem(last=False)
            self.evicted += 1
            self.log.warning(
                "evict",
                "%d connections open, the cap (--max-connections): closed the one "
                "waiting longest for its request headers",
                self.limits.max_connections,
            )
            oldest.close_waiting()
            return True
        self.refused += 1
        self.log.warning(
            "refuse",
            "%d connections open, the cap (--max-connections): refusing new ones",
            self.limits.max_connections,
        )
        return False

    def waiting(self, conn: GuardedH11Protocol, waits: bool) -> None:
        if waits:
            self._waiting[id(conn)] = conn
            self._waiting.move_to_end(id(conn))
        else:
            self._waiting.pop(id(conn), None)

    def closed(self, conn: GuardedH11Protocol) -> None:
        self.open -= 1
        self._waiting.pop(id(conn), None)

    def timeout(self) -> None:
        self.timed_out += 1
        self.log.warning(
            "headers",
            "closed a connection that did not complete its request headers "
            "within %.0f s",
            self.limits.headers_timeout_s,
        )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under a `ConnectionGuard` (see the module docstring).

    `guarded` makes a subclass bound to one guard: uvicorn builds the protocol
    from a class and its own keyword arguments.
    """

    guard: ConnectionGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._counted = False
        self._seen_cycle: object = None

    @classmethod
    def guarded(cls, guard: ConnectionGuard) -> type[GuardedH11Protocol]:
        return type("GuardedH11Protocol", (cls,), {"guard": guard})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._counted = True
        if not self.guard.admit(self):
            transport.abort()
            return
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        if self._counted:
            self._counted = False
            self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._check_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is self._seen_cycle:  # no pipelined request started
            self._await_headers()
        else:
            self._check_request()

    def _check_request(self) -> None:
        """A new request's headers arrived: the deadline is met."""
        if self.cycle is not None and self.cycle is not self._seen_cycle:
            self._seen_cycle = self.cycle
            self._cancel_deadline()
            self.guard.waiting(self, False)

    def _await_headers(self) -> None:
        self._cancel_deadline()
        self.guard.waiting(self, True)
        timeout = self.guard.limits.headers_timeout_s
        if timeout > 0:
            self._deadline = self.loop.call_later(timeout, self._headers_late)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.guard.timeout()
            self.close_waiting()

    def close_waiting(self) -> None:
        """Close a connection that has no request under way (nothing to answer)."""
        self._cancel_deadline()
        self.guard.waiting(self, False)
        self.transport.close()
