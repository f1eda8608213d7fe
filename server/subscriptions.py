"""Subscriptions: open connections as the server sees them, and their registry.

A `Subscription` is the meeting point of three parties: producers push frames into
its outbox (the broker, as a `Sink`; the stats gauge; the lab), its writer (see
`server.response`) takes everything ready in one chunk, and control calls (lab,
shutdown, overflow, client gone) set its `SubscriptionEnd` and wake the writer.
Producers never block: when the unsent backlog passes the bound the subscription
ends itself and frees the queue, so a client that stops reading cannot make the
server buffer without bound.

With the lab on, each subscription also keeps a bounded log of what it sent
(`server.sentlog`) and the hub keeps the last closed subscriptions, so
`/api/lab/sent` can show what went out on each connection.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from server.sentlog import Sent, SentBudget, SentLog, Sents

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from server.broker import StoredEvent

__all__ = ["Chunk", "Hub", "Sent", "Sents", "Source", "Subscription"]


class SubscriptionEnd(Enum):
    """Why a subscription stops; OPEN while it runs."""

    OPEN = "open"  # running
    FINISHED = "finished"  # the topic ended (job `end`, ticker count): drain, close
    GONE = "gone"  # the client closed its socket
    OVERFLOW = "overflow"  # unsent backlog passed the bound
    SEND_TIMEOUT = "send-timeout"  # one write stayed blocked past the timeout
    STALLED = "stalled"  # the client acknowledged nothing for the send timeout
    DROPPED = "dropped"  # the lab dropped it
    CUT = "cut"  # the lab closes it mid-event
    SHUTDOWN = "shutdown"  # the server is stopping


@dataclass(slots=True)
class Chunk:
    """Bytes to write in one send, how many events they hold, the last id among them.

    ``meta`` names the events with an id it holds, for the lab's sent log, and
    ``meta_bytes`` is what they keep alive there; producers that cannot name them
    cheaply leave it empty.
    """

    data: bytes
    events: int
    last_id: str | None
    meta: Sents = ()
    meta_bytes: int = 0


class Source(Protocol):
    """A pull producer (the ticker): computes its events when the writer asks."""

    def take(self, now: float, budget: int) -> Chunk: ...

    def next_due(self) -> float | None:
        """Monotonic time of the next event, or None when `done`."""
        ...

    @property
    def done(self) -> bool: ...


class Subscription:
    """One open connection; also the broker's `Sink` for its topic."""

    def __init__(
        self,
        number: int,
        *,
        client: str,
        path: str,
        topic: str,
        backlog_bytes: int,
        source: Source | None = None,
        last_event_id: str = "",
        sent_log: int = 0,
        sent_budget: SentBudget | None = None,
        tag: str = "",
    ) -> None:
        self.number = number
        self.tag = tag  # the lab tag its request carried ("" if none)
        self.client = client
        self.path = path
        self.topic = topic
        self.last_event_id = last_event_id  # what the request carried ("" if none)
        self.since = time.time()
        self.closed: float | None = None  # wall time it left the hub
        self.log = (
            SentLog(sent_log, sent_budget)
            if sent_log > 0 and sent_budget is not None
            else None
        )
        self.events_sent = 0
        self.bytes_sent = 0
        self.last_id: str | None = None
        self.ending = SubscriptionEnd.OPEN
        self.stalled_until = 0.0  # monotonic
        self.last_write = time.monotonic()
        self.writing_since: float | None = None  # monotonic start of a pending send
        self.ping_wanted = False  # set by the hub's watchdog
        self.source = source
        self.wake = asyncio.Event()
        self.interrupt_write: Callable[[], None] | None = None  # set by the writer
        # Set by the writer where the connection shows it (see tcp.delivery):
        # bytes the client acknowledged, bytes still waiting.
        self.delivery: Callable[[], tuple[int, int] | None] | None = None
        self.acked = -1  # the acknowledged count at the last progress
        self.acked_at = time.monotonic()  # when it last moved (or nothing waited)
        self._backlog_bytes = backlog_bytes
        self._frames: list[bytes] = []
        self._pending_bytes = 0
        self._pending_events = 0
        self._pending_last_id: str | None = None
        self._meta: list[Sent] | None = [] if self.log is not None else None
        self._meta_bytes = 0

    # -- producers -------------------------------------------------------------------

    def push(
        self,
        frame: bytes,
        *,
        events: int = 1,
        last_id: str | None = None,
        meta: Sent | None = None,
    ) -> None:
        """Queue a frame for the writer; ends it if the backlog overflows."""
        if self.ending is not SubscriptionEnd.OPEN:
            return
        self._frames.append(frame)
        self._pending_bytes += len(frame)
        self._pending_events += events
        if last_id is not None:
            self._pending_last_id = last_id
        if meta is not None and self._meta is not None:
            self._meta.append(meta)
            self._meta_bytes += len(frame)
        if self._pending_bytes > self._backlog_bytes:
            self.end(SubscriptionEnd.OVERFLOW)
            return
        self.wake.set()

    def deliver(self, event: StoredEvent) -> None:
        self.push(event.frame, last_id=event.id, meta=event)

    def finish(self) -> None:
        """The topic publishes nothing more: the writer drains the queue and closes."""
        if self.ending is SubscriptionEnd.OPEN:
            self.ending = SubscriptionEnd.FINISHED
            self.wake.set()

    # -- control ---------------------------------------------------------------------

    def end(self, ending: SubscriptionEnd) -> None:
        """Stop now; a write blocked on a client that does not read is interrupted."""
        if self.ending not in (SubscriptionEnd.OPEN, SubscriptionEnd.FINISHED):
            return
        self.ending = ending
        if ending in (
            SubscriptionEnd.OVERFLOW,
            SubscriptionEnd.SEND_TIMEOUT,
            SubscriptionEnd.STALLED,
            SubscriptionEnd.GONE,
        ):
            self._frames.clear()
            self._pending_bytes = 0
            if self._meta is not None:
                self._meta, self._meta_bytes = [], 0
        if self.interrupt_write is not None:
            self.interrupt_write()
        self.wake.set()

    def stall(self, seconds: float) -> None:
        """Write nothing at all, pings included, for ``seconds``."""
        self.stalled_until = time.monotonic() + seconds
        self.wake.set()

    # -- the writer ------------------------------------------------------------------

    def take_queued(self) -> Chunk:
        """The queued frames only (what producers pushed)."""
        frames, self._frames = self._frames, []
        meta: Sents = ()
        meta_bytes = 0
        if self._meta:
            meta, self._meta = self._meta, []
            meta_bytes, self._meta_bytes = self._meta_bytes, 0
        chunk = Chunk(
            b"".join(frames),
            self._pending_events,
            self._pending_last_id,
            meta,
            meta_bytes,
        )
        self._pending_bytes = self._pending_events = 0
        self._pending_last_id = None
        return chunk

    def take(self, now: float, budget: int) -> Chunk:
        """Everything ready now: queued frames first, then the source's due events."""
        chunk = self.take_queued()
        if self.source is not None and len(chunk.data) < budget:
            more = self.source.take(now, budget - len(chunk.data))
            if more.data:  # a mock's piece may hold no event (a comment, a part)
                meta = more.meta
                if len(chunk.meta):
                    meta = [*chunk.meta, *more.meta]
                chunk = Chunk(
                    chunk.data + more.data,
                    chunk.events + more.events,
                    more.last_id or chunk.last_id,
                    meta,
                    chunk.meta_bytes + more.meta_bytes,
                )
        return chunk

    @property
    def drained(self) -> bool:
        """Nothing queued and nothing more will come."""
        if self._frames:
            return False
        if self.source is not None:
            return self.source.done
        return self.ending is SubscriptionEnd.FINISHED

    def sent(self, chunk: Chunk) -> None:
        self.last_write = time.monotonic()
        self.events_sent += chunk.events
        self.bytes_sent += len(chunk.data)
        if chunk.last_id is not None:
            self.last_id = chunk.last_id
        if self.log is not None:
            self.log.add(chunk.meta, time.time(), chunk.meta_bytes)

    def reader_stopped(self, now: float, timeout_s: float) -> bool:
        """Bytes wait and the client acknowledged none of them for ``timeout_s``.

        The client stopped reading (its receive window closed), whatever the
        stream's rate: unlike a blocked write, this does not wait for the kernel's
        send buffer, megabytes once tuned, to fill first.
        """
        state = self.delivery() if self.delivery is not None else None
        if state is None:
            return False
        acked, waiting = state
        if waiting == 0 or acked != self.acked:
            self.acked, self.acked_at = acked, now
            return False
        return now - self.acked_at > timeout_s

    def describe(self) -> dict[str, object]:
        """The row `/api/streams` shows."""
        return {
            "id": self.number,
            "client": self.client,
            "path": self.path,
            "topic": self.topic,
            "tag": self.tag,
            "since": self.since,
            "events_sent": self.events_sent,
            "bytes_sent": self.bytes_sent,
            "last_id": self.last_id,
            "stalled": self.stalled_until > time.monotonic(),
        }

    def _ending_shown(self) -> str | None:
        if self.ending is not SubscriptionEnd.OPEN:
            shown: str = self.ending.value
            return shown
        # A pull source that ran out ends its response without a control call.
        return None if self.closed is None else "finished"

    def describe_sent(
        self, after: int = 0, limit: int = 10_000
    ) -> tuple[dict[str, object], int, bool]:
        """The row of `/api/lab/sent`: the Last-Event-ID asked, the ending, the log.

        The log part holds at most ``limit`` events past position ``after``; also
        the position of the last one given and whether more are kept past it.
        """
        log = self.log
        sent, last = log.entries(after, limit) if log is not None else ([], after)
        row = {
            "number": self.number,
            "topic": self.topic,
            "client": self.client,
            "path": self.path,
            "tag": self.tag,
            "opened": self.since,
            "closed": self.closed,
            "last_event_id": self.last_event_id,
            "ending": self._ending_shown(),
            "sent": sent,
            "sent_total": log.total if log is not None else 0,
        }
        return row, last, log is not None and last < log.total


