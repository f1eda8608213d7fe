"""Lessons on what the stream itself carries: `end`, an empty `id:`, bursts."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Connecting,
    Event,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.insight.advice import (
    BURST_MIN_EVENTS,
    BURSTS_TO_WARN,
    MIN_SILENCE_S,
    Advisor,
)
from desktop.core.lab.client import EVENTS_TOPIC
from desktop.core.lab.lessons.checks import (
    CONNECT_S,
    EVENTS_PATH,
    check_server_resume,
    last_id_before,
    publish_some,
    short_id,
)

if TYPE_CHECKING:
    from desktop.core.lab.lessons.run import LessonRun, RecordedStream

END = "end"


async def _job(run: LessonRun) -> str:
    interval = max(0.01, run.timing.settle_s / 5)
    job = await run.jobs().start("countdown", {"steps": 3, "interval_s": interval})
    return job.id


async def _follow(
    run: LessonRun, name: str, job_id: str, **options: object
) -> RecordedStream:
    """Follow a job's stream as the app does: close on `end`; watch a window."""
    lane = run.lane(
        name, f"/api/jobs/{job_id}/events", close_on=frozenset({END}), **options
    )
    await lane.wait(Open, "the job stream opens", CONNECT_S)
    deadline = asyncio.get_running_loop().time() + CONNECT_S
    while not lane.ended and asyncio.get_running_loop().time() < deadline:
        if any(e.type == "status" and '"succeeded"' in e.data for e in lane.of(Event)):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(run.timing.window_s)
    return lane


def _attempts(lane: RecordedStream) -> int:
    return len(lane.of(Connecting))


async def end_event(run: LessonRun) -> None:
    """Lesson 7: a job stream with and without its `end` event."""
    t = run.timing
    await run.lab.retry(t.retry_ms)
    with_end = await _follow(run, "app", await _job(run))
    closed = with_end.of(Closed)
    got_end = any(e.type == END for e in with_end.of(Event))
    run.check(
        "With `end`: the client closes",
        "`end` arrives, closed on it, no reconnect",
        f"{'`end` arrived' if got_end else 'no `end`'}"
        f", {closed[-1].outcome.value if closed else 'still open'}, "
        f"{_attempts(with_end) - 1} reconnect(s)",
        bool(closed)
        and closed[-1].outcome is Outcome.CLOSE_ON
        and _attempts(with_end) == 1,
    )
    await run.lab.omit_end(1)
    job_id = await _job(run)
    app = await _follow(run, "app-no-end", job_id)
    naive = run.lane(
        "naive",
        f"/api/jobs/{job_id}/events",
        close_on=frozenset({END}),
        send_last_event_id=False,
    )
    await asyncio.sleep(t.window_s)
    ends = [e for e in app.of(Event) if e.type == END]
    closed = app.of(Closed)
    run.check(
        "Without `end`: the client reconnects after the job is over",
        "no `end`; the server's close looks like a drop: reconnect",
        f"{len(ends)} `end`; {_attempts(app) - 1} reconnect(s)",
        not ends and _attempts(app) >= 2,
    )
    run.check(
        "Resuming after the last id: this server answers 204",
        "closed by 204 (the server knows the job is over)",
        f"{closed[-1].outcome.value}: {closed[-1].reason}" if closed else "still open",
        bool(closed) and closed[-1].outcome is Outcome.NO_CONTENT,
    )
    loops = _attempts(naive) - 1
    ids = Counter(e.id for e in naive.of(Event) if e.id)
    repeated = sum(n - 1 for n in ids.values() if n > 1)
    run.check(
        "A client without Last-Event-ID loops (the classic bug)",
        f"reconnects again and again within {t.window_s:.1f} s",
        f"{loops} reconnect(s), the whole story re-sent: {repeated} repeats",
        loops >= 2 and repeated > 0,
    )


