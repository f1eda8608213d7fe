"""Doctor's probe: runs the engine against a server on purpose and keeps what it saw.

Connections, each an ``EventStream`` that never reconnects by itself (doctor
decides every reconnect, and says so):

- the **watch**: the stream as a client sees it for ``duration_s``; when the
  server ends it early, doctor reconnects at once with the last id, as a browser
  would after ``retry``, to see whether the server ends it (204) or goes on;
- **resume**: a second client reads a few events, drops on purpose and
  reconnects with its last id; what follows is compared with the watch;
- **bad id**: a connection with a malformed ``Last-Event-ID``;
- **CORS**: a connection with an ``Origin`` of another site, as a page's
  ``EventSource`` makes it.

The watch's first answer comes first; the others start only once it was a
stream, and run beside the watch so that the whole takes ``duration_s``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from desktop.core.doctor.checks import CATALOG, selected
from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Error,
    Event,
    Notice,
    Open,
    Outcome,
    RawChunk,
    RetryField,
)
from desktop.core.engine.stream import EventStream
from desktop.core.insight.advice import Advisor

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import Record

DEFAULT_DURATION_S = 20.0
# Valid in a header (no control character), yet no server's id: slashes,
# quotes, a percent escape of NUL, spaces.
BAD_ID = "doctor: not/an id %00 '\"?"
# RFC 2606 reserves .invalid: no page is ever served from this origin.
CORS_ORIGIN = "https://doctor.invalid"
RESUME_AFTER = 2  # events with an id the resume client reads before its drop
RESUME_EVENTS = 3  # new events it reads after the reconnect
MIN_RESUME_S = 2.0  # the reconnected client's least watch, past the deadline
END_GRACE_S = 1.0  # a reconnect after the server's end is watched this long
MAX_RECONNECTS = 5  # the watch's reconnects after the server ends it


class Stage(StrEnum):
    """What the probe has finished (the card fills in as they come)."""

    HEAD = "head"  # the watch's first answer: a stream or not
    CORS = "cors"
    BAD_ID = "bad-id"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: how long to watch, whether to reconnect on purpose, which
    checks (``--check`` prefixes; empty: all)."""

    duration_s: float = DEFAULT_DURATION_S
    # None: only when the request is a GET (repeating a POST has effects).
    reconnect_tests: bool | None = None
    checks: tuple[str, ...] = ()

    def wants(self, prefix: str) -> bool:
        """Whether any selected check starts with ``prefix``."""
        return any(c.startswith(prefix) and selected(c, self.checks) for c in CATALOG)


@dataclass(slots=True)
class Attempt:
    """One connection as doctor saw it (times: ``time.monotonic()``)."""

    label: str  # watch, resume-drop, resume, bad-id, cors
    sent_id: str  # the Last-Event-ID it sent
    connecting_at: float = 0.0
    open: Open | None = None
    closed: Closed | None = None  # how it ended, when the server ended it
    stopped_at: float | None = None  # doctor ended it (enough seen, or time)
    first_byte_at: float | None = None
    reads: list[tuple[float, int]] = field(default_factory=list)  # at, events
    events: list[Event] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    retries: list[RetryField] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)

    @property
    def ended_at(self) -> float:
        if self.closed is not None:
            return self.closed.at
        return self.stopped_at or time.monotonic()

    @property
    def server_ended(self) -> bool:
        """The server (or the network) ended an open stream, not doctor."""
        return (
            self.open is not None
            and self.closed is not None
            and self.closed.outcome in (Outcome.EOF, Outcome.NETWORK, Outcome.TIMEOUT)
        )

    @property
    def last_id(self) -> str:
        """The last event ID in force when it ended (a browser sends it next)."""
        return self.events[-1].id if self.events else self.sent_id

    def take(self, batch: list[Record]) -> None:
        events = 0
        read_at: float | None = None
        for record in batch:
            if isinstance(record, Event):
                self.events.append(record)
                events += 1
            elif isinstance(record, RawChunk):
                read_at = record.at
                if self.first_byte_at is None:
                    self.first_byte_at = record.at
            elif isinstance(record, Comment):
                self.comments.append(record)
            elif isinstance(record, RetryField):
                self.retries.append(record)
            elif isinstance(record, Notice):
                self.notices.append(record)
            elif isinstance(record, Error):
                self.errors.append(record)
            elif isinstance(record, Connecting):
                self.connecting_at = record.at
            elif isinstance(record, Open):
                self.open = record
            elif isinstance(record, Closed):
                self.closed = record
        if read_at is not None:
            self.reads.append((read_at, events))


@dataclass(slots=True)
class Observations:
    """Everything the probe saw, for rules.py to judge."""

    url: str
    method: str
    plan: Plan
    reconnects: bool  # deliberate reconnects allowed
    custom_headers: tuple[str, ...]  # header names the request adds
    started_at: float
    watch: list[Attempt] = field(default_factory=list)
    resume_drop: Attempt | None = None
    resume: Attempt | None = None
    bad_id: Attempt | None = None
    cors: Attempt | None = None
    finished_at: float | None = None
    # The app's warnings, fed the watch's reads (bursts, ids, named events).
    advisor: Advisor = field(default_factory=Advisor)

    @property
    def head(self) -> Attempt | None:
        return self.watch[0] if self.watch else None

    @property
    def watched_s(self) -> float:
        end = self.finished_at or time.monotonic()
        return max(0.0, end - self.started_at)


