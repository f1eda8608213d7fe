"""Warnings end to end: the engine against a scripted byte-exact server, judged live.

Each test runs ``EventStream`` over real sockets and feeds every batch to an
``Advisor`` as the app does, while a poller calls ``check_idle`` as the app's
4 Hz refresh does (faster here, for short timings).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import TYPE_CHECKING

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Closed, Event, Notice, NoticeKind
from desktop.core.engine.stream import EventStream
from desktop.core.insight.advice import Advisor

from rawserver import Hang, Pause, RawServer, Reset, Send, head, sse

if TYPE_CHECKING:
    from desktop.core.engine.records import Record


async def _judge(
    opts: StreamOptions, advisor: Advisor, *, events: int | None = None
) -> list[Record]:
    """Run the stream until Closed (or ``events`` events), feeding ``advisor``."""
    records: list[Record] = []

    async def poll() -> None:
        while True:
            advisor.check_idle(time.monotonic())
            await asyncio.sleep(0.01)

    async with asyncio.timeout(10), asyncio.TaskGroup() as group:
        poller = group.create_task(poll())
        async with EventStream(opts) as stream:
            async for batch in stream.batches():
                advisor.feed(batch)
                records += batch
                seen = sum(isinstance(r, Event) for r in records)
                if isinstance(batch[-1], Closed) or (events and seen >= events):
                    break
        poller.cancel()
    return records


def judge(opts: StreamOptions, advisor: Advisor, **kwargs: int) -> list[Record]:
    return asyncio.run(_judge(opts, advisor, **kwargs))


def keys(advisor: Advisor) -> list[str]:
    return [a.key for a in advisor.warnings()]


def test_spec_traps_arrive_as_notices_and_warnings(raw_server: RawServer) -> None:
    body = (
        b"retry: 5s\n\n"
        b"id: 1\nevent: named\ndata: a\n\n"
        b"id\ndata: b\n\n"
        b"id: x\x00y\ndata: c\n\n"
        b"event: done\n\n"
        b"data: d\n\n"
        b"data: never finished\n"
    )
    raw_server.add(sse(body[:30], body[30:70], body[70:], pause=0.02))
    advisor = Advisor()
    records = judge(StreamOptions(raw_server.url(), reconnect=False), advisor)
    notices = [r for r in records if isinstance(r, Notice)]
    assert [n.kind for n in notices] == [
        NoticeKind.RETRY_IGNORED,
        NoticeKind.ID_RESET,
        NoticeKind.ID_NUL,
        NoticeKind.NO_DATA,
        NoticeKind.DISCARDED,
    ]
    assert all(n.connection == 1 for n in notices)
    assert isinstance(records[-1], Closed)
    assert "discarded" in records[-1].reason
    assert sorted(keys(advisor)) == [
        "discarded",
        "id-nul",
        "id-reset",
        "no-data",
        "retry-ignored",
        "unnamed-mixed",  # "named" beside the unnamed b, c, d
    ]


def test_a_connection_lost_mid_event_discards_it(raw_server: RawServer) -> None:
    raw_server.add(
        (Send(head()), Send(b"data: a\n\ndata: half"), Pause(0.05), Reset()),
    )
    advisor = Advisor()
    records = judge(StreamOptions(raw_server.url(), reconnect=False), advisor)
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert notice.kind is NoticeKind.DISCARDED
    assert "unfinished line" in notice.detail
    assert keys(advisor) == ["discarded"]


def test_gzip_is_named(raw_server: RawServer) -> None:
    gzip = zlib.compressobj(wbits=31)
    chunks = [
        gzip.compress(b"data: %d\n\n" % i) + gzip.flush(zlib.Z_SYNC_FLUSH)
        for i in range(3)
    ]
    raw_server.add(
        sse(*chunks, headers=[("Content-Encoding", "gzip")], pause=0.01, end=Hang())
    )
    advisor = Advisor()
    records = judge(StreamOptions(raw_server.url()), advisor, events=3)
    assert [r.data for r in records if isinstance(r, Event)] == ["0", "1", "2"]
    (advice,) = advisor.warnings()
    assert (advice.key, advice.title) == (
        "compressed",
        "Compressed response (Content-Encoding: gzip)",
    )


def _frames(start: int, n: int) -> bytes:
    return b"".join(
        b"id: %d\nevent: tick\ndata: %d\n\n" % (i, i) for i in range(start, start + n)
    )


def test_bursts_after_silences(raw_server: RawServer) -> None:
    chunks = [_frames(8 * i, 8) for i in range(5)]
    raw_server.add(sse(*chunks, pause=0.15, end=Hang()))
    advisor = Advisor(min_silence_s=0.1)
    judge(StreamOptions(raw_server.url()), advisor, events=40)
    (advice,) = advisor.warnings()
    assert advice.key == "bursts"
    assert advice.count >= 3
    assert "no X-Accel-Buffering: no" in advice.action
    assert "Cache-Control: no-cache without no-transform" in advice.action


def test_a_steady_stream_and_a_stall(raw_server: RawServer) -> None:
    steady = [_frames(i, 1) for i in range(40)]
    raw_server.add(
        (*sse(*steady, pause=0.01, end=Pause(0.4)), Send(_frames(40, 1)), Hang())
    )
    advisor = Advisor(idle_after_s=0.25, min_silence_s=0.1)
    records = judge(StreamOptions(raw_server.url()), advisor, events=41)
    assert not [r for r in records if isinstance(r, Notice)]
    (advice,) = advisor.warnings()
    assert (advice.key, advice.count) == ("idle", 1)
    assert not advisor.idle, "bytes came again"


def test_a_clean_steady_stream_gives_no_warning(raw_server: RawServer) -> None:
    steady = [_frames(i, 1) + b": ping\n\n" for i in range(60)]
    raw_server.add(
        sse(
            b"retry: 1000\n\n",
            *steady,
            headers=[("X-Accel-Buffering", "no")],
            pause=0.005,
            end=Hang(),
        )
    )
    advisor = Advisor(idle_after_s=0.5, min_silence_s=0.1)
    judge(StreamOptions(raw_server.url()), advisor, events=60)
    assert advisor.warnings() == []


def _two_connections(raw_server: RawServer, second_start: int) -> Advisor:
    raw_server.add(
        sse(b"retry: 10\n\n", _frames(1, 5)),  # ends: a resume with id 5
        sse(_frames(second_start, 5), end=Hang()),
    )
    advisor = Advisor()
    judge(StreamOptions(raw_server.url()), advisor, events=10)
    return advisor


def test_a_resume_that_repeats_received_ids_is_flagged(raw_server: RawServer) -> None:
    advisor = _two_connections(raw_server, 1)  # ignores Last-Event-ID: starts over
    (advice,) = advisor.warnings()
    assert advice.key == "ids-repeated" and advice.count == 1
    assert advice.detail == "sent '5', got '1' again"


def test_a_resume_that_goes_on_after_the_last_id_is_fine(raw_server: RawServer) -> None:
    assert _two_connections(raw_server, 6).warnings() == []