class Hub:
    """The registry of open subscriptions: `/api/streams`, lab faults, shutdown."""

    def __init__(self, keep_closed: int = 0, sent_bytes: int = 32 << 20) -> None:
        self._subs: dict[int, Subscription] = {}
        # What every kept sent log may hold in all (lab on; see server.sentlog).
        self.sent_budget = SentBudget(sent_bytes)
        self._numbers = itertools.count(1)
        self.closing = False  # the server is shutting down: refuse new streams
        # The last closed subscriptions (lab: what they sent), newest last.
        self.closed: deque[Subscription] = deque(maxlen=keep_closed)

    def new_number(self) -> int:
        return next(self._numbers)

    def add(self, sub: Subscription) -> None:
        self._subs[sub.number] = sub

    def remove(self, sub: Subscription) -> None:
        if self._subs.pop(sub.number, None) is not None:
            sub.closed = time.time()
            if self.closed.maxlen:
                # Kept for its sent log only: let go of its writer (and the replay
                # chunks that writer holds).
                sub.interrupt_write = None
                if len(self.closed) == self.closed.maxlen:
                    old = self.closed[0]  # the append below lets go of it
                    if old.log is not None:
                        old.log.forget(old.number)
                self.closed.append(sub)
                if sub.log is not None:
                    sub.log.close(sub.number)
            elif sub.log is not None:
                sub.log.forget(sub.number)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(tuple(self._subs.values()))

    def __len__(self) -> int:
        return len(self._subs)

    def on_topic(self, topic: str) -> Iterator[Subscription]:
        return (s for s in self if s.topic == topic)

    def end_all(self, ending: SubscriptionEnd) -> int:
        subs = tuple(self)
        for sub in subs:
            sub.end(ending)
        return len(subs)

    def shutdown(self) -> int:
        self.closing = True
        return self.end_all(SubscriptionEnd.SHUTDOWN)

    async def watch(self, ping_s: float, send_timeout_s: float) -> None:
        """The watchdog, until cancelled: pings idle writers, ends stuck ones.

        Stuck: the client acknowledged nothing of what waits for it, or one
        write stayed blocked, for ``send_timeout_s``.

        One sweep every quarter of the shorter period, so a ping comes between
        ``ping_s`` and 1.25 ``ping_s`` after the last write.
        """
        tick = min(1.0, max(0.005, min(ping_s, send_timeout_s) / 4))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for sub in tuple(self._subs.values()):
                if sub.reader_stopped(now, send_timeout_s):
                    sub.end(SubscriptionEnd.STALLED)
                    if sub.interrupt_write is not None:  # already ending: still
                        sub.interrupt_write()  # a blocked final write must stop
                elif sub.writing_since is not None:
                    if now - sub.writing_since > send_timeout_s:
                        sub.end(SubscriptionEnd.SEND_TIMEOUT)
                        if sub.interrupt_write is not None:  # already ending: still
                            sub.interrupt_write()  # a blocked final write must stop
                elif now - sub.last_write >= ping_s and sub.stalled_until <= now:
                    sub.ping_wanted = True
                    sub.wake.set()
