"""Lab records: what the server published and sent, browser reports, the pulse.

So a client can be checked against the server: `published` (the broker log of a
topic over a span), `sent` (what each open or recently closed subscription wrote,
with its lab tag), `browser` (what a browser's EventSource on the page at `/`
reported) and `pulse` (a steady, logged beat on /api/events to measure losses
against).  `server.lab` includes this router under ``/api/lab``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field, field_validator

from server import events
from server.auth import redact_url
from server.broker import BrokerUnavailableError, UnknownTopicError
from server.jobs import EVENTS_TOPIC
from server.labtag import TAG_PATTERN, LabBody, Rt, report
from server.runtime import Runtime  # noqa: TC001 (FastAPI reads it at runtime)

if TYPE_CHECKING:
    from server.control import ControlChannel

MIN_PULSE_MS = 10
log = logging.getLogger("server.lab")
router = APIRouter(tags=["lab"])


class PulseBody(LabBody):
    every_ms: int = Field(default=100, ge=0, le=60_000, description="0 stops it")

    @field_validator("every_ms")
    @classmethod
    def _not_too_fast(cls, value: int) -> int:
        if 0 < value < MIN_PULSE_MS:
            raise ValueError(f"must be 0 (stop) or at least {MIN_PULSE_MS} ms")
        return value


class Observation(LabBody):
    """What the page's EventSource saw: ``at`` is the browser's wall clock (s).

    The pool page (``/api/lab/pool``) also reports a source made ("connecting")
    and closed by the page, and its fetch sent and answered; ``source`` numbers
    its EventSources from 1 (0: the page at ``/``), ``protocol`` is what
    Resource Timing's ``nextHopProtocol`` said ("http/1.1", "h2").
    """

    kind: Literal[
        "open", "error", "message", "connecting", "closed", "fetch-sent", "fetch"
    ]
    ready_state: int = Field(ge=0, le=2)
    id: str = Field(default="", max_length=1000)  # lastEventId after the event
    type: str = Field(default="", max_length=200)  # the event type (message only)
    at: float = Field(ge=0)
    stream: str = Field(default="", max_length=2000)  # the EventSource's URL
    source: int = Field(default=0, ge=0, le=1000)
    protocol: str = Field(default="", max_length=40)

    @field_validator("stream")
    @classmethod
    def _no_secret(cls, value: str) -> str:
        """Kept and shown to anyone with the lab: a token in it is masked."""
        return redact_url(value)


async def _beat(rt: Runtime, every_ms: int, stop: asyncio.Event) -> None:
    """Publish `pulse` n on a fixed schedule (no drift), until ``stop`` or shutdown.

    A beat that cannot be published (Redis away) is skipped and the beat goes on,
    so the pulse is back with the broker; the published log shows the gap.
    """
    period, start, n = every_ms / 1000, time.monotonic(), 0
    failing = False
    while not rt.hub.closing and not stop.is_set():
        try:
            await rt.publish("pulse", events.Pulse(n=n, every_ms=every_ms))
        except BrokerUnavailableError as exc:
            if not failing:
                log.warning("pulse %d not published (%s): trying every beat", n, exc)
            failing = True
        else:
            if failing:
                log.warning("pulse published again from %d", n)
            failing = False
        n += 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, start + n * period - time.monotonic())):
                await stop.wait()


@router.post("/pulse")
async def pulse(rt: Rt, body: PulseBody | None = None) -> dict[str, object]:
    """Publish a `pulse` event (logged, with an id) on /api/events every ``every_ms``.

    A steady, countable stream to check a client against `published`: `stats`
    has no id and jobs publish in bursts.  0 stops it; so does `reset`.
    """
    every_ms = (body or PulseBody()).every_ms
    await rt.lab.stop_pulse()
    if rt.control is not None:  # one pulse: stop one another worker runs
        await rt.control.send("lab:pulse-stop", None)
    result = await report(rt, "pulse", every_ms=every_ms)
    if every_ms:
        stop = rt.lab.pulse_stop = asyncio.Event()
        rt.lab.pulse_ms = every_ms
        rt.lab.pulse = asyncio.create_task(_beat(rt, every_ms, stop), name="lab pulse")
    return result


@router.get("/published")
async def published(
    rt: Rt,
    topic: Annotated[
        str, Query(description=f"{EVENTS_TOPIC!r} (/api/events) or job:<id>")
    ] = EVENTS_TOPIC,
    since: Annotated[float, Query(description="wall time, s")] = 0.0,
    until: Annotated[float | None, Query(description="wall time, s")] = None,
) -> dict[str, object]:
    """What the broker log holds for ``topic`` published in [since, until].

    Topics are the ones `/api/streams` names: ``events`` is /api/events, ``job:<id>``
    a job's stream.  The ticker has no log (its events are computed per request).
    ``complete`` is false when part of the span already fell out of the bounded log.
    """
    if topic == "ticker":
        raise HTTPException(
            404, "the ticker has no publish log: its events are computed per request"
        )
    end = until if until is not None else time.time()
    try:
        found, complete = await rt.broker.published_between(topic, since, end)
    except UnknownTopicError:
        raise HTTPException(
            404,
            f"no topic {topic!r}: topics are {EVENTS_TOPIC!r} (/api/events) and "
            "'job:<id>' (a job's stream), as /api/streams names them",
        ) from None
    return {
        "topic": topic,
        "events": [
            {"id": e.id, "type": e.type, "published": e.published} for e in found
        ],
        "complete": complete,
    }


SENT_PAGE = 1000  # events per page of `/api/lab/sent` unless ``limit`` says
MAX_SENT_PAGE = 10_000


def _cursor(rt: Runtime, number: int, position: int) -> str:
    """Where the next page starts: a subscription and a position in what it sent.

    Opaque to clients.  Both parts are values the server stored (a subscription's
    number, a running count of its events), never an index into a list, so the
    cursor holds while logs are trimmed, and would hold over a log shared by
    several workers; the run makes one from before a restart recognisable.
    """
    return f"{rt.broker.run_id}.{number}.{position}"


def _parse_cursor(rt: Runtime, cursor: str) -> tuple[int, int]:
    run, _, rest = cursor.partition(".")
    number, _, position = rest.partition(".")
    if run != rt.broker.run_id:
        raise HTTPException(
            410,
            "that since= cursor belongs to another server run (the server "
            "restarted): ask again without since=",
        )
    if not all(p.isascii() and p.isdigit() and len(p) < 19 for p in (number, position)):
        raise HTTPException(422, f"since={cursor!r} is not a cursor this server made")
    return int(number), int(position)


def gathers(rt: Runtime) -> bool:
    """Whether the lab's state is spread over several workers (``serve --workers
    N``): records and counts are then asked of the others (``ask_others``)."""
    return rt.control is not None and rt.settings.workers > 1


async def ask_others(rt: Runtime, question: str, body: object) -> list[Any]:
    """The other workers' answers (each its own part), asked over control."""
    assert rt.control is not None
    return await rt.control.ask(question, body, rt.settings.workers - 1)


