"""Lanes: every connection of a client as a segment in time, events as ticks.

The lab draws one lane per client (our app, the naive client, the browser, and
the subscriptions the server saw).  A lane is a list of :class:`Segment`, one per
connection attempt: when it started, its HTTP status, how long it stayed open,
how it ended, the gap to the next attempt (the delay asked against the delay
actually waited) and the ``Last-Event-ID`` it carried.  Times are wall seconds
(records carry ``wall``), so lanes of different clients line up.

Built incrementally by :class:`LaneBuilder` (``feed`` a batch, read ``segments``)
so a live view only pays for what is new.  The inputs from the lab routes are
read through small protocols, so this module needs nothing but records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from desktop.core.engine.records import (
    Closed,
    Connecting,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    Reconnecting,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from desktop.core.engine.records import Record

MAX_TICKS = 20_000  # per lane: more cannot be told apart on screen anyway
_BURST_S = 0.005  # events this close to a resumed connection's first one: one read
_STATUS = re.compile(r"HTTP (\d{3})")


class ConnectionEnd(StrEnum):
    """How a connection ended, as the lanes colour it."""

    OPEN = "open"  # still open (or still connecting)
    SERVER_CLOSED = "server-closed"  # the server ended the response cleanly
    MID_EVENT = "mid-event"  # the connection ended inside an event (discarded)
    TIMEOUT = "timeout"  # stalled until the client's read timeout fired
    NETWORK = "network"  # refused, reset, DNS …
    NO_CONTENT = "no-content"  # HTTP 204: stop for good
    STATUS = "status"  # another HTTP status (401, 503 …)
    CONTENT_TYPE = "content-type"  # 200 but not text/event-stream
    DONE = "done"  # the client had what it wanted (close-on type, count)
    STOPPED = "stopped"  # stopped by the user
    GAVE_UP = "gave-up"  # too many failed attempts
    ERROR = "error"  # a browser's EventSource `error` (no detail in a browser)


ENDING_TEXT: dict[ConnectionEnd, str] = {
    ConnectionEnd.OPEN: "still open",
    ConnectionEnd.SERVER_CLOSED: "the server closed the stream",
    ConnectionEnd.MID_EVENT: "dropped mid-event (the half event was discarded)",
    ConnectionEnd.TIMEOUT: "stalled: nothing arrived until the read timeout fired",
    ConnectionEnd.NETWORK: "a network error",
    ConnectionEnd.NO_CONTENT: "HTTP 204: the server said never reconnect",
    ConnectionEnd.STATUS: "an HTTP error status",
    ConnectionEnd.CONTENT_TYPE: "a response that is not text/event-stream",
    ConnectionEnd.DONE: "the client had what it asked for",
    ConnectionEnd.STOPPED: "stopped by the user",
    ConnectionEnd.GAVE_UP: "the client gave up after too many failures",
    ConnectionEnd.ERROR: "the browser reported an error",
}

_BY_OUTCOME = {
    Outcome.EOF: ConnectionEnd.SERVER_CLOSED,
    Outcome.NETWORK: ConnectionEnd.NETWORK,
    Outcome.TIMEOUT: ConnectionEnd.TIMEOUT,
    Outcome.STATUS: ConnectionEnd.STATUS,
    Outcome.CONTENT_TYPE: ConnectionEnd.CONTENT_TYPE,
    Outcome.NO_CONTENT: ConnectionEnd.NO_CONTENT,
    Outcome.BAD_URL: ConnectionEnd.NETWORK,
    Outcome.BAD_OPTION: ConnectionEnd.NETWORK,
    Outcome.REDIRECTS: ConnectionEnd.NETWORK,
    Outcome.CLOSE_ON: ConnectionEnd.DONE,
    Outcome.COUNT: ConnectionEnd.DONE,
    Outcome.MAX_ATTEMPTS: ConnectionEnd.GAVE_UP,
    Outcome.STOPPED: ConnectionEnd.STOPPED,
}


class Evidence(StrEnum):
    """Why a tick counts as replayed (or not): said in its hover."""

    NONE = "none"  # not replayed
    PUBLISHED = "published"  # the server's publish log dates it before the open
    BURST = "burst"  # no log: it came in the first read of a resumed connection


@dataclass(slots=True)
class Tick:
    """One event on a lane; ``replayed``: re-sent from the server's log on resume."""

    at: float
    id: str
    type: str
    replayed: bool = False
    evidence: Evidence = Evidence.NONE
    published: float | None = None  # the publish wall time, when the log said


