"""Lessons on what the server says about reconnecting: `retry:`, 503, 204."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Connecting,
    DelaySource,
    Open,
    Outcome,
    Reconnecting,
    RetryField,
)
from desktop.core.lab.lessons.checks import CONNECT_S, EVENTS_PATH, check_waited

if TYPE_CHECKING:
    from desktop.core.lab.lessons.run import LessonRun, RecordedStream


async def _announce_and_drop(run: LessonRun, app: RecordedStream, ms: int) -> int:
    """Announce ``retry: ms`` on the open connection, drop it; the gap's index."""
    start = len(app.records)
    await run.lab.retry(ms)
    await app.wait(
        RetryField, f"retry: {ms} arrives", 5.0, after=start, where=lambda r: r.ms == ms
    )
    await run.lab.drop()
    gap_i, _ = await app.wait(Reconnecting, "the drop", 5.0, after=start)
    return gap_i


async def retry(run: LessonRun) -> None:
    """Lesson 4: `retry:` changes the reconnection time, and the gaps follow."""
    t = run.timing
    app = run.lane("app", EVENTS_PATH)
    await app.wait(Open, "the first connection opens", CONNECT_S)
    first = await _announce_and_drop(run, app, t.retry_short_ms)
    await app.wait(Open, "the reconnect opens", CONNECT_S, after=first)
    second = await _announce_and_drop(run, app, t.retry_long_ms)
    await app.wait(
        Connecting, "the second reconnect", t.retry_long_ms / 1000 + 5, after=second
    )
    for index, asked in ((first, t.retry_short_ms), (second, t.retry_long_ms)):
        gap = app.records[index]
        assert isinstance(gap, Reconnecting)
        run.check(
            f"retry: {asked} sets the reconnection time",
            f"delay {asked} ms from the server",
            f"delay {gap.delay_ms} ms from {gap.delay_source.value}",
            gap.delay_ms == asked and gap.delay_source is DelaySource.SERVER,
        )
        check_waited(run, app, index, asked, f"The gap after retry: {asked}")


async def _refused(
    run: LessonRun, name: str, status: int, count: int, **options: object
) -> tuple[RecordedStream, int]:
    """Open ``name``; its next ``count`` connects get ``status``; drop it.

    Refusal and drop carry the run's tag: only the lesson's own streams are
    dropped and only their reconnects are refused, so the app's other tabs on
    the same server go on untouched and cannot take the lesson's refusals.
    """
    t = run.timing
    await run.lab.retry(t.retry_ms)
    app = run.lane(name, EVENTS_PATH, **options)
    await app.wait(Open, "the first connection opens", CONNECT_S)
    start = len(app.records)
    await run.lab.refuse(count, status, t.retry_after_s)
    await run.lab.drop()
    gap_i, _ = await app.wait(Reconnecting, "the drop", 5.0, after=start)
    return app, gap_i


async def _gives_up(
    run: LessonRun, app: RecordedStream, gap_i: int, status: int, expected: str
) -> Closed:
    """Wait for Closed, say how it closed, then watch: no attempt may follow."""
    t = run.timing
    close_i, closed = await app.wait(
        Closed, f"the answer {status}", t.retry_ms / 1000 + 5, after=gap_i
    )
    if status == 204:
        ok = closed.outcome is Outcome.NO_CONTENT and not closed.failed
    else:
        ok = closed.outcome is Outcome.STATUS and closed.status == status
        ok = ok and closed.failed
    run.check(
        f"The reconnect gets {status}: the client closes",
        expected,
        f"{closed.outcome.value}, {'failed' if closed.failed else 'not failed'}: "
        f"{closed.reason}",
        ok,
    )
    await asyncio.sleep(t.window_s)
    later = app.of(Connecting, close_i)
    tries = len(app.of(Connecting, gap_i))
    run.check(
        "No reconnect after it, ever",
        f"none in {t.window_s:.1f} s",
        f"{len(later)} attempt(s) after the {status} ({tries} since the drop)",
        not later and app.ended,
    )
    return closed


async def status_503(run: LessonRun) -> None:
    """Lesson 5: 503 stops a conforming client; the opt-in policy retries."""
    t = run.timing
    app, gap_i = await _refused(run, "app", 503, 1)
    await _gives_up(
        run, app, gap_i, 503, "closed for good, failed (fail the connection)"
    )
    refusals = 2
    policy, gap_j = await _refused(
        run, "app-retry-503", 503, refusals, reconnect_on_status=frozenset({503})
    )
    wait_s = t.retry_after_s + t.retry_ms / 1000 + 5
    open_i, _ = await policy.wait(
        Open, "the policy's reconnect opens", 2 * wait_s, after=gap_j
    )
    gaps = [
        i for i in range(gap_j, open_i) if isinstance(policy.records[i], Reconnecting)
    ]
    statuses = [
        "503" if "503" in r.reason else r.outcome.value
        for r in policy.records[gap_j + 1 : open_i]
        if isinstance(r, Reconnecting)
    ]
    run.check(
        "With reconnect-on-status 503, it retries",
        "503 (once or more), then 200",
        f"{len(statuses)} x {'/'.join(sorted(set(statuses))) or 'nothing'}, then 200",
        bool(statuses) and all(value == "503" for value in statuses),
    )
    asked = max(t.retry_after_s * 1000, t.retry_ms)
    for n, index in enumerate(gaps[1:], start=1):
        check_waited(run, policy, index, asked, f"Waits Retry-After (503 #{n})")


async def status_204(run: LessonRun) -> None:
    """Lesson 6: 204 No Content stops reconnecting for good."""
    app, gap_i = await _refused(run, "app", 204, 1)
    await _gives_up(run, app, gap_i, 204, "closed for good, not failed (no-content)")
