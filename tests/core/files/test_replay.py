"""Replay: what ``sse-viewer mock`` sends for a recording, rebuilt or raw."""

from __future__ import annotations

import pytest

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    DelaySource,
    ErrorResponse,
    Event,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
    RetryField,
)
from desktop.core.files.recording import header_for
from desktop.core.files.replay import ReplayError, replay_of

HEADER = header_for(StreamOptions("http://127.0.0.1:9/feed?token=x"), raw=True)
HEADERS = (("content-type", "text/event-stream"),)


def _open(connection: int, at: float) -> Open:
    return Open(200, HEADERS, connection, "http://127.0.0.1:9/feed", at, at)


def _event(type_: str, data: str, id_: str, at: float, connection: int = 1) -> Event:
    return Event(type_, data, id_, None, connection, at, at)


def _decoded(wire: bytes) -> list[tuple[str, str, str]]:
    return [
        (r.type, r.data, r.id) for r in Decoder().feed(wire) if isinstance(r, Event)
    ]


def test_rebuilt_events_carry_an_id_line_only_where_the_id_in_force_changed() -> None:
    rows = [
        Connecting(1, "http://127.0.0.1:9/feed", "", 10.0, 10.0),
        _open(1, 10.0),
        RetryField(1500, 1, 10.01, 10.01),
        _event("message", "a", "1", 10.01),
        _event("tick", "b\nc", "1", 10.05),  # no id: sent, the id in force stays
        _event("message", "d", "", 10.1),  # an empty id: reset it
        Comment("ping", 1, 10.2, 10.2),
        _event("x", " e", "7", 10.3),
        Reconnecting(20, DelaySource.SERVER, "eof", Outcome.EOF, 1, 10.5, 10.5),
        Connecting(2, "http://127.0.0.1:9/feed", "7", 13.0, 13.0),
        _open(2, 13.0),
        _event("x", "f", "8", 13.2, connection=2),
        Closed("stopped", Outcome.STOPPED, False, None, 13.4, 13.4),
    ]
    replay = replay_of(HEADER, rows)
    wire = b"".join(piece.data for piece in replay.pieces)
    assert wire == (
        b"retry: 1500\n\n"
        b"id: 1\ndata: a\n\n"
        b"event: tick\ndata: b\ndata: c\n\n"
        b"id:\ndata: d\n\n"
        b": ping\n\n"
        b"id: 7\nevent: x\ndata:  e\n\n"
        b"id: 8\nevent: x\ndata: f\n\n"
    )
    assert _decoded(wire) == [
        (e.type, e.data, e.id) for e in rows if isinstance(e, Event)
    ]
    # Connection 2 follows connection 1's end (10.5 s): the reconnect is left out.
    assert [round(p.at, 3) for p in replay.pieces] == [
        0.01,
        0.01,
        0.05,
        0.1,
        0.2,
        0.3,
        0.7,
    ]
    assert replay.duration == pytest.approx(0.9)
    assert [p.retry for p in replay.pieces] == [1500] * 7
    assert (replay.events, replay.raw, replay.rebuilt) == (5, 0, 2)
    assert replay.path == "/feed"


def test_raw_bytes_are_cut_at_block_ends_and_reads_and_kept_exactly() -> None:
    reads = [b"retry: 5\r\n\r\nid: a\r\ndata: x", b"\r\n\r\n: c\r\n\r\ndata: y\r"]
    rows = [
        Connecting(1, "http://127.0.0.1:9/feed", "", 1.0, 1.0),
        _open(1, 1.0),
        RawChunk(reads[0], 1, 1.1, 1.1),
        RetryField(5, 1, 1.1, 1.1),
        RawChunk(reads[1], 1, 1.3, 1.3),
        _event("message", "x", "a", 1.3),
        Closed("server closed", Outcome.EOF, False, None, 1.4, 1.4),
    ]
    replay = replay_of(HEADER, rows)
    assert [(p.data, p.event, p.id, p.retry) for p in replay.pieces] == [
        (b"retry: 5\r\n\r\n", None, "", 5),
        (b"id: a\r\ndata: x", None, "", 5),
        (b"\r\n\r\n", "message", "a", 5),
        (b": c\r\n\r\n", None, "a", 5),
        (b"data: y\r", None, "a", 5),  # unfinished at the end: sent as recorded
    ]
    assert [round(p.at, 3) for p in replay.pieces] == [0.1, 0.1, 0.3, 0.3, 0.3]
    assert b"".join(p.data for p in replay.pieces) == b"".join(reads)
    assert (replay.raw, replay.rebuilt, replay.notes) == (1, 0, ())


def test_raw_bytes_that_lost_events_give_way_to_the_records() -> None:
    rows = [
        _open(1, 1.0),
        RawChunk(b"data: late\n\n", 1, 1.2, 1.2),  # the reads before it were trimmed
        _event("message", "early", "", 1.1),
        _event("message", "late", "", 1.2),
    ]
    replay = replay_of(HEADER, rows)
    assert _decoded(b"".join(p.data for p in replay.pieces)) == [
        ("message", "early", ""),
        ("message", "late", ""),
    ]
    assert replay.rebuilt == 1
    assert "rebuilt from its records" in replay.notes[0]


def test_a_recording_of_a_non_stream_answer_has_nothing_to_replay() -> None:
    answer = ErrorResponse(
        404,
        "Not Found",
        "HTTP/1.1",
        "http://127.0.0.1:9/feed",
        (("content-type", "text/html"),),
        "text/html",
        "<p>no",
        b"<p>no",
        5,
        True,
    )
    rows = [
        Connecting(1, "http://127.0.0.1:9/feed", "", 1.0, 1.0),
        Closed("HTTP 404", Outcome.STATUS, True, 404, 1.1, 1.1, response=answer),
    ]
    with pytest.raises(ReplayError, match=r"server answered 404 Not Found \(text/html"):
        replay_of(HEADER, rows)
    with pytest.raises(ReplayError, match="holds no events"):
        replay_of(HEADER, rows[:1])
