"""Lab records: what the server published and sent, browser reports, the pulse.

So a client can be checked against the server: `published` (the broker log of a
topic over a span), `sent` (what each open or recently closed subscription wrote,
with its lab tag), `browser` (what a browser's EventSource on the page at `/`
reported) and `pulse` (a steady, logged beat on /api/events to measure losses
against).  `server.lab` includes this router under ``/api/lab``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field, field_validator

from server import events
from server.auth import redact_url
from server.broker import UnknownTopicError
from server.jobs import EVENTS_TOPIC
from server.labtag import TAG_PATTERN, LabBody, Rt, report
from server.runtime import Runtime  # noqa: TC001 (FastAPI reads it at runtime)

MIN_PULSE_MS = 10
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


async def _beat(rt: Runtime, every_ms: int) -> None:
    """Publish `pulse` n on a fixed schedule (no drift), until stopped or shutdown."""
    period, start, n = every_ms / 1000, time.monotonic(), 0
    while not rt.hub.closing:
        await rt.publish("pulse", events.Pulse(n=n, every_ms=every_ms))
        n += 1
        await asyncio.sleep(max(0.0, start + n * period - time.monotonic()))


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
        rt.lab.pulse_ms = every_ms
        rt.lab.pulse = asyncio.create_task(_beat(rt, every_ms), name="lab pulse")
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
        Query(max_length=100, description="the `next` of the previous page"),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_SENT_PAGE, description="events in this page")
    ] = SENT_PAGE,
) -> dict[str, object]:
    """What each open and recently closed subscription sent, oldest first, paged.

    Per subscription its lab tag ("" when none), the last 10,000 events with an id
    (id, type, wall time of the write), the Last-Event-ID its request carried and
    how it ended; the last 200 closed subscriptions are kept, and all logs
    together are bounded in bytes (the oldest closed ones are emptied first).

    A page holds at most ``limit`` events (a subscription without any counts as
    one); ``next`` is the ``since=`` of the following page, null after the last.
    A subscription may span pages: its rows then share its ``number``.
    """
    start_number, start_after = (0, 0) if since is None else _parse_cursor(rt, since)
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
        rt.lab.browser.append({**obs.model_dump(), "received": received})
    return {"stored": len(batch)}


@router.get("/browser")
async def browser_observations(rt: Rt) -> dict[str, object]:
    """What browsers reported, oldest first (the last 10,000)."""
    return {"observations": list(rt.lab.browser)}


@router.delete("/browser")
async def browser_clear(rt: Rt) -> dict[str, object]:
    cleared = len(rt.lab.browser)
    rt.lab.browser.clear()
    return {"cleared": cleared}
