"""Streams: the SSE routes (ids, retry, replay, ping, disconnects) and `/api/streams`.

| request                                   | answer                                   |
|-------------------------------------------|------------------------------------------|
| job events, no Last-Event-ID              | whole story, then live, `end`, close     |
| job events, Last-Event-ID of that job     | right after it                           |
| job events, Last-Event-ID of its last one | 204 once the job has ended               |
| /api/events, no Last-Event-ID             | live from now; `stats` at once, each 1 s |
| logged topic, Last-Event-ID not in log    | `replay-gap`, then the oldest retained   |
| /api/ticker, Last-Event-ID i              | event i + 1 onward                       |
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from server import events, lab_counts
from server.auth import path_of
from server.broker import BrokerUnavailableError, Gap, UnknownTopicError
from server.faults import refusal_response
from server.jobs import EVENTS_TOPIC, UnknownJobError
from server.labtag import RequestTag  # noqa: TC001 (FastAPI reads it at runtime)
from server.response import EventStreamResponse
from server.runtime import Runtime, runtime_of
from server.subscriptions import Chunk, Source, Subscription
from server.ticker import MAX_COUNT, MAX_RATE, MAX_SIZE, Ticker
from server.wire import event_frame, retry_frame

if TYPE_CHECKING:
    from collections.abc import Iterable

    from server.broker import StoredEvent
    from server.stats import StatsGauge
    from server.subscriptions import Sent

SENT_LOG = 10_000  # events each subscription's sent log keeps (lab on only)
Rt = Annotated[Runtime, Depends(runtime_of)]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
router = APIRouter(tags=["streams"])


def _gap_frame(gap: Gap) -> bytes:
    payload = events.ReplayGap(
        last_event_id=gap.last_event_id,
        lost=gap.lost,
        reason="evicted" if gap.reason == "evicted" else "unknown",
    )
    return event_frame("replay-gap", payload.model_dump_json())


def _chunks(
    frames: Iterable[tuple[bytes, StoredEvent | None]], limit: int
) -> list[Chunk]:
    """Group frames into writes of at most ``limit`` bytes (one frame may exceed it)."""
    out: list[Chunk] = []
    parts: list[bytes] = []
    meta: list[Sent] = []
    size = meta_bytes = 0
    for frame, event in frames:
        if parts and size + len(frame) > limit:
            last = meta[-1].id if meta else None
            out.append(Chunk(b"".join(parts), len(meta), last, meta, meta_bytes))
            parts, meta, size, meta_bytes = [], [], 0, 0
        parts.append(frame)
        size += len(frame)
        if event is not None:
            meta.append(event)
            meta_bytes += len(frame)
    if parts:
        last = meta[-1].id if meta else None
        out.append(Chunk(b"".join(parts), len(meta), last, meta, meta_bytes))
    return out


def new_subscription(
    rt: Runtime,
    request: Request,
    topic: str,
    source: Source | None = None,
    last_event_id: str | None = None,
    tag: str = "",
) -> Subscription:
    client = request.client
    return Subscription(
        rt.hub.new_number(),
        client=f"{client.host}:{client.port}" if client else "?",
        path=path_of(request.scope),
        topic=topic,
        backlog_bytes=rt.settings.backlog_bytes,
        source=source,
        last_event_id=last_event_id or "",
        sent_log=SENT_LOG if rt.settings.lab else 0,
        sent_budget=rt.hub.sent_budget,
        tag=tag,
    )


async def opening(rt: Runtime, tag: str) -> Response | None:
    """A lab refusal (for this tag) or a shutdown answer instead of a stream."""
    if rt.hub.closing:
        return Response("server shutting down\n", 503, headers={"Retry-After": "1"})
    refusal = await lab_counts.take_refusal(rt.counts, rt.lab, tag)
    return None if refusal is None else refusal_response(*refusal)


def _retry(rt: Runtime, tag: str) -> bytes:
    ms = rt.lab.retry_for(tag)
    unit = rt.lab.retry_unit_for(tag)
    return retry_frame(ms if ms is not None else rt.settings.retry_ms, unit)


async def _topic_stream(
    rt: Runtime,
    sub: Subscription,
    last_event_id: str | None,
    *,
    history: bool,
    extra: bytes = b"",
) -> Response:
    try:
        replay = await rt.broker.subscribe(
            sub.topic, sub, last_event_id, history=history
        )
    except BrokerUnavailableError as exc:  # Redis is down: retry, as for a restart
        return Response(f"{exc}\n", 503, headers={"Retry-After": "1"})
    if (
        last_event_id is not None
        and replay.closed
        and not replay.events
        and replay.gap is None
    ):
        return Response(status_code=204)  # nothing will ever follow that id
    frames: list[tuple[bytes, StoredEvent | None]] = [(_retry(rt, sub.tag), None)]
    if replay.gap is not None:
        frames.append((_gap_frame(replay.gap), None))
    frames.extend((e.frame, e) for e in replay.events)
    if extra:
        frames.append((extra, None))
    if replay.closed:
        sub.finish()
    return EventStreamResponse(
        sub,
        rt.hub,
        rt.settings,
        preamble=_chunks(frames, rt.settings.batch_bytes),
        encoder=rt.lab.encoder(sub.tag),
        on_close=lambda: rt.broker.unsubscribe(sub.topic, sub),
    )


@router.get("/api/events", response_class=Response)
async def all_events(
    request: Request, rt: Rt, tag: RequestTag, last_event_id: LastEventId = None
) -> Response:
    """Every job's lifecycle, lab actions and server lifecycle; `stats` each second.

    ``?lab_tag=`` (or ``X-Lab-Tag``) scopes lab faults sent with that tag to it.
    """
    refused = await opening(rt, tag)
    if refused is not None:
        return refused
    sub = new_subscription(
        rt, request, EVENTS_TOPIC, last_event_id=last_event_id, tag=tag
    )
    stats: StatsGauge = request.app.state.stats
    return await _topic_stream(
        rt, sub, last_event_id or None, history=False, extra=stats.frame(joining=1)
    )


@router.get("/api/jobs/{job_id}/events", response_class=Response)
async def job_events(
    job_id: str,
    request: Request,
    rt: Rt,
    tag: RequestTag,
    last_event_id: LastEventId = None,
) -> Response:
    """One job's story: `status`, `progress`, `log` … and one `end`, then close."""
    topic = await rt.jobs.topic_of(job_id)  # UnknownJobError: a 404
    refused = await opening(rt, tag)
    if refused is not None:
        return refused
    sub = new_subscription(rt, request, topic, last_event_id=last_event_id, tag=tag)
    try:
        return await _topic_stream(rt, sub, last_event_id or None, history=True)
    except UnknownTopicError:  # forgotten between the two lines above
        raise UnknownJobError(job_id, "forgotten") from None


