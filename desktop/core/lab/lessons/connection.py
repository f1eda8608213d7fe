"""Lessons where the connection ends under the client: drop, restart, stall, cut.

Each follows one shape: open our engine on `/api/events`, let the server publish,
break the connection the lab's way, let the server publish while we are away,
watch the reconnect, then check it from the records and the server's logs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Comment,
    Connecting,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
)
from desktop.core.lab.client import EVENTS_TOPIC
from desktop.core.lab.lanes import ConnectionEnd, lane_of
from desktop.core.lab.lessons.checks import (
    CONNECT_S,
    EVENTS_PATH,
    check_continuity,
    check_resume,
    check_server_resume,
    check_waited,
    last_id_before,
    publish_some,
    published_between,
)

if TYPE_CHECKING:
    from desktop.core.lab.lessons.run import LessonRun, RecordedStream

_PARTIAL = b"this event is never fini"  # what the lab's cut leaves on the wire
# How the Lab's legend names a lane ending (desktop/ui/lab/legend.py, lab/export.py).
_LANE_TEXT = {ConnectionEnd.MID_EVENT: "cut mid-event"}


async def _open_and_publish(run: LessonRun, **options: object) -> RecordedStream:
    await run.lab.retry(run.timing.retry_ms)
    app = run.lane("app", EVENTS_PATH, **options)
    await app.wait(Open, "the first connection opens", CONNECT_S)
    await publish_some(run)
    await run.pause()
    return app


async def _reconnect(
    run: LessonRun, app: RecordedStream, gap_index: int
) -> tuple[Connecting, Open]:
    _, conn = await app.wait(Connecting, "a reconnect", CONNECT_S, after=gap_index)
    _, opened = await app.wait(Open, "the reconnect opens", CONNECT_S, after=gap_index)
    return conn, opened


async def drop(run: LessonRun) -> None:
    """Lesson 1: the server drops the connection."""
    app = await _open_and_publish(run)
    since = app.of(Open)[0].wall
    await run.lab.drop()
    gap_i, gap = await app.wait(Reconnecting, "the drop ends the connection", 5.0)
    sent_id = last_id_before(app, gap_i)
    await publish_some(run)  # the server goes on while we are away
    conn, opened = await _reconnect(run, app, gap_i)
    await publish_some(run)
    await run.pause()
    run.check(
        "The server drops the connection",
        "connection ends, a reconnect is scheduled",
        f"{gap.outcome.value}: {gap.reason}",
        gap.outcome in (Outcome.EOF, Outcome.NETWORK),
    )
    check_waited(run, app, gap_i, run.timing.retry_ms, "Waits the retry: time")
    check_resume(run, conn, sent_id)
    await check_server_resume(run, opened, conn, sent_id, EVENTS_TOPIC)
    await check_continuity(run, app, since)
    away = published_between(run, gap.wall, opened.wall)
    run.check(
        "Events published while away",
        "at least 1 (a job runs during the gap)",
        f"{away}, all received after the resume" if away else "0",
        away > 0,
    )


async def restart(run: LessonRun) -> None:
    """Lesson 2: the server process restarts on the same port."""
    app = await _open_and_publish(run)
    await run.ctx.restart_server()
    gap_i, gap = await app.wait(Reconnecting, "the restart ends the connection", 5.0)
    sent_id = last_id_before(app, gap_i)  # the old server's `stopping` event
    open_i, opened = await app.wait(
        Open, "the client reconnects to the new server", 30.0, after=gap_i
    )
    conn = next(r for r in reversed(app.records[:open_i]) if isinstance(r, Connecting))
    _, replay_gap = await app.wait(
        Event,
        "the replay-gap event",
        5.0,
        after=open_i,
        where=lambda e: e.type == "replay-gap",
    )
    await run.pause()
    failed = sum(1 for r in app.records[gap_i:open_i] if isinstance(r, Reconnecting))
    run.check(
        "The old server goes away",
        "the connection ends; the client retries",
        f"{gap.outcome.value}: {gap.reason}",
        gap.outcome in (Outcome.EOF, Outcome.NETWORK),
    )
    run.check(
        "The client reconnects to the new process",
        "200 on the same URL, after retrying while it was down",
        f"{opened.status} after {failed} failed attempt(s), "
        f"{(opened.at - gap.at):.2f} s after the drop",
        opened.status == 200,
    )
    check_resume(run, conn, sent_id)
    try:
        detail = json.loads(replay_gap.data)
    except ValueError:
        detail = {}
    reason = detail.get("reason") if isinstance(detail, dict) else None
    run.check(
        "The new log does not know that id",
        "`replay-gap` (reason: unknown)",
        f"`replay-gap` (reason: {reason})",
        reason == "unknown",
    )
    later = [e for e in app.of(Event, open_i) if e.id and e.type != "replay-gap"]
    new_run = later[0].id.split("-", 1)[0] if later else ""
    old_run = sent_id.split("-", 1)[0]
    run.check(
        "Ids come from a new run",
        f"a run prefix other than {old_run!r}",
        f"{new_run!r}" if new_run else "no event after the gap",
        bool(new_run) and new_run != old_run,
    )


async def stall(run: LessonRun) -> None:
    """Lesson 3: the server stalls, no keep-alive; the read timeout ends it."""
    t = run.timing
    app = await _open_and_publish(run, read_timeout=t.read_timeout_s, comments=True)
    since = app.of(Open)[0].wall
    stall_index = len(app.records)
    await run.lab.stall(t.stall_s)
    await publish_some(run)  # queued behind the stall
    gap_i, gap = await app.wait(
        Reconnecting, "the read timeout", t.read_timeout_s + t.stall_s + 2
    )
    items = app.records[stall_index:gap_i]
    heard = [r for r in items if isinstance(r, Event | Comment)]
    last = max(
        (r.at for r in app.records[:gap_i] if isinstance(r, Event | Comment | Open)),
        default=gap.at,
    )
    silence_ms = (gap.at - last) * 1000
    conn, _ = await _reconnect(run, app, gap_i)
    await publish_some(run)
    await run.pause()
    run.check(
        "Nothing arrives during the stall",
        "no event, no ping",
        f"{len(heard)} item(s)" if heard else "silence",
        not heard,
    )
    run.check(
        "The read timeout ends the connection",
        "timeout after " + t.tolerance(t.read_timeout_s * 1000) + " of silence",
        f"{gap.outcome.value} after {silence_ms:.0f} ms of silence",
        gap.outcome is Outcome.TIMEOUT
        and t.delay_ok(t.read_timeout_s * 1000, silence_ms),
    )
    check_waited(run, app, gap_i, t.retry_ms, "Then waits the retry: time")
    check_resume(run, conn, last_id_before(app, gap_i))
    await check_continuity(run, app, since)


async def cut(run: LessonRun) -> None:
    """Lesson 9: half an event, then FIN."""
    app = await _open_and_publish(run, raw=True)
    since = app.of(Open)[0].wall
    await run.lab.cut()
    gap_i, gap = await app.wait(Reconnecting, "the cut ends the connection", 5.0)
    attempt = gap.attempt
    raw = b"".join(r.data for r in app.of(RawChunk) if r.connection == attempt)
    partial = [e for e in app.of(Event) if "never fini" in e.data]
    conn, opened = await _reconnect(run, app, gap_i)
    await publish_some(run)
    await run.pause()
    run.check(
        "Half an event arrives, then FIN",
        "the bytes of an unfinished event",
        "last bytes: …" + raw[raw.rfind(b"data:") :].decode("utf-8", "replace")
        if _PARTIAL in raw
        else "no partial event in the bytes",
        _PARTIAL in raw,
    )
    # httpx reports the FIN inside a chunked body as "incomplete chunked read";
    # the decoder's Notice is what says an unfinished event was thrown away.
    notices = [
        n
        for n in app.of(Notice)
        if n.connection == attempt and n.kind is NoticeKind.DISCARDED
    ]
    said = (
        "the partial event was discarded (Notice: "
        f"{notices[0].detail.rpartition(': ')[2]})"
        if notices
        else "no `discarded` Notice"
    )
    run.check(
        "The partial event is discarded",
        "not dispatched; the partial event was discarded (Notice)",
        f"{len(partial)} dispatched; {said}; {gap.reason}",
        not partial and bool(notices),
    )
    segment = next(
        (
            s
            for s in lane_of("app", "app", app.records).segments
            if s.attempt == attempt
        ),
        None,
    )
    shown = (
        "no lane segment for the cut connection"
        if segment is None
        else _LANE_TEXT.get(segment.ending, segment.ending_text)
    )
    run.check(
        "The Lab's lane shows the cut",
        _LANE_TEXT[ConnectionEnd.MID_EVENT],
        shown,
        segment is not None and segment.ending is ConnectionEnd.MID_EVENT,
    )
    check_waited(run, app, gap_i, run.timing.retry_ms, "Reconnects after retry:")
    check_resume(run, conn, last_id_before(app, gap_i))
    await check_server_resume(
        run, opened, conn, last_id_before(app, gap_i), EVENTS_TOPIC
    )
    await check_continuity(run, app, since)
