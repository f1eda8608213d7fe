"""Broker: the event log interface and its in-memory implementation.

A *topic* is a server-side event sequence ("events", "job:<id>").  Publishing appends
to the topic's bounded log and hands the event to every live sink; subscribing
returns what to replay and registers the sink in one step, so nothing published in
between is lost or repeated.  Ids are opaque to everyone but the broker that made
them.  Here an id is ``<run>-<topic>-<n>``: ``run`` is random per process, ``topic``
numbers the topics opened in this run and ``n`` counts the topic's events, so ids
are unique across runs and a resume from an evicted id knows how many it missed.
`server.redis_broker` keeps the same interface over Redis Streams (its ids are the
stream ids, shared by every process): routes never look inside an id.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from server.wire import event_frame

if TYPE_CHECKING:
    from collections.abc import Sequence


EVENT_OVERHEAD = 300  # a StoredEvent, its id, and the headers of its str and bytes


@dataclass(slots=True)
class StoredEvent:
    """One logged event; ``frame`` is its wire form, encoded once for every reader.

    Slotted, not frozen (it is built per event on the publish path); immutable by
    convention.
    """

    id: str
    type: str
    data: str
    frame: bytes
    n: int  # position in its topic, from 0
    published: float  # wall time (time.time()) of the publish, for the lab

    @property
    def size(self) -> int:
        """Bytes it keeps alive, roughly: frame, data and the objects around them."""
        return len(self.frame) + len(self.data) + EVENT_OVERHEAD


@dataclass(frozen=True, slots=True)
class Gap:
    """The id a client resumed from is not in the log: ``lost`` is None when unknown."""

    last_event_id: str
    lost: int | None
    reason: (
        str  # "evicted" (fell out of the bounded log) or "unknown" (other run/topic)
    )


@dataclass(frozen=True, slots=True)
class Replay:
    """What a new subscription sends first: an optional gap, then ``events``."""

    events: Sequence[StoredEvent]
    gap: Gap | None
    closed: bool  # the topic will publish nothing more


class Sink(Protocol):
    """A live reader of a topic (one subscription); both calls must not block."""

    def deliver(self, event: StoredEvent) -> None: ...

    def finish(self) -> None: ...


class UnknownTopicError(KeyError):
    """The topic was never opened, or was deleted."""


class BrokerUnavailableError(RuntimeError):
    """The log's store (Redis) does not answer: nothing was published or replayed."""


class Broker(Protocol):
    """The event log every route goes through."""

    @property
    def run_id(self) -> str: ...

    @property
    def published(self) -> int: ...

    async def open_topic(
        self, topic: str, maxlen: int, max_bytes: int | None = None
    ) -> None: ...

    async def publish(self, topic: str, type_: str, data: str) -> StoredEvent: ...

    async def close_topic(self, topic: str) -> None: ...

    async def delete_topic(self, topic: str) -> None: ...

    async def subscribe(
        self, topic: str, sink: Sink, last_event_id: str | None, *, history: bool
    ) -> Replay: ...

    def unsubscribe(self, topic: str, sink: Sink) -> None: ...

    def retained_bytes(self, topic: str) -> int:
        """Bytes the topic's log keeps alive now (0: no such topic); see `size`."""
        ...

    async def forget(self) -> int: ...

    async def describe(self) -> dict[str, object]:
        """What `/api/info` shows: ``kind``, ``state`` and where the log lives."""
        ...

    async def aclose(self) -> None: ...

    async def published_between(
        self, topic: str, since: float, until: float
    ) -> tuple[list[StoredEvent], bool]:
        """Logged events published in [since, until] (wall s), and whether that is all.

        False when part of the span already fell out of the bounded log (or the lab
        forgot it): the answer then lacks events that were published.
        """
        ...


@dataclass(slots=True)
class _Topic:
    number: int
    log: deque[StoredEvent]
    max_bytes: int | None = None  # the log's bound in bytes, besides its count
    size: int = 0  # bytes the events in the log keep alive (StoredEvent.size)
    next_n: int = 0
    closed: bool = False
    # Publish wall time of the newest event no longer in the log (0: none yet).
    evicted_until: float = 0.0
    sinks: set[Sink] = field(default_factory=set)

    def first_n(self) -> int:
        return self.log[0].n if self.log else self.next_n