WORKER_HEADER = "x-sse-worker"  # which of several server processes answered


@dataclass(slots=True)
class Segment:
    """One connection attempt of a lane; the last one changes while it runs."""

    attempt: int
    started: float
    opened: float | None = None
    ended: float | None = None
    status: int | None = None
    ending: ConnectionEnd = ConnectionEnd.OPEN
    reason: str = ""
    last_event_id: str = ""  # what the request carried
    delay_asked_ms: int | None = None  # the gap before this attempt: asked …
    delay_waited_ms: float | None = None  # … and actually waited
    delay_source: str = ""
    ticks: list[Tick] = field(default_factory=list)
    final: bool = False  # the client stopped for good after it
    worker: str = ""  # the server process that answered (X-SSE-Worker), if said

    @property
    def ending_text(self) -> str:
        text = ENDING_TEXT[self.ending]
        if self.ending is ConnectionEnd.STATUS and self.status is not None:
            text = f"HTTP {self.status}"
        return text


def worker_of(opened: Open) -> str:
    """The worker process a response names (``X-SSE-Worker``), "" when none."""
    for name, value in opened.headers:
        if name.lower() == WORKER_HEADER:
            return value
    return ""


@dataclass(slots=True)
class Lane:
    """One client's connections in time."""

    key: str  # "app", "naive", "browser", "server"
    title: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def span(self) -> tuple[float, float] | None:
        if not self.segments:
            return None
        end = max(s.ended or s.started for s in self.segments)
        for s in self.segments:
            if s.ticks:
                end = max(end, s.ticks[-1].at)
        return self.segments[0].started, end


class PublishedLike(Protocol):
    """An event the server published (desktop.core.lab.client.Published)."""

    @property
    def id(self) -> str: ...
    @property
    def published(self) -> float: ...


class SentLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def sent(self) -> float: ...


class SentLogLike(Protocol):
    """One subscription as the server saw it (desktop.core.lab.client.SentLog)."""

    @property
    def number(self) -> int: ...
    @property
    def opened(self) -> float: ...
    @property
    def closed(self) -> float | None: ...
    @property
    def last_event_id(self) -> str: ...
    @property
    def ending(self) -> str | None: ...
    @property
    def sent(self) -> Sequence[SentLike]: ...


