"""Lab: faults on command for teaching and tests (``/api/lab/...``).

Every action returns what it did and is published as a `lab` event on /api/events
(logged, with an id), so a viewer can show "the server dropped you" beside what
the client saw.  Restart is the launcher's job, not a route.

Besides faults, the lab records, so a client can be checked against the server:
`published` (the broker log of a topic over a span), `sent` (what each open or
recently closed subscription wrote), `browser` (what a browser's EventSource on the
page at `/` reported) and `pulse` (a steady, logged beat on /api/events to measure
losses against).  Without ``--lab`` every ``/api/lab`` path answers 404 saying so.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from server import events
from server.broker import UnknownTopicError
from server.faults import RefuseWith  # noqa: TC001 (pydantic reads it at runtime)
from server.jobs import EVENTS_TOPIC
from server.runtime import Runtime, runtime_of
from server.subscriptions import Ending
from server.wire import retry_frame

if TYPE_CHECKING:
    from server.events import JSONScalar


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StallBody(_Body):
    seconds: float = Field(default=5.0, gt=0, le=600)


class RefuseBody(_Body):
    count: int = Field(default=1, ge=1, le=1000)
    status: RefuseWith = 503
    retry_after_s: int = Field(default=5, ge=0, le=3600)


class RetryBody(_Body):
    ms: int = Field(ge=0, le=3_600_000)


class CountBody(_Body):
    count: int = Field(default=1, ge=0, le=1000)


class EncodingBody(_Body):
    mode: Literal["identity", "gzip", "buffer"]
    buffer_bytes: int = Field(default=4096, ge=1, le=10_000_000)


class PulseBody(_Body):
    every_ms: int = Field(default=100, ge=0, le=60_000, description="0 stops it")

    @field_validator("every_ms")
    @classmethod
    def _not_too_fast(cls, value: int) -> int:
        if 0 < value < MIN_PULSE_MS:
            raise ValueError(f"must be 0 (stop) or at least {MIN_PULSE_MS} ms")
        return value


class Observation(_Body):
    """What the page's EventSource saw: ``at`` is the browser's wall clock (s)."""

    kind: Literal["open", "error", "message"]
    ready_state: int = Field(ge=0, le=2)
    id: str = Field(default="", max_length=1000)  # lastEventId after the event
    type: str = Field(default="", max_length=200)  # the event type (message only)
    at: float = Field(ge=0)
    stream: str = Field(default="", max_length=2000)  # the EventSource's URL


MIN_PULSE_MS = 10
Rt = Annotated[Runtime, Depends(runtime_of)]
router = APIRouter(prefix="/api/lab", tags=["lab"])
off_router = APIRouter(tags=["lab"])
_LAB_OFF = "the lab is off on this server: start it with --lab (sse-viewer serve --lab)"


@off_router.api_route(
    "/api/lab",
    methods=["GET", "POST", "DELETE"],
    include_in_schema=False,
)
@off_router.api_route(
    "/api/lab/{rest:path}",
    methods=["GET", "POST", "DELETE"],
    include_in_schema=False,
)
async def lab_off() -> None:
    """Every lab path without ``--lab``: a 404 that says why."""
    raise HTTPException(404, _LAB_OFF)


async def _report(rt: Runtime, action: str, **detail: JSONScalar) -> dict[str, object]:
    await rt.publish("lab", events.Lab(action=action, detail=detail))
    return {"action": action, **detail}


@router.get("")
async def lab_state(rt: Rt) -> dict[str, object]:
    """The lab's switches now."""
    lab = rt.lab
    return {
        "refuse_left": lab.refuse_left,
        "refuse_with": lab.refuse_with,
        "retry_ms": lab.retry_ms if lab.retry_ms is not None else rt.settings.retry_ms,
        "encoding": lab.encoding,
        "buffer_bytes": lab.buffer_bytes,
        "omit_end_next": rt.jobs.omit_end_next,
        "subscriptions": len(rt.hub),
        "pulse_ms": lab.pulse_ms,
        "browser_observations": len(lab.browser),
    }


@router.post("/drop")
async def drop(rt: Rt) -> dict[str, object]:
    """The server closes every open stream now, cleanly.

    Queued events are flushed, then the response ends properly (the chunked
    terminator) and the connection closes: to a client this is the server ending
    the stream (EOF), after which a conforming client reconnects after ``retry``.
    `cut` is the unclean variant.
    """
    result = await _report(rt, "drop", subscriptions=len(rt.hub))
    rt.hub.end_all(Ending.DROPPED)
    return result


