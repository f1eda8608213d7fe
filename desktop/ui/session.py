"""One stream as the app sees it: options, state, counters, attempts, its records.

Qt-free, so the bookkeeping is testable without a display.  The controller feeds it
the engine's batches (:meth:`StreamSession.ingest`), which go into the session's
:class:`~desktop.core.store.RecordStore`; the timeline publishes them on its flush
timer.  ``ingest`` is the one per-record loop of the app, kept tight on purpose.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from desktop.core.engine.options import DEFAULT_RETRY_MS
from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    DelaySource,
    Error,
    Event,
    Notice,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
    RetryField,
)
from desktop.core.engine.state import State
from desktop.core.insight.advice import Advisor
from desktop.core.insight.notice_cap import NOTICES_PER_KIND, NoticeCap, Verdict
from desktop.core.insight.rates import RateSeries
from desktop.core.raw.log import RawLog
from desktop.core.store import RecordStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.engine.certificate import TLSFailure, TLSInfo
    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import ErrorResponse, Hop, Record


@dataclass(slots=True)
class AttemptRow:
    """One connection attempt; mutable while it is the current one."""

    number: int
    url: str
    last_event_id: str
    started_wall: float
    started_at: float
    delay_asked_ms: int | None = None  # what the previous Reconnecting announced
    delay_waited_ms: float | None = None  # what actually passed before this attempt
    status: int | None = None
    ended_at: float | None = None
    outcome: str = "…"
    events: int = 0
    redirects: tuple[Hop, ...] = ()  # followed before the response
    response: ErrorResponse | None = None  # a response that was not a stream

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(slots=True, eq=False)
class StreamSession:
    """Everything the app knows about one stream.  Only the UI thread touches it."""

    options: StreamOptions
    store: RecordStore = field(default_factory=RecordStore)  # the rows, bounded
    state: State | None = None  # the engine's state; None before the first attempt
    failed: bool = False
    message: str = ""  # the latest thing worth telling the user (closed reason, error)
    attempt: int = 0
    next_attempt_at: float | None = None  # monotonic time of the next attempt
    retry_ms: int = DEFAULT_RETRY_MS
    retry_source: DelaySource = DelaySource.DEFAULT
    last_event_id: str = ""
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None  # the current attempt's proxy, password masked
    http_version: str | None = None  # negotiated by the open connection
    tls: TLSInfo | None = None  # the open https connection's TLS session
    tls_failure: TLSFailure | None = None  # closed by TLS: what it refused
    received_bytes: int = 0
    events: int = 0
    comments: int = 0
    errors: int = 0
    last_byte_at: float | None = None
    types: set[str] = field(default_factory=set)
    attempts: list[AttemptRow] = field(default_factory=list)
    paused: bool = False  # the timeline holds new rows back (they wait in the store)
    rates: RateSeries = field(default_factory=RateSeries)  # for the rate plot
    raw: RawLog = field(default_factory=RawLog)  # bytes as received, bounded
    advisor: Advisor = field(default_factory=Advisor)  # the notices bar's warnings
    _reconnecting: Reconnecting | None = field(default=None, init=False)
    _notice_rows: NoticeCap = field(default_factory=NoticeCap, init=False)
    _rate: deque[tuple[float, int]] = field(
        default_factory=lambda: deque(maxlen=8), init=False
    )

    def __post_init__(self) -> None:
        self.reset_options(self.options)

    def reset_options(self, options: StreamOptions) -> None:
        """Start over with new options (a new connect): counters of the old run stay."""
        self.options = options
        self.last_event_id = options.last_event_id
        if options.retry_ms is not None:
            self.retry_ms, self.retry_source = options.retry_ms, DelaySource.OPTION
        else:
            self.retry_ms, self.retry_source = DEFAULT_RETRY_MS, DelaySource.DEFAULT
        self.failed = False
        self.message = ""
        self.tls_failure = None
        self.next_attempt_at = None
        self.advisor.reset()  # warnings are about this run of the stream

    def start_over(self) -> None:
        """A new session of the stream (a manual connect): counters, rates and the
        attempt list start from zero, so no attempt number is listed twice.  The
        store's rows stay; the controller clears them when the URL changed."""
        self.state, self.attempt, self.failed = None, 0, False
        self.status, self.headers = None, ()
        self.received_bytes = self.events = self.comments = self.errors = 0
        self.last_byte_at = None
        self.attempts.clear()  # in place: the attempts model reads this list
        self.rates = RateSeries()
        self._reconnecting = None
        self._rate.clear()

    # -- the hot path ----------

    def ingest(self, batch: Sequence[Record]) -> None:
        """Account for one network read's records and keep its rows in the store."""
        intake = self.store.intake
        add_type = self.types.add
        events = 0
        last_event: Event | None = None
        record: Record | None = None
        before = self.events
        for record in batch:
            cls = record.__class__
            if cls is Event:
                events += 1
                last_event = record  # type: ignore[assignment]
                add_type(record.type)  # type: ignore[union-attr]
                if record.retry is not None:  # type: ignore[union-attr]
                    self.retry_ms = record.retry  # type: ignore[union-attr]
                    self.retry_source = DelaySource.SERVER
            elif cls is RawChunk:
                self.raw.add(record)  # type: ignore[arg-type]
                self.received_bytes += len(record.data)  # type: ignore[union-attr]
                self.last_byte_at = record.at
                continue
            elif cls is Comment:
                self.comments += 1
            else:
                if events:
                    self._count_events(events)
                    events = 0
                self._on_state(record)
                if cls is Notice:  # the advisor counted it; a row up to the cap
                    row = self._notice_row(record)  # type: ignore[arg-type]
                    if row is not None:
                        intake.append(row)
                    continue
            intake.append(record)  # type: ignore[arg-type]
        self.store.cap()
        if events:
            self._count_events(events)
        if last_event is not None:
            self.last_event_id = last_event.id
            advisor = self.advisor
            if advisor.wants_ids:  # a connection's first read: all its ids, once
                ids = [r.id for r in batch if r.__class__ is Event]
                advisor.ids(ids, last_event.wall)
            else:
                advisor.ids((last_event.id,), last_event.wall)
        if record is not None:  # once per read, from the running totals: O(1)
            self.rates.update(
                record.at, record.wall, self.events, self.received_bytes, self.comments
            )
            self.advisor.read(record.at, record.wall, self.events - before, self.types)

    def _notice_row(self, notice: Notice) -> Notice | None:
        """The timeline row for ``notice``: the first few of a kind per connection
        (desktop/core/insight/notice_cap.py), the last of them saying so; the
        notices bar counts all."""
        verdict = self._notice_rows.admit(notice.kind)
        if verdict is Verdict.SHOW:
            return notice
        if verdict is Verdict.HIDE:
            return None
        more = (
            f"{notice.detail} (the {NOTICES_PER_KIND}th on this connection: the "
            "notices bar counts the rest, the timeline does not list them)"
        )
        return replace(notice, detail=more)

    def _count_events(self, n: int) -> None:
        self.events += n
        if self.attempts:
            self.attempts[-1].events += n

    def _on_state(self, record: Record) -> None:
        self.advisor.record(record)  # state records and Notices only: rare
        if isinstance(record, RetryField):
            self.retry_ms, self.retry_source = record.ms, DelaySource.SERVER
        elif isinstance(record, Connecting):
            self._on_connecting(record)
        elif isinstance(record, Open):
            self.state = State.OPEN
            self.rates.connected(record.at)
            self.status, self.headers = record.status, record.headers
            self.http_version = record.http_version
            self.tls = record.tls
            self.message = ""
            if self.attempts:
                self.attempts[-1].status = record.status
                self.attempts[-1].outcome = "open"
                self.attempts[-1].redirects = record.redirects
        elif isinstance(record, Reconnecting):
            self.state = State.RECONNECTING
            self.rates.disconnected(record.at)
            self.retry_ms, self.retry_source = record.delay_ms, record.delay_source
            self.next_attempt_at = record.at + record.delay_ms / 1000
            self.message = record.reason
            self._reconnecting = record
            self._responded(record.response, record.at, record.wall)
            self._end_attempt(record.at, record.reason)
        elif isinstance(record, Closed):
            self.state = State.CLOSED
            self.rates.disconnected(record.at)
            self.failed = record.failed
            self.message = record.reason
            self.tls_failure = record.tls
            self.next_attempt_at = None
            if record.status is not None:
                self.status = record.status
            self._responded(record.response, record.at, record.wall)
            self._end_attempt(record.at, record.reason)
        elif isinstance(record, Error):
            self.errors += 1
            self.message = record.message
        # a record type this app does not know yet is kept as a row, nothing more

    def _on_connecting(self, record: Connecting) -> None:
        self.state = State.CONNECTING
        self._notice_rows.end_connection()  # the cap is per connection
        self.attempt = record.attempt
        self.next_attempt_at = None
        self.status, self.headers = None, ()
        self.proxy, self.http_version = record.proxy, None
        self.tls = None
        row = AttemptRow(
            record.attempt, record.url, record.last_event_id, record.wall, record.at
        )
        previous = self._reconnecting
        if previous is not None:
            row.delay_asked_ms = previous.delay_ms
            row.delay_waited_ms = (record.at - previous.at) * 1000
            self._reconnecting = None
        self.attempts.append(row)

    def _responded(
        self, response: ErrorResponse | None, at: float, wall: float
    ) -> None:
        """A response that was not a stream: its status and headers are the
        panel's, its body the Raw tab's (as the connection's bytes)."""
        if response is None:
            return
        self.status, self.headers = response.status, response.headers
        if self.attempts:
            self.attempts[-1].response = response
            self.attempts[-1].redirects = response.redirects
        if response.raw:
            self.raw.add(RawChunk(response.raw, self.attempt, at, wall))
            self.received_bytes += len(response.raw)

    def _end_attempt(self, at: float, outcome: str) -> None:
        if self.attempts and self.attempts[-1].ended_at is None:
            row = self.attempts[-1]
            row.ended_at = at
            row.outcome = outcome if row.status is None else f"open → {outcome}"

    # -- what the UI asks ----------

    def stopped(self, reason: str = Outcome.STOPPED.value) -> None:
        """The task ended without a Closed record (cancelled by the user)."""
        if self.state is State.CLOSED:
            return
        now = time.monotonic()
        self.ingest([Closed(reason, Outcome.STOPPED, False, None, now, time.time())])

    def crashed(self, message: str) -> None:
        """The engine raised: say so as a failed close, keep everything received."""
        now = time.monotonic()
        self.ingest([Closed(message, Outcome.STOPPED, True, None, now, time.time())])

    @property
    def waiting(self) -> int:
        """Rows held back by pause."""
        return self.store.waiting if self.paused else 0

    def rate(self, now: float) -> float:
        """Events per second over the last few seconds (call about twice a second)."""
        samples = self._rate
        samples.append((now, self.events))
        t0, n0 = samples[0]
        return (self.events - n0) / (now - t0) if now > t0 else 0.0

    def countdown(self, now: float) -> float | None:
        """Seconds to the next attempt while reconnecting."""
        if self.state is not State.RECONNECTING or self.next_attempt_at is None:
            return None
        return max(0.0, self.next_attempt_at - now)

    @property
    def running(self) -> bool:
        return self.state in (State.CONNECTING, State.OPEN, State.RECONNECTING)
