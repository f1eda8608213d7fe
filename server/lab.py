"""Lab: faults on command for teaching and tests (``/api/lab/...``).

Every action returns what it did and is published as a `lab` event on /api/events
(logged, with an id), so a viewer can show "the server dropped you" beside what
the client saw.  Restart is the launcher's job, not a route.

Every fault takes an optional ``tag`` in its body (see `server.labtag`): with it,
the fault reaches only the clients whose stream request carried that lab tag, so
a lesson breaks its own streams and leaves the user's other tabs alone.  Without
it, the fault acts on everyone.

With several workers on one Redis (``serve --workers N --broker …``) a fault is
applied by the worker that answers and by every other worker, asked on the
control channel (`server.control`), to the streams each holds; the answer's
``subscriptions`` is their sum and ``workers`` each one's count.
Counted switches (refuse, omit-end) count once for all workers
(`server.lab_counts`).

The lab's records (published, sent, browser, pulse) are in `server.lab_records`.
Without ``--lab`` every ``/api/lab`` path answers 404 saying so.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from server import lab_counts, lab_records, pool_page
from server.faults import (  # noqa: TC001 (pydantic reads them at runtime)
    RefuseWith,
    RetryUnit,
)
from server.jobs import EVENTS_TOPIC
from server.labtag import Rt, TagBody, report
from server.subscriptions import SubscriptionEnd
from server.wire import retry_frame

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.control import ControlChannel
    from server.events import JSONScalar
    from server.faults import LabState, TagSwitches
    from server.runtime import Runtime
    from server.subscriptions import Subscription


class StallBody(TagBody):
    seconds: float = Field(default=5.0, gt=0, le=600)


class RefuseBody(TagBody):
    count: int = Field(default=1, ge=1, le=1000)
    status: RefuseWith = 503
    retry_after_s: int = Field(default=5, ge=0, le=3600)


class RetryBody(TagBody):
    ms: int = Field(ge=0, le=3_600_000)
    # "s" or "ms" after the number (retry: 5s): clients ignore such a retry:.
    unit: RetryUnit = ""


class CountBody(TagBody):
    count: int = Field(default=1, ge=0, le=1000)


class EncodingBody(TagBody):
    mode: Literal["identity", "gzip", "buffer"]
    buffer_bytes: int = Field(default=4096, ge=1, le=10_000_000)


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


def _targets(rt: Runtime, tag: str | None) -> list[Subscription]:
    """The open subscriptions a fault reaches: all, or those with ``tag``."""
    return [sub for sub in rt.hub if tag is None or sub.tag == tag]


@router.get("")
async def lab_state(rt: Rt) -> dict[str, object]:
    """The lab's switches now; ``tags`` holds the switches set for a tag.

    With several workers (``serve --workers N``) ``subscriptions`` and
    ``browser_observations`` are every worker's summed (``workers`` gives each
    one's subscriptions), and with Redis the counted switches (``refuse_left``,
    ``omit_end_next``) are read from the counter all workers take from.
    """
    lab = rt.lab
    state: dict[str, object] = {
        "refuse_left": lab.refuse_left,
        "refuse_with": lab.refuse_with,
        "retry_ms": lab.retry_ms if lab.retry_ms is not None else rt.settings.retry_ms,
        "encoding": lab.encoding,
        "buffer_bytes": lab.buffer_bytes,
        "omit_end_next": rt.jobs.omit_end_next,
        "subscriptions": len(rt.hub),
        "pulse_ms": lab.pulse_ms,
        "browser_observations": len(lab.browser),
        "tags": {tag: switches.describe() for tag, switches in lab.tags.items()},
    }
    if rt.counts is not None:
        state["refuse_left"] = await rt.counts.left(
            lab_counts.refuse_name(None), lab.refuse_left
        )
        state["omit_end_next"] = await rt.counts.left(
            lab_counts.omit_end_name(None), rt.jobs.omit_end_next
        )
    if lab_records.gathers(rt):
        workers = {rt.worker: len(rt.hub)}
        browser = len(lab.browser)
        for answer in await lab_records.ask_others(rt, "lab:counts", None):
            workers[str(answer["worker"])] = int(answer["subscriptions"])
            browser += int(answer["browser_observations"])
        state["subscriptions"] = sum(workers.values())
        state["browser_observations"] = browser
        state["workers"] = workers
    return state


@router.post("/drop")
async def drop(rt: Rt, body: TagBody | None = None) -> dict[str, object]:
    """The server closes open streams (all, or the tag's) now, cleanly.

    Queued events are flushed, then the response ends properly (the chunked
    terminator) and the connection closes: to a client this is the server ending
    the stream (EOF), after which a conforming client reconnects after ``retry``.
    `cut` is the unclean variant.
    """
    body = body or TagBody()
    return await _everywhere(
        rt, "drop", body, subscriptions=len(_targets(rt, body.tag)), tag=body.tag
    )


def _drop(rt: Runtime, body: TagBody) -> None:
    for sub in _targets(rt, body.tag):
        sub.end(SubscriptionEnd.DROPPED)


@router.post("/cut")
async def cut(rt: Rt, body: TagBody | None = None) -> dict[str, object]:
    """Close open subscriptions (all, or the tag's) mid-event: half an event, FIN."""
    body = body or TagBody()
    return await _everywhere(
        rt, "cut", body, subscriptions=len(_targets(rt, body.tag)), tag=body.tag
    )


def _cut(rt: Runtime, body: TagBody) -> None:
    for sub in _targets(rt, body.tag):
        sub.end(SubscriptionEnd.CUT)


_RESET_ID_FRAME = b'id\nevent: lab\ndata: {"action":"reset-id"}\n\n'


@router.post("/reset-id")
async def reset_id(rt: Rt, body: TagBody | None = None) -> dict[str, object]:
    """Send an event with an empty ``id:`` on /api/events streams (not logged).

    A conforming client's last event ID becomes "" (WHATWG: an empty id field
    resets it), so its next reconnect carries no Last-Event-ID and resumes nothing.
    """
    body = body or TagBody()
    subs = [sub for sub in _targets(rt, body.tag) if sub.topic == EVENTS_TOPIC]
    return await _everywhere(
        rt, "reset-id", body, subscriptions=len(subs), tag=body.tag
    )


def _reset_id(rt: Runtime, body: TagBody) -> None:
    for sub in _targets(rt, body.tag):
        if sub.topic == EVENTS_TOPIC:
            sub.push(_RESET_ID_FRAME)


@router.post("/stall")
async def stall(rt: Rt, body: StallBody | None = None) -> dict[str, object]:
    """Open subscriptions (all, or the tag's) send nothing, pings included."""
    body = body or StallBody()
    subs = _targets(rt, body.tag)
    return await _everywhere(
        rt, "stall", body, seconds=body.seconds, subscriptions=len(subs), tag=body.tag
    )


def _stall(rt: Runtime, body: StallBody) -> None:
    for sub in _targets(rt, body.tag):
        sub.stall(body.seconds)


@router.post("/refuse")
async def refuse(rt: Rt, body: RefuseBody | None = None) -> dict[str, object]:
    """Answer the next ``count`` stream connects (with the tag) with ``status``."""
    body = body or RefuseBody()
    if rt.counts is not None:  # one count for all the workers
        await rt.counts.arm(lab_counts.refuse_name(body.tag), body.count)
    return await _everywhere(
        rt,
        "refuse",
        body,
        count=body.count,
        status=body.status,
        retry_after_s=body.retry_after_s,
        tag=body.tag,
    )


def _refuse(rt: Runtime, body: RefuseBody) -> None:
    switches: LabState | TagSwitches = (
        rt.lab if body.tag is None else rt.lab.switches(body.tag)
    )
    switches.refuse_left, switches.refuse_with = body.count, body.status
    switches.retry_after_s = body.retry_after_s


@router.post("/retry")
async def retry(rt: Rt, body: RetryBody) -> dict[str, object]:
    """Announce ``retry: ms`` on open subscriptions now and on every new connect.

    With a tag: on the tag's open subscriptions and its new connects only.
    """
    subs = _targets(rt, body.tag)
    unit = {"unit": body.unit} if body.unit else {}
    return await _everywhere(
        rt, "retry", body, ms=body.ms, **unit, subscriptions=len(subs), tag=body.tag
    )


def _retry(rt: Runtime, body: RetryBody) -> None:
    switches: LabState | TagSwitches = (
        rt.lab if body.tag is None else rt.lab.switches(body.tag)
    )
    switches.retry_ms, switches.retry_unit = body.ms, body.unit
    frame = retry_frame(body.ms, body.unit)
    for sub in _targets(rt, body.tag):
        sub.push(frame, events=0)


@router.post("/forget")
async def forget(rt: Rt) -> dict[str, object]:
    """Forget the replay log of every topic: a resume after this gets `replay-gap`.

    The log is the server's, not a client's: this one takes no tag.
    """
    forgotten = await rt.broker.forget()
    return await report(rt, "forget", events=forgotten)


@router.post("/omit-end")
async def omit_end(rt: Rt, body: CountBody | None = None) -> dict[str, object]:
    """The next ``count`` jobs finish without an `end` event (the stream closes).

    With a tag: the next jobs started by a ``POST /api/jobs`` carrying that tag.
    """
    body = body or CountBody()
    if rt.counts is not None:  # one count for all the workers
        await rt.counts.arm(lab_counts.omit_end_name(body.tag), body.count)
    return await _everywhere(rt, "omit-end", body, count=body.count, tag=body.tag)


def _omit_end(rt: Runtime, body: CountBody) -> None:
    if body.tag is None:
        rt.jobs.omit_end_next = body.count
    else:
        rt.lab.switches(body.tag).omit_end_next = body.count


@router.post("/encoding")
async def encoding(rt: Rt, body: EncodingBody) -> dict[str, object]:
    """New streams (with the tag) are gzipped, or held back like a buffering proxy."""
    return await _everywhere(
        rt,
        "encoding",
        body,
        mode=body.mode,
        buffer_bytes=body.buffer_bytes,
        tag=body.tag,
    )


def _encoding(rt: Runtime, body: EncodingBody) -> None:
    switches: LabState | TagSwitches = (
        rt.lab if body.tag is None else rt.lab.switches(body.tag)
    )
    switches.encoding, switches.buffer_bytes = body.mode, body.buffer_bytes


@router.post("/reset")
async def reset(rt: Rt, body: TagBody | None = None) -> dict[str, object]:
    """Every switch back to normal, pulse off (open subscriptions are left alone).

    With a tag: only that tag's switches go (its connects get the untagged ones).
    """
    body = body or TagBody()
    return await _everywhere(rt, "reset", body, tag=body.tag)


async def _reset(rt: Runtime, body: TagBody) -> None:
    if body.tag is not None:
        rt.lab.forget_tag(body.tag)
        return
    rt.lab.reset()
    rt.jobs.omit_end_next = 0
    await rt.lab.stop_pulse()


_Apply = tuple[type[TagBody], "Callable[[Runtime, Any], object]"]
_LOCAL: dict[str, _Apply] = {
    "drop": (TagBody, _drop),
    "cut": (TagBody, _cut),
    "reset-id": (TagBody, _reset_id),
    "stall": (StallBody, _stall),
    "refuse": (RefuseBody, _refuse),
    "retry": (RetryBody, _retry),
    "omit-end": (CountBody, _omit_end),
    "encoding": (EncodingBody, _encoding),
    "reset": (TagBody, _reset),
}


async def _apply(rt: Runtime, action: str, body: TagBody) -> None:
    done = _LOCAL[action][1](rt, body)
    if asyncio.iscoroutine(done):
        await done


def _reach(rt: Runtime, action: str, body: TagBody) -> int:
    """How many of this worker's open subscriptions ``action`` acts on."""
    subs = _targets(rt, body.tag)
    if action == "reset-id":
        return sum(sub.topic == EVENTS_TOPIC for sub in subs)
    return len(subs)


async def _everywhere(
    rt: Runtime, action: str, body: TagBody, **detail: JSONScalar
) -> dict[str, object]:
    """Report ``action`` as a `lab` event, apply it here and on every other
    worker; the route's answer.

    With several workers (``serve --workers N``) each one that applied it in time
    says how many subscriptions it reached: ``subscriptions`` is their sum,
    ``workers`` each one's count, and the event is published once they answered.
    """
    if not lab_records.gathers(rt):
        result = await report(rt, action, **detail)
        await _apply(rt, action, body)
        if rt.control is not None:  # other `serve` processes on the same Redis
            await rt.control.send(f"lab:{action}", body.model_dump())
        return result
    reached = {rt.worker: _reach(rt, action, body)}
    await _apply(rt, action, body)
    for answer in await lab_records.ask_others(rt, f"lab:{action}", body.model_dump()):
        reached[str(answer["worker"])] = int(answer["subscriptions"])
    if "subscriptions" in detail:
        detail["subscriptions"] = sum(reached.values())
    result = await report(rt, action, **detail)
    return {
        **result,
        "workers": reached if "subscriptions" in detail else sorted(reached),
    }


def listen(rt: Runtime, control: ControlChannel) -> None:
    """Apply the faults other workers were sent (a server with the lab on)."""
    if not rt.settings.lab:
        return
    for action, (model, _) in _LOCAL.items():

        async def apply(raw: object, action: str = action, model: Any = model) -> None:
            await _apply(rt, action, model.model_validate(raw))

        async def answer(
            raw: object, action: str = action, model: Any = model
        ) -> object:
            body = model.model_validate(raw)
            reached = _reach(rt, action, body)
            await _apply(rt, action, body)
            return {"worker": rt.worker, "subscriptions": reached}

        control.on(f"lab:{action}", apply)
        control.answer(f"lab:{action}", answer)
    control.on("lab:pulse-stop", lambda raw: rt.lab.stop_pulse())

    async def counts_here(raw: object) -> object:
        return {
            "worker": rt.worker,
            "subscriptions": len(rt.hub),
            "browser_observations": len(rt.lab.browser),
        }

    control.answer("lab:counts", counts_here)
    lab_records.listen(rt, control)


router.include_router(lab_records.router)
router.include_router(pool_page.router)
