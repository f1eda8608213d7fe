"""The naive client (``send_last_event_id=False``, tail --no-resume) never resumes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Connecting, Event
from desktop.core.engine.stream import EventStream
from desktop.tail import build_parser, options_from

from rawserver import Hang, sse

if TYPE_CHECKING:
    from desktop.core.engine.records import Record

    from rawserver import RawServer


async def _records(options: StreamOptions) -> list[Record]:
    records: list[Record] = []
    async with asyncio.timeout(10), EventStream(options) as stream:
        async for record in stream:
            records.append(record)
    return records


def test_never_sends_last_event_id_but_keeps_its_last_event_id(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"id: 7\ndata: a\n\n"),
        sse(b"data: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    options = StreamOptions(
        raw_server.url(),
        retry_ms=10,
        count=3,
        last_event_id="3",
        send_last_event_id=False,
    )
    records = asyncio.run(_records(options))
    assert [r.header("Last-Event-ID") for r in raw_server.requests] == [None] * 3
    # What each attempt carried: nothing, though the id in force is "7".
    assert [r.last_event_id for r in records if isinstance(r, Connecting)] == [""] * 3
    assert [(r.data, r.id) for r in records if isinstance(r, Event)] == [
        ("a", "7"),
        ("b", "7"),
        ("c", "7"),
    ]


def test_tail_no_resume_sets_the_option() -> None:
    parser = build_parser()
    assert options_from(parser.parse_args(["http://h/"])).send_last_event_id
    naive = options_from(parser.parse_args(["http://h/", "--no-resume"]))
    assert naive.send_last_event_id is False
