"""Response: the ASGI writer of one subscription: retry, replay, live, pings, ending.

Deliberately not sse-starlette's ``EventSourceResponse``:
- it makes one ASGI send per event; here everything ready is written in one send
  (the ticker reaches ~40x more events/s), without changing what a client sees;
- its keep-alive ping runs on its own task and cannot be silenced, but the lab's
  "stall" must send nothing at all, pings included;
- it learns of shutdown from a process-global flag polled every 0.5 s and cannot
  write a final comment; here the server's shutdown ends every subscription at once;
- faults need raw control of the connection: half an event then FIN, or an abort
  for a client that stopped reading (its write is interrupted, never awaited for ever).

Disconnects: a task waits on ``receive()`` for ``http.disconnect`` and ends the
subscription, so a client that closes is noticed at once even while nothing is sent.

Timers: pings and the send timeout come from the hub's watchdog (`Hub.watch`), not
from an ``asyncio.timeout`` per write and per wait: with 1,000 subscribers those
timers were ~9 % of the server's CPU.  A blocked write is interrupted the way
``asyncio.timeout`` does it: cancel the task, catch, ``uncancel``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from typing import TYPE_CHECKING, cast

from starlette.responses import Response

from server import tcp
from server.subscriptions import Chunk, SubscriptionEnd
from server.wire import comment_frame, event_frame

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.types import Message, Receive, Scope, Send

    from server.encoding import Encoder
    from server.settings import Settings
    from server.subscriptions import Hub, Subscription

log = logging.getLogger("server.streams")

HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
)
_CUT_FRAME = b'event: lab\ndata: {"action":"cut","note":"this event is never fini'
_GONE_WAIT_S = 1.0
_RUNNING = (SubscriptionEnd.OPEN, SubscriptionEnd.FINISHED)
_DROPS = (
    SubscriptionEnd.OVERFLOW,
    SubscriptionEnd.SEND_TIMEOUT,
    SubscriptionEnd.STALLED,
)
_REASONS = {
    SubscriptionEnd.GONE: "gone (the client closed the connection)",
    SubscriptionEnd.OVERFLOW: "overflow (its unsent backlog passed the bound)",
    SubscriptionEnd.SEND_TIMEOUT: "send-timeout (a write stayed blocked)",
    SubscriptionEnd.STALLED: "stalled (the client stopped reading)",
    SubscriptionEnd.DROPPED: "dropped by the lab",
    SubscriptionEnd.CUT: "cut by the lab",
    SubscriptionEnd.SHUTDOWN: "server shutting down",
}


def transport_of(receive: Receive) -> asyncio.Transport | None:
    """The connection's transport when the server is uvicorn, else None.

    ASGI offers no way to close a connection without finishing the response, and a
    response cannot be finished while the client does not read.  uvicorn's
    ``receive`` is a bound method of its request cycle, which holds the transport;
    with it a stuck connection is aborted instead of lingering until TCP gives up.
    Without it (another ASGI server) the writer just returns and the server closes.
    """
    owner = getattr(receive, "__self__", None)
    transport = getattr(owner, "transport", None)
    if isinstance(transport, asyncio.Transport):
        return transport
    # uvloop's transports do not subclass asyncio.Transport but have the same API.
    if all(hasattr(transport, a) for a in ("abort", "close", "get_extra_info")):
        return cast("asyncio.Transport", transport)
    return None


class EventStreamResponse(Response):
    """Streams one subscription until it ends; takes it out of the hub at the end.

    A `Response` only so FastAPI passes it through; it does not use the base's body.
    """

    def __init__(
        self,
        sub: Subscription,
        hub: Hub,
        settings: Settings,
        *,
        preamble: Sequence[Chunk],
        encoder: Encoder,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = list(HEADERS)
        if encoder.content_encoding is not None:
            self.raw_headers.append(
                (b"content-encoding", encoder.content_encoding.encode())
            )
        self._sub = sub
        self._hub = hub
        self._settings = settings
        self._preamble = preamble
        self._encoder = encoder
        self._on_close = on_close
        self._transport: asyncio.Transport | None = None
        self._interrupted = False
        self._ping = (
            event_frame("ping", "{}") if settings.ping_event else comment_frame("ping")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._transport = transport_of(receive)
        if self._transport is not None:
            # asyncio hands out a TransportSocket, a view of the socket that
            # allows getsockopt (and setsockopt, deprecated) but is no socket.socket.
            sock = self._transport.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    tcp.keep_alive(sock)
            if sock is not None and hasattr(sock, "getsockopt"):
                self._sub.delivery = functools.partial(tcp.delivery, sock)
        task = asyncio.current_task()
        assert task is not None

        def interrupt() -> None:
            if self._sub.writing_since is not None and not self._interrupted:
                self._interrupted = True  # the CancelledError in _write is ours
                task.cancel()

        self._sub.interrupt_write = interrupt
        self._hub.add(self._sub)
        watcher = asyncio.create_task(self._watch(receive))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": self.raw_headers,
                }
            )
            await self._run(send, watcher)
        finally:
            self._hub.remove(self._sub)
            if self._on_close is not None:
                self._on_close()
            watcher.cancel()
            await asyncio.wait({watcher})
            self._log_end()

    def _log_end(self) -> None:
        """One line per subscription that did not simply finish, with its reason."""
        sub = self._sub
        ending = sub.ending
        if ending in _RUNNING:
            level, why = logging.DEBUG, "finished"
        else:
            level = logging.WARNING if ending in _DROPS else logging.INFO
            why = _REASONS[ending]
        log.log(
            level,
            "subscription %d (%s, %s) %s: %s; %d events, %d bytes sent",
            sub.number,
            sub.client,
            sub.path,
            "dropped" if ending in _DROPS else "ended",
            why,
            sub.events_sent,
            sub.bytes_sent,
        )

    async def _watch(self, receive: Receive) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self._sub.end(SubscriptionEnd.GONE)
                return

    async def _run(self, send: Send, watcher: asyncio.Task[None]) -> None:
        sub, settings = self._sub, self._settings
        for chunk in self._preamble:
            if sub.ending not in _RUNNING or not await self._write(send, chunk):
                break
        while True:
            sub.wake.clear()
            if sub.ending not in _RUNNING:
                await self._end(send, watcher)
                return
            now = time.monotonic()
            if sub.stalled_until > now:
                await self._wait(sub.stalled_until)
                continue
            chunk = sub.take(now, settings.batch_bytes)
            if chunk.data:
                if await self._write(send, chunk) and sub.source is not None:
                    await asyncio.sleep(0)  # a pull source never waits: let others run
                continue
            if sub.drained:
                await self._complete(send, b"")
                return
            if sub.ping_wanted:
                sub.ping_wanted = False
                if now - sub.last_write >= settings.ping_s:
                    await self._write(send, Chunk(self._ping, 0, None))
                continue
            due = sub.source.next_due() if sub.source is not None else None
            if due is None:
                await sub.wake.wait()
            elif due > now:
                await self._wait(due)

    async def _wait(self, deadline: float) -> None:
        """Until ``deadline`` (monotonic) or a wake-up."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deadline - time.monotonic()):
                await self._sub.wake.wait()

    async def _write(self, send: Send, chunk: Chunk) -> bool:
        """One send; False if it was interrupted (the subscription ended)."""
        body = self._encoder.encode(chunk.data)
        if body:
            self._sub.writing_since = time.monotonic()
            try:
                await send(
                    {"type": "http.response.body", "body": body, "more_body": True}
                )
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._interrupted and task is not None and task.uncancel() == 0:
                    self._interrupted = False  # handled: a later cancel is not ours
                    return False
                raise
            finally:
                self._sub.writing_since = None
        self._sub.sent(chunk)
        return True

    async def _complete(self, send: Send, last: bytes) -> None:
        """Finish the response body properly (terminating chunk)."""
        body = self._encoder.encode(last) + self._encoder.finish()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.shutdown_timeout_s / 2):
                await send(
                    {"type": "http.response.body", "body": body, "more_body": False}
                )
                return
        self._abort()

    async def _end(self, send: Send, watcher: asyncio.Task[None]) -> None:
        ending = self._sub.ending
        if ending is SubscriptionEnd.GONE:
            return
        if ending in (
            SubscriptionEnd.SHUTDOWN,
            SubscriptionEnd.DROPPED,
            SubscriptionEnd.CUT,
        ):
            # What was queued before the cause (e.g. the lab's own report) goes first.
            queued = self._sub.take_queued()
            if queued.data and not await self._write(send, queued):
                ending = SubscriptionEnd.SEND_TIMEOUT  # it does not read: abort
        if ending is SubscriptionEnd.SHUTDOWN:
            await self._complete(send, comment_frame("server shutting down"))
            return
        if ending is SubscriptionEnd.DROPPED:
            # The server ends the stream: a proper end of body, EOF to the client,
            # which reconnects after `retry`.  The connection stays open for HTTP
            # keep-alive, as after any finished response: closing it as well would
            # race a client reusing it for its next request (a spurious ReadError).
            await self._complete(send, b"")
            return
        if ending in _DROPS:
            self._abort()
        elif self._transport is None:
            # No transport to close: end the body; a client sees the server close.
            await self._complete(
                send, _CUT_FRAME if ending is SubscriptionEnd.CUT else b""
            )
            return
        elif ending is SubscriptionEnd.CUT and not await self._write(
            send, Chunk(_CUT_FRAME, 0, None)
        ):
            self._abort()
        else:
            self._transport.close()  # FIN after the bytes already queued
        # Let uvicorn see the connection lost before we return, so it does not log
        # "returned without completing response".
        await asyncio.wait({watcher}, timeout=_GONE_WAIT_S)

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()