class ObservationLike(Protocol):
    """A browser EventSource observation (lab.client.BrowserObservation)."""

    @property
    def kind(self) -> str: ...
    @property
    def ready_state(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def at(self) -> float: ...


class LaneBuilder:
    """Turns one stream's records into a lane, batch by batch."""

    def __init__(self, key: str, title: str) -> None:
        self.lane = Lane(key, title)
        self._gap: Reconnecting | None = None
        self._published: dict[str, float] = {}
        self._ticks = 0
        self._discarded = False  # the open attempt lost a half event at its end

    @property
    def segments(self) -> list[Segment]:
        return self.lane.segments

    def feed(self, batch: Iterable[Record]) -> None:
        segments = self.lane.segments
        for record in batch:
            cls = record.__class__
            if cls is Event:
                if segments:
                    self._tick(segments[-1], record)  # type: ignore[arg-type]
            elif cls is Connecting:
                self._discarded = False
                self._connecting(record)  # type: ignore[arg-type]
            elif cls is Notice:
                if record.kind is NoticeKind.DISCARDED:  # type: ignore[union-attr]
                    self._discarded = True
            elif cls is Open and segments:
                segments[-1].opened = record.wall
                segments[-1].status = record.status  # type: ignore[union-attr]
                segments[-1].worker = worker_of(record)  # type: ignore[arg-type]
            elif cls is Reconnecting and segments:
                self._gap = record  # type: ignore[assignment]
                self._end(segments[-1], record, final=False)  # type: ignore[arg-type]
            elif cls is Closed and segments:
                self._end(segments[-1], record, final=True)  # type: ignore[arg-type]

    def know_published(self, published: Iterable[PublishedLike]) -> None:
        """Date ticks by the server's publish log: replayed = published before open."""
        known = self._published
        for item in published:
            known[item.id] = item.published
        for segment in self.lane.segments:
            for tick in segment.ticks:
                if tick.published is None and tick.id in known:
                    _date(segment, tick, known[tick.id])

    # -- records ----------

    def _connecting(self, record: Connecting) -> None:
        segment = Segment(
            record.attempt, record.wall, last_event_id=record.last_event_id
        )
        gap = self._gap
        if gap is not None:
            segment.delay_asked_ms = gap.delay_ms
            segment.delay_waited_ms = (record.wall - gap.wall) * 1000
            segment.delay_source = gap.delay_source.value
            self._gap = None
        self.lane.segments.append(segment)

    def _end(
        self, segment: Segment, record: Reconnecting | Closed, *, final: bool
    ) -> None:
        if segment.ended is not None:
            return
        segment.ended = record.wall
        segment.reason = record.reason
        segment.final = final
        ending = _BY_OUTCOME.get(record.outcome, ConnectionEnd.NETWORK)
        if ending in (ConnectionEnd.SERVER_CLOSED, ConnectionEnd.NETWORK) and (
            self._discarded or "unfinished event" in record.reason
        ):
            # A FIN inside a chunked body is a transport error to httpx, a clean
            # EOF otherwise: either way the decoder's notice says half an event
            # was lost, which is what the lane should tell.
            ending = ConnectionEnd.MID_EVENT
        segment.ending = ending
        status = record.status if isinstance(record, Closed) else None
        if status is None and record.outcome is Outcome.STATUS:
            match = _STATUS.search(record.reason)
            status = int(match.group(1)) if match else None
        if record.outcome is Outcome.NO_CONTENT:
            status = 204
        if status is not None:
            segment.status = status

    def _tick(self, segment: Segment, event: Event) -> None:
        if self._ticks >= MAX_TICKS:  # more cannot be told apart on screen
            return
        self._ticks += 1
        tick = Tick(event.wall, event.id, event.type)
        published = self._published.get(event.id) if event.id else None
        if published is not None:
            _date(segment, tick, published)
        elif segment.last_event_id and _in_first_burst(segment, event.wall):
            # No publish log for this id: the first read after a resume is the
            # server's replay (it answers a Last-Event-ID from its log at once).
            tick.replayed, tick.evidence = True, Evidence.BURST
        segment.ticks.append(tick)


def _in_first_burst(segment: Segment, wall: float) -> bool:
    ticks = segment.ticks
    if not ticks:
        return True
    first = ticks[0]
    return first.evidence is Evidence.BURST and wall - first.at <= _BURST_S


def _date(segment: Segment, tick: Tick, published: float) -> None:
    tick.published = published
    # Published before the request even started: only the log can have sent it.
    # (One published while the request was on its way is counted live.)
    if published < segment.started:
        tick.replayed, tick.evidence = True, Evidence.PUBLISHED
    else:
        tick.replayed, tick.evidence = False, Evidence.NONE


def lane_of(
    key: str,
    title: str,
    records: Iterable[Record],
    published: Iterable[PublishedLike] = (),
) -> Lane:
    """A whole lane at once (export, tests)."""
    builder = LaneBuilder(key, title)
    builder.know_published(published)
    builder.feed(records)
    return builder.lane


def server_lane(subscriptions: Iterable[SentLogLike], title: str = "server") -> Lane:
    """The subscriptions the server saw, in the order they opened."""
    lane = Lane("server", title)
    ordered = sorted(subscriptions, key=lambda s: (s.opened, s.number))
    for number, sub in enumerate(ordered, 1):
        segment = Segment(
            number,
            sub.opened,
            opened=sub.opened,
            ended=sub.closed,
            status=200,
            last_event_id=sub.last_event_id,
        )
        segment.reason = f"subscription #{sub.number}"
        if sub.closed is not None:
            segment.ending = _SERVER_ENDINGS.get(
                sub.ending or "", ConnectionEnd.SERVER_CLOSED
            )
            if sub.ending:
                segment.reason += f" ended: {sub.ending}"
        segment.ticks = [Tick(s.sent, s.id, s.type) for s in sub.sent[-MAX_TICKS:]]
        lane.segments.append(segment)
    return lane


_SERVER_ENDINGS = {
    "gone": ConnectionEnd.SERVER_CLOSED,
    "dropped": ConnectionEnd.SERVER_CLOSED,
    "cut": ConnectionEnd.MID_EVENT,
    "finished": ConnectionEnd.DONE,
    "overflow": ConnectionEnd.NETWORK,
    "send-timeout": ConnectionEnd.NETWORK,
    "shutdown": ConnectionEnd.SERVER_CLOSED,
}

_CONNECTING, _OPEN, _CLOSED = 0, 1, 2  # EventSource.readyState


def browser_lane(
    observations: Iterable[ObservationLike], title: str = "browser"
) -> Lane:
    """A browser EventSource's story from the page's open/error/message posts.

    A browser shows no HTTP status and no Last-Event-ID; an ``error`` with
    readyState CONNECTING means it will reconnect, CLOSED that it gave up.
    """
    lane = Lane("browser", title)
    segments = lane.segments
    last_id = ""
    pending_gap: float | None = None
    for obs in sorted(observations, key=lambda o: o.at):
        current = segments[-1] if segments else None
        if obs.kind == "open":
            segment = Segment(len(segments) + 1, obs.at, opened=obs.at, status=200)
            segment.last_event_id = last_id
            if pending_gap is not None:
                segment.delay_waited_ms = (obs.at - pending_gap) * 1000
                pending_gap = None
            segments.append(segment)
        elif obs.kind == "message":
            if current is None or current.ended is not None:
                current = Segment(len(segments) + 1, obs.at, opened=obs.at, status=200)
                segments.append(current)
            current.ticks.append(Tick(obs.at, obs.id, obs.type or "message"))
            if obs.id:
                last_id = obs.id
        elif obs.kind == "error":
            if current is None or current.ended is not None:
                # an error before any open: a failed attempt of its own
                current = Segment(len(segments) + 1, obs.at)
                segments.append(current)
            current.ended = obs.at
            current.ending = ConnectionEnd.ERROR
            gave_up = obs.ready_state == _CLOSED
            current.final = gave_up
            current.reason = (
                "error; readyState CLOSED: the browser gave up for good"
                if gave_up
                else "error; readyState CONNECTING: the browser will reconnect"
            )
            pending_gap = None if gave_up else obs.at
    return lane


def match_subscriptions(
    segments: Sequence[Segment],
    subscriptions: Iterable[SentLogLike],
    slack_s: float = 0.25,
) -> list[SentLogLike | None]:
    """For each opened segment, the server subscription it became (by time).

    A subscription opens between the client's request and its ``Open``; both
    clocks are this machine's.  Segments that never opened get None.
    """
    free = sorted(subscriptions, key=lambda s: s.opened)
    result: list[SentLogLike | None] = []
    for segment in segments:
        found: SentLogLike | None = None
        if segment.opened is not None:
            near = [
                sub
                for sub in free
                if segment.started - slack_s <= sub.opened <= segment.opened + slack_s
            ]
            # Another client may reconnect at the same moment (the naive one
            # after a drop): the Last-Event-ID the request carried tells them apart.
            same = [sub for sub in near if sub.last_event_id == segment.last_event_id]
            found = (same or near)[0] if near else None
        if found is not None:
            free.remove(found)
        result.append(found)
    return result


def lanes_span(lanes: Iterable[Lane]) -> tuple[float, float] | None:
    spans = [span for lane in lanes if (span := lane.span) is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)