CURSOR_SEP = "~"  # between the workers' cursors in one ``since=``


@router.get("/sent")
async def sent(
    rt: Rt,
    topic: Annotated[str | None, Query(description="only this topic")] = None,
    tag: Annotated[
        str | None,
        Query(pattern=TAG_PATTERN, description="only subscriptions with this lab tag"),
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=4000, description="the `next` of the previous page"),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_SENT_PAGE, description="events in this page")
    ] = SENT_PAGE,
) -> dict[str, object]:
    """What each open and recently closed subscription sent, oldest first, paged.

    Per subscription its lab tag ("" when none), the worker that holds it, the
    last 10,000 events with an id (id, type, wall time of the write), the
    Last-Event-ID its request carried and how it ended; the last 200 closed
    subscriptions are kept, and all logs together are bounded in bytes (the
    oldest closed ones are emptied first).

    A page holds at most ``limit`` events (a subscription without any counts as
    one); ``next`` is the ``since=`` of the following page, null after the last.
    A subscription may span pages: its rows then share its ``number``.

    With several workers (``serve --workers N``) each worker gives its own page
    of at most ``limit`` events, asked over the control channel (`server.control`);
    ``workers`` names those that answered in time.
    """
    if not gathers(rt):
        start = (0, 0) if since is None else _parse_cursor(rt, since)
        return _sent_page(rt, topic, tag, start, limit)
    query = {"topic": topic, "tag": tag, "since": since, "limit": limit}
    pages = [_sent_here(rt, query), *await ask_others(rt, "lab:sent", query)]
    rows = [row for page in pages for row in page["subscriptions"]]
    following = [page["next"] for page in pages if page["next"] is not None]
    return {
        "subscriptions": rows,
        "next": CURSOR_SEP.join(following) if following else None,
        "workers": sorted(page["worker"] for page in pages),
    }