@router.post("/cut")
async def cut(rt: Rt) -> dict[str, object]:
    """Close every open subscription mid-event: half an event, then FIN."""
    result = await _report(rt, "cut", subscriptions=len(rt.hub))
    rt.hub.end_all(Ending.CUT)
    return result


_RESET_ID_FRAME = b'id\nevent: lab\ndata: {"action":"reset-id"}\n\n'


@router.post("/reset-id")
async def reset_id(rt: Rt) -> dict[str, object]:
    """Send an event with an empty ``id:`` on /api/events streams (not logged).

    A conforming client's last event ID becomes "" (WHATWG: an empty id field
    resets it), so its next reconnect carries no Last-Event-ID and resumes nothing.
    """
    subs = list(rt.hub.on_topic(EVENTS_TOPIC))
    result = await _report(rt, "reset-id", subscriptions=len(subs))
    for sub in subs:
        sub.push(_RESET_ID_FRAME)
    return result


@router.post("/stall")
async def stall(rt: Rt, body: StallBody | None = None) -> dict[str, object]:
    """Open subscriptions send nothing, pings included, for ``seconds``."""
    seconds = (body or StallBody()).seconds
    result = await _report(rt, "stall", seconds=seconds, subscriptions=len(rt.hub))
    for sub in rt.hub:
        sub.stall(seconds)
    return result


@router.post("/refuse")
async def refuse(rt: Rt, body: RefuseBody | None = None) -> dict[str, object]:
    """Answer the next ``count`` stream connects with ``status`` instead of a stream."""
    body = body or RefuseBody()
    rt.lab.refuse_left, rt.lab.refuse_with = body.count, body.status
    rt.lab.retry_after_s = body.retry_after_s
    return await _report(
        rt,
        "refuse",
        count=body.count,
        status=body.status,
        retry_after_s=body.retry_after_s,
    )


@router.post("/retry")
async def retry(rt: Rt, body: RetryBody) -> dict[str, object]:
    """Announce ``retry: ms`` on open subscriptions now and on every new connect."""
    rt.lab.retry_ms = body.ms
    frame = retry_frame(body.ms)
    for sub in rt.hub:
        sub.push(frame, events=0)
    return await _report(rt, "retry", ms=body.ms, subscriptions=len(rt.hub))


@router.post("/forget")
async def forget(rt: Rt) -> dict[str, object]:
    """Forget the replay log of every topic: a resume after this gets `replay-gap`."""
    forgotten = await rt.broker.forget()
    return await _report(rt, "forget", events=forgotten)


@router.post("/omit-end")
async def omit_end(rt: Rt, body: CountBody | None = None) -> dict[str, object]:
    """The next ``count`` jobs finish without an `end` event (the stream closes)."""
    count = (body or CountBody()).count
    rt.jobs.omit_end_next = count
    return await _report(rt, "omit-end", count=count)


@router.post("/encoding")
async def encoding(rt: Rt, body: EncodingBody) -> dict[str, object]:
    """New streams are gzipped, or held back like a buffering proxy, or neither."""
    rt.lab.encoding, rt.lab.buffer_bytes = body.mode, body.buffer_bytes
    return await _report(rt, "encoding", mode=body.mode, buffer_bytes=body.buffer_bytes)


@router.post("/reset")
async def reset(rt: Rt) -> dict[str, object]:
    """Every switch back to normal, pulse off (open subscriptions are left alone)."""
    rt.lab.refuse_left, rt.lab.retry_ms, rt.lab.encoding = 0, None, "identity"
    rt.jobs.omit_end_next = 0
    await rt.lab.stop_pulse()
    return await _report(rt, "reset")


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
    result = await _report(rt, "pulse", every_ms=every_ms)
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


@router.get("/sent")
async def sent(
    rt: Rt, topic: Annotated[str | None, Query(description="only this topic")] = None
) -> dict[str, object]:
    """What each open and recently closed subscription sent, oldest first.

    Per subscription the last 10,000 events with an id (id, type, wall time of the
    write), the Last-Event-ID its request carried and how it ended; the last 200
    closed subscriptions are kept.
    """
    subs = {s.number: s for s in rt.hub.closed}
    subs.update((s.number, s) for s in rt.hub)
    rows = [
        subs[n].describe_sent()
        for n in sorted(subs)
        if topic is None or subs[n].topic == topic
    ]
    return {"subscriptions": rows}


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