def _is_tick_id(text: str) -> bool:
    """A number the ticker could have sent (a longer one is a gap, never an int())."""
    return text.isascii() and text.isdigit() and len(text) <= len(str(MAX_COUNT))


@router.get("/api/ticker", response_class=Response)
async def ticker(
    request: Request,
    rt: Rt,
    tag: RequestTag,
    last_event_id: LastEventId = None,
    rate: Annotated[
        float, Query(ge=0, le=MAX_RATE, description="events/s, 0: max")
    ] = 10,
    size: Annotated[int, Query(ge=0, le=MAX_SIZE, description="bytes of data")] = 64,
    count: Annotated[
        int, Query(ge=1, le=MAX_COUNT, description="events in all")
    ] = 100_000,
) -> Response:
    """Synthetic load: event i is a pure function of i, its id is i."""
    start, gap = 0, None
    if last_event_id:
        if _is_tick_id(last_event_id):
            start = int(last_event_id) + 1
            if start >= count:
                return Response(status_code=204)
        else:
            gap = Gap(last_event_id, None, "unknown")
    refused = await opening(rt, tag)
    if refused is not None:
        return refused
    source = Ticker(
        start=start, count=count, rate=rate, size=size, now=time.monotonic()
    )
    sub = new_subscription(rt, request, "ticker", source, last_event_id, tag)
    frames: list[tuple[bytes, StoredEvent | None]] = [(_retry(rt, tag), None)]
    if gap is not None:
        frames.append((_gap_frame(gap), None))
    return EventStreamResponse(
        sub,
        rt.hub,
        rt.settings,
        preamble=_chunks(frames, rt.settings.batch_bytes),
        encoder=rt.lab.encoder(tag),
    )


@router.get("/api/streams")
async def open_streams(rt: Rt) -> dict[str, object]:
    """Open subscriptions: client, path, since, events sent, last id."""
    subs = [s.describe() for s in rt.hub]
    return {"count": len(subs), "subscriptions": subs}