class MemoryBroker:
    """Bounded in-memory logs, one per topic; one process, one run."""

    def __init__(self, run_id: str | None = None) -> None:
        self._run_id = run_id or secrets.token_hex(4)
        self._topics: dict[str, _Topic] = {}
        self._opened = 0
        self._published = 0

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def published(self) -> int:
        """Events published since start, over all topics (for events/s)."""
        return self._published

    async def open_topic(
        self, topic: str, maxlen: int, max_bytes: int | None = None
    ) -> None:
        """A bounded log: at most ``maxlen`` events and ``max_bytes`` bytes kept.

        The newest event is always kept, even when it alone is over ``max_bytes``.
        """
        if topic in self._topics:
            raise ValueError(f"topic {topic!r} is already open")
        log: deque[StoredEvent] = deque(maxlen=max(1, maxlen))
        self._topics[topic] = _Topic(self._opened, log, max_bytes)
        self._opened += 1

    def _topic(self, topic: str) -> _Topic:
        try:
            return self._topics[topic]
        except KeyError:
            raise UnknownTopicError(topic) from None

    async def publish(self, topic: str, type_: str, data: str) -> StoredEvent:
        t = self._topic(topic)
        if t.closed:
            raise ValueError(f"topic {topic!r} is closed")
        event_id = f"{self._run_id}-{t.number}-{t.next_n}"
        event = StoredEvent(
            event_id,
            type_,
            data,
            event_frame(type_, data, event_id),
            t.next_n,
            time.time(),
        )
        t.next_n += 1
        if len(t.log) == t.log.maxlen:  # the append below evicts the oldest
            t.evicted_until = t.log[0].published
            t.size -= t.log[0].size
        t.log.append(event)
        t.size += event.size
        if t.max_bytes is not None:
            while t.size > t.max_bytes and len(t.log) > 1:
                old = t.log.popleft()
                t.evicted_until = old.published
                t.size -= old.size
        self._published += 1
        for sink in tuple(t.sinks):
            sink.deliver(event)
        return event

    async def close_topic(self, topic: str) -> None:
        t = self._topic(topic)
        t.closed = True
        for sink in tuple(t.sinks):
            sink.finish()
        t.sinks.clear()

    async def delete_topic(self, topic: str) -> None:
        t = self._topics.pop(topic, None)
        if t is not None:
            for sink in tuple(t.sinks):
                sink.finish()

    async def subscribe(
        self, topic: str, sink: Sink, last_event_id: str | None, *, history: bool
    ) -> Replay:
        """Replay after ``last_event_id`` (whole log if ``history``), then live."""
        t = self._topic(topic)
        gap: Gap | None = None
        if last_event_id is None:
            events: Sequence[StoredEvent] = list(t.log) if history else ()
            if history and t.first_n() > 0:
                gap = Gap("", t.first_n(), "evicted")
        else:
            events, gap = self._after(t, last_event_id)
        if not t.closed:
            t.sinks.add(sink)
        return Replay(events, gap, t.closed)

    def _after(
        self, t: _Topic, last_event_id: str
    ) -> tuple[list[StoredEvent], Gap | None]:
        n = self._position(t, last_event_id)
        first = t.first_n()
        if n is None or n >= t.next_n:
            return list(t.log), Gap(last_event_id, None, "unknown")
        if n + 1 < first:
            return list(t.log), Gap(last_event_id, first - n - 1, "evicted")
        start = bisect.bisect_right(t.log, n, key=lambda e: e.n)
        return list(itertools.islice(t.log, start, None)), None

    def _position(self, t: _Topic, last_event_id: str) -> int | None:
        run, _, rest = last_event_id.partition("-")
        number, _, n = rest.partition("-")
        if (
            run != self._run_id
            or number != str(t.number)
            or not (n.isascii() and n.isdigit())
            or len(n) > len(str(t.next_n))  # past anything published (and int()'s
        ):  # 4,300-digit limit, a ValueError): a resume from it is a gap, not a 500
            return None
        return int(n)

    def unsubscribe(self, topic: str, sink: Sink) -> None:
        t = self._topics.get(topic)
        if t is not None:
            t.sinks.discard(sink)

    async def forget(self) -> int:
        """Drop every retained event (lab); counters go on, so resumes see a gap."""
        dropped = 0
        for t in self._topics.values():
            dropped += len(t.log)
            if t.log:
                t.evicted_until = t.log[-1].published
            t.log.clear()
            t.size = 0
        return dropped

    async def published_between(
        self, topic: str, since: float, until: float
    ) -> tuple[list[StoredEvent], bool]:
        t = self._topic(topic)
        events = [e for e in t.log if since <= e.published <= until]
        return events, not t.evicted_until or since > t.evicted_until

    def retained_bytes(self, topic: str) -> int:
        t = self._topics.get(topic)
        return t.size if t is not None else 0

    async def describe(self) -> dict[str, object]:
        return {"kind": "memory", "state": "connected"}

    async def aclose(self) -> None:
        """Nothing to release: the logs are this process's memory."""

    def retained(self, topic: str) -> int:
        """Events the topic's log holds now."""
        return len(self._topic(topic).log)
