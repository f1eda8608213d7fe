"""Lab: faults on command for teaching and tests (``/api/lab/...``).

Every action returns what it did and is published as a `lab` event on /api/events
(logged, with an id), so a viewer can show "the server dropped you" beside what
the client saw.  Restart is the launcher's job, not a route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from server import events
from server.faults import RefuseWith  # noqa: TC001 (pydantic reads it at runtime)
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


Rt = Annotated[Runtime, Depends(runtime_of)]
router = APIRouter(prefix="/api/lab", tags=["lab"])


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
    }


@router.post("/drop")
async def drop(rt: Rt) -> dict[str, object]:
    """Drop every open subscription now (queued events are flushed, then FIN)."""
    result = await _report(rt, "drop", subscriptions=len(rt.hub))
    rt.hub.end_all(Ending.DROPPED)
    return result


@router.post("/cut")
async def cut(rt: Rt) -> dict[str, object]:
    """Close every open subscription mid-event: half an event, then FIN."""
    result = await _report(rt, "cut", subscriptions=len(rt.hub))
    rt.hub.end_all(Ending.CUT)
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
    """Every switch back to normal (open subscriptions are left alone)."""
    rt.lab.refuse_left, rt.lab.retry_ms, rt.lab.encoding = 0, None, "identity"
    rt.jobs.omit_end_next = 0
    return await _report(rt, "reset")
