"""RedisBroker: the `Broker` over Redis Streams, shared by every server process.

Each topic is one stream, ``<prefix>topic:<topic>``, bounded with ``XADD … MAXLEN ~``
(Redis trims whole nodes, so a log keeps at least ``maxlen`` events, a few more at
times).  Event ids are the stream ids: the same on every process reading the stream,
so a client that got an id from one process resumes from it on another.

Live delivery is ONE blocking ``XREAD`` per process, on its own connection, over
every topic some local subscriber follows plus a private wake stream: adding a
topic writes to the wake stream, so the read returns and is issued again with the
new topic set (no cancelled command, no connection per subscriber).  Each event
read is fanned out to the in-process sinks.

Hand-over from replay to live: a subscriber is registered *before* its ``XRANGE``,
buffering what the reader delivers meanwhile; the replay is the range plus the
buffered events past its end, and from then on the reader delivers only ids past
that.  So nothing published in between is lost or sent twice.

When Redis is unreachable, `publish` raises `BrokerUnavailableError` (the publisher
sees it), and every local subscriber is finished: its stream ends cleanly, and a
conforming EventSource client reconnects after ``retry`` with its Last-Event-ID;
the reconnection gets 503 with Retry-After until Redis is back, then resumes where
it was.  Telling clients to stop for good (HTTP 204) would be wrong: the outage is
temporary.  Durability is Redis's: with ``appendonly yes`` a Redis restart keeps the
log; without persistence it empties it, and a resume gets ``replay-gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from server import redis_replies as replies
from server.broker import (
    BrokerUnavailableError,
    Gap,
    Replay,
    StoredEvent,
    UnknownTopicError,
)
from server.redis_replies import Field, as_text, entries, parse_id, positions
from server.redis_url import mask_url
from server.wire import event_frame

if TYPE_CHECKING:
    from server.broker import Sink

log = logging.getLogger(__name__)

BLOCK_MS = 5_000  # one XREAD waits this long at most, then is issued again
READ_COUNT = 1_000  # entries per stream per XREAD
RECONNECT_S = 0.5  # pause between attempts while Redis is unreachable
CLOSED = b"closed"  # field of the entry that closes a topic (no event)


@dataclass(slots=True)
class _Reg:
    """One local subscriber: events up to ``after`` were sent in its replay.

    While its replay is being read, ``buffer`` keeps what the reader delivers.
    """

    after: tuple[int, int] = (0, 0)
    buffer: list[StoredEvent] | None = field(default_factory=list)


@dataclass(slots=True)
class _Topic:
    maxlen: int
    closed: bool = False
    size: int = 0  # bytes this process published to it (retained_bytes' estimate)
    cursor: str | None = None  # the reader's position; None: not followed
    sinks: dict[Sink, _Reg] = field(default_factory=dict)
    borrowed: bool = False  # another process's topic, read (or ended) here


class RedisBroker:
    """Topics as Redis streams under ``prefix``; see the module docstring."""

    def __init__(self, url: str, prefix: str = "sse-viewer:") -> None:
        self._url = url
        self._prefix = prefix
        self._run_id = secrets.token_hex(4)
        self._topics: dict[str, _Topic] = {}
        self._published = 0
        self._wake_key = f"{prefix}wake:{self._run_id}"
        self._wake_cursor = "0-0"
        self._error: str | None = None
        self._reader: asyncio.Task[None] | None = None
        # One retry: a pooled connection left over from before a Redis restart.
        self._cmd = aioredis.Redis.from_url(
            url,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
            retry=Retry(NoBackoff(), 1),
        )
        # The blocking read's own connection; its timeout outlasts BLOCK_MS.
        self._read = aioredis.Redis.from_url(
            url,
            socket_timeout=BLOCK_MS / 1000 + 5,
            socket_connect_timeout=2.0,
            single_connection_client=True,
            retry=Retry(NoBackoff(), 0),  # an outage is handled by `_lost`, at once
        )

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def published(self) -> int:
        return self._published

    async def describe(self) -> dict[str, object]:
        """Kind, URL (password masked), key prefix and whether Redis answers now."""
        try:
            await self._cmd.ping()
        except RedisError as exc:
            self._error = str(exc) or type(exc).__name__
        else:
            self._error = None
        return {
            "kind": "redis",
            "url": mask_url(self._url),
            "prefix": self._prefix,
            "state": "unreachable" if self._error else "connected",
            "error": self._error,
        }

    def _key(self, topic: str) -> str:
        return f"{self._prefix}topic:{topic}"

    def _topic(self, topic: str) -> _Topic:
        try:
            return self._topics[topic]
        except KeyError:
            raise UnknownTopicError(topic) from None

    async def open_topic(
        self, topic: str, maxlen: int, max_bytes: int | None = None
    ) -> None:
        """Bounded by count in Redis (``max_bytes`` is the in-memory broker's)."""
        if topic in self._topics:
            raise ValueError(f"topic {topic!r} is already open")
        self._topics[topic] = _Topic(max(1, maxlen))

    def borrow_topic(self, topic: str, maxlen: int) -> None:
        """Read (or end) another process's topic here: a job run by another
        worker.  Forgotten locally once its last local subscriber leaves."""
        if topic not in self._topics:
            self._topics[topic] = _Topic(max(1, maxlen), borrowed=True)

    def release_topic(self, topic: str) -> None:
        """Forget a borrowed topic here if nobody local follows it (Redis keeps it)."""
        t = self._topics.get(topic)
        if t is not None and t.borrowed and not t.sinks:
            del self._topics[topic]

    def stream_key(self, topic: str) -> str:
        """The Redis key of ``topic``'s stream."""
        return self._key(topic)

    async def publish(self, topic: str, type_: str, data: str) -> StoredEvent:
        t = self._topic(topic)
        if t.closed:
            raise ValueError(f"topic {topic!r} is closed")
        now = time.time()
        fields: dict[Field, Field] = {b"type": type_, b"data": data, b"t": repr(now)}
        try:
            raw = await self._cmd.xadd(
                self._key(topic),
                fields,
                maxlen=t.maxlen,
                approximate=True,
            )
        except RedisError as exc:
            self._error = str(exc) or type(exc).__name__
            raise BrokerUnavailableError(f"Redis: {self._error}") from exc
        self._error = None
        event_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        event = StoredEvent(
            event_id, type_, data, event_frame(type_, data, event_id), 0, now
        )
        t.size += event.size
        self._published += 1
        return event

    async def close_topic(self, topic: str) -> None:
        t = self._topic(topic)
        """Mark the end in the stream: readers finish after the events before it."""
        t.closed = True
        try:
            await self._cmd.xadd(self._key(topic), {CLOSED: b"1"})
        except RedisError:  # no reader will see the mark: end them here
            self._finish(t)

    async def delete_topic(self, topic: str) -> None:
        t = self._topics.pop(topic, None)
        if t is not None:
            self._finish(t)
            with contextlib.suppress(RedisError):  # Redis bounds it anyway
                await self._cmd.delete(self._key(topic))

    def _finish(self, t: _Topic) -> None:
        for sink in tuple(t.sinks):
            sink.finish()
        t.sinks.clear()
        t.cursor = None

    # -- reading -----------------------------------------------------------------------

    def _event(self, raw_id: bytes, fields: dict[bytes, bytes]) -> StoredEvent | None:
        if CLOSED in fields:
            return None
        event_id = raw_id.decode()
        type_ = fields.get(b"type", b"message").decode()
        data = fields.get(b"data", b"").decode()
        published = float(fields.get(b"t", b"0"))
        return StoredEvent(
            event_id, type_, data, event_frame(type_, data, event_id), 0, published
        )

    async def _info(self, topic: str) -> dict[str, object] | None:
        try:
            info: dict[str, object] = await self._cmd.xinfo_stream(self._key(topic))
        except ResponseError:  # no such key: nothing published yet
            return None
        return info

    async def subscribe(
        self, topic: str, sink: Sink, last_event_id: str | None, *, history: bool
    ) -> Replay:
        """Replay after ``last_event_id`` (whole log if ``history``), then live."""
        t = self._topic(topic)
        if t.closed:  # this process closed it: every event is in Redis already
            replay = (await self._replay(t, topic, last_event_id, history))[0]
            self.release_topic(topic)
            return Replay(replay.events, replay.gap, closed=True)
        reg = _Reg()
        t.sinks[sink] = reg  # buffers what the reader delivers during the replay
        try:
            replay, end = await self._replay(t, topic, last_event_id, history)
        except BaseException:
            t.sinks.pop(sink, None)
            self.release_topic(topic)
            raise
        if replay.closed:
            t.sinks.pop(sink, None)
            self.release_topic(topic)
            return replay
        after = parse_id(replay.events[-1].id) if replay.events else end
        after = after or end
        buffered = [e for e in reg.buffer or () if (parse_id(e.id) or (0, 0)) > after]
        if buffered:
            after = parse_id(buffered[-1].id) or after
        reg.after, reg.buffer = after, None
        self._error = None
        if t.cursor is None:  # a new topic for the reader: from where the replay ends
            t.cursor = f"{after[0]}-{after[1]}"
            await self._wake()
        return Replay([*replay.events, *buffered], replay.gap, False)

    async def _replay(
        self, t: _Topic, topic: str, last_event_id: str | None, history: bool
    ) -> tuple[Replay, tuple[int, int]]:
        """The replay, and the stream's last id before it was read."""
        try:
            info = await self._info(topic)
            start: str | None = None  # XRANGE min; None: no replay
            gap: Gap | None = None
            end_id, trimmed_before, deleted = positions(info)
            if last_event_id is None:
                if history:
                    start = "-"
                    if trimmed_before is not None:
                        added = int(str(info.get("entries-added", 0) if info else 0))
                        length = int(str(info.get("length", 0) if info else 0))
                        gap = Gap("", added - length, "evicted")
            else:
                resumed = parse_id(last_event_id)
                if resumed is None or resumed > end_id:
                    start, gap = "-", Gap(last_event_id, None, "unknown")
                else:
                    start = f"({resumed[0]}-{resumed[1]}"
                    at = f"{resumed[0]}-{resumed[1]}"
                    kept = await self._cmd.xrange(self._key(topic), at, at, count=1)
                    if not kept:  # trimmed, or never in this log (an emptied Redis)
                        evicted = resumed < deleted or (
                            trimmed_before is not None and resumed < trimmed_before
                        )
                        reason = "evicted" if evicted else "unknown"
                        start, gap = "-", Gap(last_event_id, None, reason)
            found = (
                entries(await self._cmd.xrange(self._key(topic), min=start, max="+"))
                if start is not None
                else []
            )
        except RedisError as exc:
            self._error = str(exc) or type(exc).__name__
            raise BrokerUnavailableError(f"Redis: {self._error}") from exc
        events: list[StoredEvent] = []
        closed = False
        for raw_id, fields in found:
            event = self._event(raw_id, fields)
            if event is None:
                closed = True
                break
            events.append(event)
        return Replay(events, gap, closed), end_id

    async def _wake(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(), name="redis reader")
            return
        with contextlib.suppress(RedisError):  # the reader sees the outage itself
            await self._cmd.xadd(self._wake_key, {b"w": b"1"}, maxlen=10)
            # A process killed without `aclose` leaves no key behind for long.
            await self._cmd.expire(self._wake_key, 60)

    async def _read_loop(self) -> None:
        while True:
            streams: dict[str, str] = {self._wake_key: self._wake_cursor}
            followed: dict[str, _Topic] = {}
            for name, t in self._topics.items():
                if t.cursor is not None and t.sinks:
                    streams[self._key(name)] = t.cursor
                    followed[self._key(name)] = t
                elif t.cursor is not None:
                    t.cursor = None  # nobody local follows it now
            if not followed:
                self._reader = None
                return
            try:
                answer = await self._read.xread(
                    streams,  # type: ignore[arg-type]  # redis-py: dict[str, str] is fine
                    count=READ_COUNT,
                    block=BLOCK_MS,
                )
            except RedisError as exc:
                await self._lost(exc)
                continue
            self._error = None
            for raw_key, raw_entries in replies.streams(answer):
                got = entries(raw_entries)
                key = raw_key.decode()
                if key == self._wake_key:
                    self._wake_cursor = got[-1][0].decode()
                    continue
                t = followed[key]
                for raw_id, fields in got:
                    t.cursor = raw_id.decode()
                    self._fan_out(t, raw_id, fields)

    def _fan_out(self, t: _Topic, raw_id: bytes, fields: dict[bytes, bytes]) -> None:
        event = self._event(raw_id, fields)
        if event is None:
            self._finish(t)
            return
        at = parse_id(event.id) or (0, 0)
        for sink, reg in tuple(t.sinks.items()):
            if reg.buffer is not None:
                reg.buffer.append(event)
            elif at > reg.after:
                sink.deliver(event)

    async def _lost(self, exc: RedisError) -> None:
        """Redis went away: end every local subscriber (clients retry), wait for it."""
        self._error = str(exc) or type(exc).__name__
        log.warning("Redis unreachable (%s): closing local subscribers", self._error)
        for t in self._topics.values():
            self._finish(t)
        await asyncio.sleep(RECONNECT_S)

    def unsubscribe(self, topic: str, sink: Sink) -> None:
        t = self._topics.get(topic)
        if t is not None:
            t.sinks.pop(sink, None)
            self.release_topic(topic)

    def retained_bytes(self, topic: str) -> int:
        """What this process published to it: Redis holds the log itself."""
        t = self._topics.get(topic)
        return t.size if t is not None else 0

    async def forget(self) -> int:
        """Empty every local topic's stream (lab); resumes then see a gap."""
        dropped = 0
        try:
            for name in self._topics:
                dropped += int(await self._cmd.xtrim(self._key(name), maxlen=0))
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc
        return dropped

    async def published_between(
        self, topic: str, since: float, until: float
    ) -> tuple[list[StoredEvent], bool]:
        self._topic(topic)
        lo, hi = f"{int(since * 1000)}-0", f"{int(until * 1000) + 1}-0"
        try:
            found = entries(await self._cmd.xrange(self._key(topic), min=lo, max=hi))
            info = await self._info(topic)
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc
        events = [
            e
            for raw_id, fields in found
            if (e := self._event(raw_id, fields)) is not None
            and since <= e.published <= until
        ]
        deleted = parse_id(as_text((info or {}).get("max-deleted-entry-id"))) or (0, 0)
        return events, deleted < (int(since * 1000), 0)

    async def aclose(self) -> None:
        """Stop the reader and close both connections."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader})
            self._reader = None
        with contextlib.suppress(RedisError):
            await self._cmd.delete(self._wake_key)
        await self._read.aclose()
        await self._cmd.aclose()
