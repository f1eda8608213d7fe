"""Checks the lessons share: waited delays, resumes, continuity, server-side resumes.

Each helper adds one `Check` to a run from recorded data (the client's records
with ``at``/``wall``, the server's `/api/lab/published` and `/api/lab/sent`) and
returns whether it held.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from desktop.core.engine.records import Connecting, Event, Open, Reconnecting
from desktop.core.lab.client import EVENTS_TOPIC
from desktop.core.lab.continuity import check as continuity_check

if TYPE_CHECKING:
    from desktop.core.lab.lessons.run import LessonRun, RecordedStream

EVENTS_PATH = "/api/events"
CONNECT_S = 10.0  # how long a lesson waits for a connection to open
# Events a server sends without an id field: a client's Event record carries the
# last id in force, so they would look like repeats of the event before them.
UNLOGGED = frozenset({"stats", "replay-gap", "ping"})


def short_id(event_id: str) -> str:
    return event_id if len(event_id) <= 24 else "…" + event_id[-20:]


def last_id_before(lane: RecordedStream, index: int) -> str:
    """The last event ID in force before record ``index`` (what a resume sends)."""
    for record in reversed(lane.records[:index]):
        if isinstance(record, Event):
            return record.id
    for record in reversed(lane.records[:index]):
        if isinstance(record, Connecting):
            return record.last_event_id
    return ""


async def publish_some(run: LessonRun) -> str:
    """Make the server publish on the events topic: a one-step job (3 events)."""
    job = await run.jobs().start("countdown", {"steps": 1, "interval_s": 0})
    return job.id


def check_waited(
    run: LessonRun, lane: RecordedStream, gap_index: int, asked_ms: int, label: str
) -> bool:
    """The delay waited after a Reconnecting is the one asked, within tolerance."""
    gap = lane.records[gap_index]
    assert isinstance(gap, Reconnecting)
    waited = lane.waited_ms(gap_index)
    observed = (
        "no next attempt"
        if waited is None
        else f"asked {gap.delay_ms} ms ({gap.delay_source}), waited {waited:.0f} ms"
    )
    ok = (
        waited is not None
        and gap.delay_ms == asked_ms
        and run.timing.delay_ok(asked_ms, waited)
    )
    return run.check(label, run.timing.tolerance(asked_ms), observed, ok)


def check_resume(run: LessonRun, conn: Connecting, expected_id: str) -> bool:
    """The reconnect carried the last event ID the client had (client side)."""
    ok = bool(expected_id) and conn.last_event_id == expected_id
    return run.check(
        "The reconnect sends Last-Event-ID",
        short_id(expected_id) or "(an id)",
        short_id(conn.last_event_id) or "(none sent)",
        ok,
    )


async def check_server_resume(
    run: LessonRun, opened: Open, conn: Connecting, expected_id: str, topic: str
) -> bool:
    """What the server saw: a subscription opened by that reconnect, and its id.

    `run.lab` asks for this run's tag only, so other clients reconnecting at the
    same moment never show here; a subscription opened between our request and
    our Open that carried the id counts.
    """
    run.sent = await run.lab.sent(topic)
    slack = 0.05
    ours = [
        log
        for log in run.sent
        if conn.wall - slack <= log.opened <= opened.wall + slack
    ]
    carried = [log.last_event_id for log in ours]
    ok = (
        any(value == expected_id for value in carried)
        if expected_id
        else (bool(carried) and all(value == "" for value in carried))
    )
    observed = ", ".join(short_id(v) or "(none)" for v in carried) or "no such request"
    return run.check(
        "The server received that Last-Event-ID"
        if expected_id
        else "The server received no Last-Event-ID",
        short_id(expected_id) or "(none)",
        observed,
        ok,
    )


async def check_continuity(
    run: LessonRun, lane: RecordedStream, since: float, until: float | None = None
) -> bool:
    """Compare what the client received with what the server published in the span."""
    until = time.time() if until is None else until
    published, complete = await run.lab.published(EVENTS_TOPIC, since, until)
    run.published = published
    received = [r for r in lane.of(Event) if r.type not in UNLOGGED and r.id]
    result = continuity_check(published, received)
    observed = (
        f"lost {len(result.lost)} · repeated {len(result.repeated)} · "
        f"reordered {len(result.reordered)} of {result.published} published"
    )
    if not complete:
        observed += " (the server's log no longer holds the whole span)"
    return run.check(
        "Nothing lost, repeated or reordered",
        f"lost 0 · repeated 0 · reordered 0 of {result.published} published",
        observed,
        result.ok and complete and result.published > 0,
    )


def published_between(run: LessonRun, start: float, end: float) -> int:
    return sum(1 for p in run.published if start <= p.published <= end)