async def id_reset(run: LessonRun) -> None:
    """Lesson 8: an empty `id:` resets the last event ID."""
    t = run.timing
    await run.lab.retry(t.retry_ms)
    app = run.lane("app", EVENTS_PATH, read_timeout=t.read_timeout_s)
    await app.wait(Open, "the first connection opens", CONNECT_S)
    await publish_some(run)
    await run.pause()
    before = last_id_before(app, len(app.records))
    start = len(app.records)
    await run.lab.reset_id()
    reset_i, reset = await app.wait(
        Event,
        "the event with an empty id:",
        5.0,
        after=start,
        where=lambda e: e.id == "",
    )
    # End the connection without another event with an id: a drop or a cut would
    # send the lab's own (logged) report first; a stall sends nothing at all.
    await run.lab.stall(t.stall_s)
    gap_i, _ = await app.wait(
        Reconnecting, "the read timeout", t.read_timeout_s + 5, after=reset_i
    )
    _, conn = await app.wait(Connecting, "the reconnect", CONNECT_S, after=gap_i)
    _, opened = await app.wait(Open, "the reconnect opens", CONNECT_S, after=gap_i)
    await run.pause()
    run.check(
        "Before: the client has a last event ID",
        "an id",
        short_id(before) or "(none)",
        bool(before),
    )
    run.check(
        "An empty id: resets it",
        "last event ID becomes empty",
        f"`{reset.type}` event, last event ID {short_id(reset.id) or '(empty)'}",
        reset.id == "",
    )
    run.check(
        "The reconnect carries no Last-Event-ID",
        "(none sent)",
        short_id(conn.last_event_id) or "(none sent)",
        conn.last_event_id == "",
    )
    await check_server_resume(run, opened, conn, "", EVENTS_TOPIC)


def _bursts(lane: RecordedStream) -> list[int]:
    """Events per network read (a batch shares one ``at``)."""
    return list(Counter(e.at for e in lane.of(Event) if e.type == "tick").values())


def _named(title: str, detail: str) -> str:
    return f"{title}: {detail}" if detail and detail not in title else title


async def _watch_for(advisor: Advisor, key: str, limit_s: float) -> bool:
    """Until the app's Advisor gives ``key`` (it judges reads live) or time is up."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if any(w.key == key for w in advisor.warnings()):
            return True
        await asyncio.sleep(0.05)
    return False


async def bursts(run: LessonRun) -> None:
    """Lesson 10: compression and a buffering proxy in the way."""
    t = run.timing
    path = f"/api/ticker?rate={t.ticker_rate:g}&size=64"
    # A burst needs a silence of MIN_SILENCE_S at least, BURSTS_TO_WARN times over.
    burst_s = t.buffer_bytes / (t.ticker_rate * 100)  # ~100 bytes per tick frame
    limit_s = max(2 * t.window_s, (BURSTS_TO_WARN + 2) * max(burst_s, MIN_SILENCE_S))
    for mode, key, name in (
        ("gzip", "compressed", "app"),
        ("buffer", "bursts", "app-buffer"),
    ):
        await run.lab.encoding(mode, t.buffer_bytes)
        advisor = Advisor()
        lane = run.lane(name, path)
        lane.watch = advisor.feed  # the app's warnings, judging reads as they come
        _, opened = await lane.wait(Open, "the ticker opens", CONNECT_S)
        await asyncio.sleep(t.window_s)
        await _watch_for(advisor, key, limit_s)
        await lane.stop()
        await run.lab.encoding("identity")
        encoding = {k.lower(): v for k, v in opened.headers}.get(
            "content-encoding", "none"
        )
        sizes = _bursts(lane)
        median = statistics.median(sizes) if sizes else 0
        if mode == "gzip":
            run.check(
                "gzip: the response is compressed",
                "Content-Encoding: gzip",
                f"Content-Encoding: {encoding}; {sum(sizes)} events, "
                f"median {median:g} per read",
                encoding == "gzip",
            )
        else:
            run.check(
                "A buffering proxy: events arrive in bursts",
                f"many events per read (~{t.buffer_bytes} bytes held back)",
                f"{sum(sizes)} events in {len(sizes)} reads, "
                f"median {median:g} per read",
                median >= BURST_MIN_EVENTS,
            )
        found = [w for w in advisor.warnings() if w.key == key]
        run.check(
            f"The app warns: {key}",
            f"a `{key}` warning naming the cause",
            _named(found[0].title, found[0].detail) if found else "no warning",
            bool(found),
        )
