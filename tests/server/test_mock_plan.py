"""The mock's plan: where a Last-Event-ID resumes, and the ids of later passes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.mock import MockSource, Plan, Playback, loop_id
from server.subscriptions import Subscription


@dataclass(frozen=True)
class Piece:
    at: float
    data: bytes
    event: str | None
    id: str
    retry: int | None = None


@dataclass(frozen=True)
class Script:
    pieces: tuple[Piece, ...]
    duration: float


# ids: a, (a again: no id: sent), b, then a reset to "", then c
SCRIPT = Script(
    (
        Piece(0.0, b"retry: 50\n\n", None, "", 50),
        Piece(0.1, b"id: a\ndata: 1\n\n", "message", "a", 50),
        Piece(0.2, b"data: 2\n\n", "message", "a", 50),
        Piece(0.3, b"id: b\r\ndata: 3\r\n\r\n", "message", "b", 50),
        Piece(0.4, b"id\ndata: 4\n\n", "message", "", 50),
        Piece(0.5, b"id: c\ndata: 5\r\r", "message", "c", 50),
        Piece(0.6, b": bye\n\n", None, "c", 50),
    ),
    1.0,
)


@pytest.mark.parametrize(
    ("last_event_id", "start"),
    [
        (None, 0),
        ("", 0),
        ("a", 2),  # right after the first event that carried it
        ("b", 4),
        ("c", None),  # only a comment follows: 204, nothing to resume
        ("zzz", 0),  # never in the recording: from the start
    ],
)
def test_where_a_request_resumes(last_event_id: str | None, start: int | None) -> None:
    assert Plan(SCRIPT, Playback()).start(last_event_id) == start


def test_after_the_last_event_nothing_follows_unless_it_loops() -> None:
    script = Script(SCRIPT.pieces[:6], 1.0)
    assert Plan(script, Playback()).start("c") is None
    looping = Plan(script, Playback(loop=True))
    assert looping.start("c") == 6  # the second pass
    assert looping.start("b/loop3") == 2 * 6 + 4
    assert looping.start("b/loop1") == 0  # no pass 1 sends that id


def test_later_passes_add_their_id_before_the_blank_line() -> None:
    plan = Plan(SCRIPT, Playback(loop=True))
    n = len(SCRIPT.pieces)
    assert plan.wire(1) == (b"id: a\ndata: 1\n\n", ("a", "message"))
    assert plan.wire(n + 1)[0] == b"id: a\ndata: 1\nid: a/loop2\n\n"
    assert plan.wire(n + 2)[0] == b"data: 2\nid: a/loop2\n\n"
    assert plan.wire(n + 3)[0] == b"id: b\r\ndata: 3\r\nid: b/loop2\n\r\n"
    assert plan.wire(n + 4)[0] == b"id\ndata: 4\n\n"  # a reset stays a reset
    assert plan.wire(2 * n + 5)[0] == b"id: c\ndata: 5\rid: c/loop3\n\r"
    assert loop_id("a", 0) == "a"
    assert plan.retry_before(0) is None
    assert plan.retry_before(n + 2) == 50


def test_the_source_keeps_the_recorded_gaps_from_the_resume_point() -> None:
    plan = Plan(SCRIPT, Playback(speed=2.0))
    source = MockSource(plan, 2, now=100.0)  # resumed after "a" (0.1 s in)
    assert source.next_due() == pytest.approx(100.05)  # (0.2 - 0.1) / 2
    assert source.take(100.04, 1 << 16).data == b""
    chunk = source.take(100.1, 1 << 16)  # pieces at 0.2 and 0.3
    assert chunk.data == b"data: 2\n\nid: b\r\ndata: 3\r\n\r\n"
    assert (chunk.events, chunk.last_id) == (2, "b")
    assert (
        source.take(100.3, 1 << 16).data
        == b"id\ndata: 4\n\nid: c\ndata: 5\r\r: bye\n\n"
    )
    assert source.next_due() == pytest.approx(100.45)  # the recording's end
    assert not source.done
    source.take(100.45, 1 << 16)
    assert source.done


def test_a_subscription_writes_pieces_that_end_no_event() -> None:
    """A ``retry:`` or a comment alone (a ping in the recording) is due on its own."""
    source = MockSource(Plan(SCRIPT, Playback()), 0, now=0.0)
    sub = Subscription(
        1, client="test", path="/", topic="mock", backlog_bytes=1 << 20, source=source
    )
    assert sub.take(0.0, 1 << 16).data == b"retry: 50\n\n"