def _sent_here(rt: Runtime, query: dict[str, Any]) -> dict[str, Any]:
    """This worker's page of a gathered `sent`: its part of ``since``, if any."""
    since = query["since"]
    start = (0, 0)
    if since is not None:
        run = f"{rt.broker.run_id}."
        mine = [c for c in since.split(CURSOR_SEP) if c.startswith(run)]
        if not mine:  # this worker's records were all given (or it is new)
            return {"subscriptions": [], "next": None, "worker": rt.worker}
        start = _parse_cursor(rt, mine[0])
    page = _sent_page(rt, query["topic"], query["tag"], start, query["limit"])
    return {**page, "worker": rt.worker}


def _sent_page(
    rt: Runtime, topic: str | None, tag: str | None, start: tuple[int, int], limit: int
) -> dict[str, object]:
    start_number, start_after = start
    subs = {s.number: s for s in rt.hub.closed}
    subs.update((s.number, s) for s in rt.hub)
    rows: list[dict[str, object]] = []
    left = limit
    following: str | None = None
    for n in sorted(subs):
        sub = subs[n]
        if n < start_number or (topic is not None and sub.topic != topic):
            continue
        if tag is not None and sub.tag != tag:
            continue
        after = start_after if n == start_number else 0
        if left <= 0:
            following = _cursor(rt, n, after)
            break
        row, last, more = sub.describe_sent(after, left)
        row["worker"] = rt.worker
        rows.append(row)
        given = row["sent"]
        assert isinstance(given, list)
        left -= max(1, len(given))
        if more:
            following = _cursor(rt, n, last)
            break
    return {"subscriptions": rows, "next": following}


@router.post("/browser")
async def browser_observed(
    rt: Rt, body: Observation | list[Observation]
) -> dict[str, object]:
    """Store what a browser's EventSource saw (one observation or a batch)."""
    received = time.time()
    batch = body if isinstance(body, list) else [body]
    for obs in batch:
        rt.lab.browser.append(
            {**obs.model_dump(), "received": received, "worker": rt.worker}
        )
    return {"stored": len(batch)}


@router.get("/browser")
async def browser_observations(rt: Rt) -> dict[str, object]:
    """What browsers reported, oldest first (the last 10,000 per worker).

    With several workers, every worker's (each names its ``worker``), asked
    over the control channel and merged by the time they were received.
    """
    found: list[Any] = list(rt.lab.browser)
    if gathers(rt):
        for theirs in await ask_others(rt, "lab:browser", None):
            found.extend(theirs)
        found.sort(key=lambda obs: float(obs["received"]))
    return {"observations": found}


@router.delete("/browser")
async def browser_clear(rt: Rt) -> dict[str, object]:
    cleared = _clear_browser(rt)
    if gathers(rt):
        cleared += sum(await ask_others(rt, "lab:browser-clear", None))
    return {"cleared": cleared}


def _clear_browser(rt: Runtime) -> int:
    cleared = len(rt.lab.browser)
    rt.lab.browser.clear()
    return cleared


def listen(rt: Runtime, control: ControlChannel) -> None:
    """Answer the other workers' questions for this worker's records."""

    async def sent_here(raw: object) -> object:
        assert isinstance(raw, dict)
        try:
            return _sent_here(rt, raw)
        except HTTPException:  # a cursor not made here: nothing of this worker's
            return {"subscriptions": [], "next": None, "worker": rt.worker}

    async def browser_here(raw: object) -> object:
        return list(rt.lab.browser)

    async def clear_here(raw: object) -> object:
        return _clear_browser(rt)

    control.answer("lab:sent", sent_here)
    control.answer("lab:browser", browser_here)
    control.answer("lab:browser-clear", clear_here)