def reconnects_allowed(options: StreamOptions, plan: Plan) -> bool:
    if plan.reconnect_tests is not None:
        return plan.reconnect_tests
    return options.method.upper() == "GET"


class Probe:
    """Runs the connections of one examination; ``on_stage`` hears each stage."""

    def __init__(
        self,
        options: StreamOptions,
        plan: Plan,
        client: httpx.AsyncClient,
        on_stage: Callable[[Stage, Observations], None] | None = None,
    ) -> None:
        self.options = replace(
            options,
            reconnect=False,
            raw=True,
            comments=True,
            close_on=frozenset(),
            count=None,
            max_attempts=None,
            send_last_event_id=True,
        )
        self.plan = plan
        self.client = client
        self._on_stage = on_stage
        added = {name.lower() for name, _ in options.headers}
        self.obs = Observations(
            url=options.url,
            method=options.method.upper(),
            plan=plan,
            reconnects=reconnects_allowed(options, plan),
            custom_headers=tuple(sorted(added - {"content-type", "accept"})),
            started_at=time.monotonic(),
        )

    def _stage(self, stage: Stage) -> None:
        if self._on_stage is not None:
            self._on_stage(stage, self.obs)

    async def run(self) -> Observations:
        obs, plan = self.obs, self.plan
        obs.started_at = time.monotonic()
        deadline = obs.started_at + plan.duration_s
        answered = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch(deadline, answered))
            await answered.wait()
            self._stage(Stage.HEAD)
            head = obs.head
            if head is not None and head.open is not None:
                if plan.wants("browser.cors") and obs.method == "GET":
                    group.create_task(self._cors())
                if obs.reconnects and plan.wants("reconnect.bad-id"):
                    group.create_task(self._bad_id(deadline))
                if obs.reconnects and plan.wants("reconnect.resume"):
                    group.create_task(self._resume(deadline))
        obs.finished_at = time.monotonic()
        self._stage(Stage.DONE)
        return obs

    async def _connect(
        self,
        label: str,
        sent_id: str,
        until: float,
        stop: Callable[[Attempt], bool] = lambda _: False,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        answered: asyncio.Event | None = None,
        into: list[Attempt] | None = None,
    ) -> Attempt:
        """One connection until ``stop`` says enough, the server ends it, or
        ``until``; added to ``into`` (the watch) before it starts."""
        attempt = Attempt(label, sent_id)
        if into is not None:
            into.append(attempt)
        options = replace(
            self.options,
            last_event_id=sent_id,
            headers=(*self.options.headers, *headers),
        )
        stream = EventStream(options, client=self.client)
        try:
            async with asyncio.timeout(max(0.0, until - time.monotonic())):
                async for batch in stream.batches():
                    attempt.take(batch)
                    if label == "watch":
                        self.obs.advisor.feed(batch)
                    if answered is not None and (attempt.open or attempt.closed):
                        answered.set()
                    if attempt.closed is not None:
                        break
                    if stop(attempt):
                        attempt.stopped_at = time.monotonic()
                        break
        except TimeoutError:
            attempt.stopped_at = time.monotonic()
        finally:
            await stream.aclose()
            if answered is not None:
                answered.set()
        return attempt

    async def _watch(self, deadline: float, answered: asyncio.Event) -> None:
        obs = self.obs
        judge_stream = any(
            self.plan.wants(p) for p in ("timing", "delivery", "reconnect", "spec")
        )

        def head_only(attempt: Attempt) -> bool:
            return not judge_stream and attempt.open is not None

        sent = self.options.last_event_id
        last = await self._connect(
            "watch", sent, deadline, head_only, answered=answered, into=obs.watch
        )
        while (
            last.server_ended
            and obs.reconnects
            and judge_stream
            and len(obs.watch) <= MAX_RECONNECTS
        ):
            # A browser would wait ``retry`` first; doctor goes at once, and
            # watches at least END_GRACE_S for the server's answer.
            until = max(deadline, time.monotonic() + END_GRACE_S)
            last = await self._connect("watch", last.last_id, until, into=obs.watch)
            if last.open is None:
                break

    async def _cors(self) -> None:
        until = time.monotonic() + max(5.0, self.plan.duration_s)
        self.obs.cors = await self._connect(
            "cors",
            "",
            until,
            lambda a: a.open is not None,
            headers=(("Origin", CORS_ORIGIN),),
        )
        self._stage(Stage.CORS)

    async def _bad_id(self, deadline: float) -> None:
        until = max(deadline, time.monotonic() + MIN_RESUME_S)
        self.obs.bad_id = await self._connect(
            "bad-id", BAD_ID, until, lambda a: a.open is not None
        )
        self._stage(Stage.BAD_ID)

    async def _resume(self, deadline: float) -> None:
        obs = self.obs

        def enough(attempt: Attempt) -> bool:
            return sum(1 for e in attempt.events if e.id) >= RESUME_AFTER

        # Dropped at the latest at two thirds of the watch, so that the
        # reconnected client has time to see what follows.
        drop_by = obs.started_at + self.plan.duration_s * 2 / 3
        first = await self._connect(
            "resume-drop", self.options.last_event_id, drop_by, enough
        )
        obs.resume_drop = first
        ids = [e.id for e in first.events if e.id]
        if first.open is None or not ids:
            return
        sent = ids[-1]

        def news(attempt: Attempt) -> bool:
            return sum(1 for e in attempt.events if e.id != sent) >= RESUME_EVENTS

        until = max(deadline, time.monotonic() + MIN_RESUME_S)
        obs.resume = await self._connect("resume", sent, until, news)
