"""Notices: what the spec makes a client ignore silently, said out loud by the decoder.

Each row: input bytes -> the decoder's items and notices in order.  Every cut of
each row must give the same sequence (the notices are made by the line state
machine, whichever path a split sends a line through).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings, strategies as st

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.records import Event, Notice, NoticeKind, RetryField

if TYPE_CHECKING:
    from collections.abc import Iterable

K = NoticeKind
Item = tuple[Any, ...]


def E(data: str, id: str = "", type: str = "message") -> Item:  # noqa: N802
    return ("event", type, data, id)


def N(kind: NoticeKind) -> Item:  # noqa: N802
    return ("notice", kind)


def run(chunks: Iterable[bytes]) -> tuple[list[Item], list[Notice]]:
    decoder = Decoder()
    out: list[Item] = []
    notices: list[Notice] = []
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if isinstance(item, Event):
                out.append(("event", item.type, item.data, item.id))
            elif isinstance(item, Notice):
                out.append(("notice", item.kind))
                notices.append(item)
            else:
                assert isinstance(item, RetryField), item
    last = decoder.discard()
    if last is not None:
        out.append(("notice", last.kind))
        notices.append(last)
    return out, notices


ROWS: list[tuple[str, bytes, list[Item]]] = [
    ("id-reset-space", b"id: 1\ndata: a\n\nid: \ndata: b\n\n",
     [E("a", "1"), N(K.ID_RESET), E("b")]),
    ("id-reset-bare", b"id: 1\ndata: a\n\nid\ndata: b\n\n",
     [E("a", "1"), N(K.ID_RESET), E("b")]),
    ("id-reset-crlf", b"id: 1\r\ndata: a\r\n\r\nid:\r\ndata: b\r\n\r\n",
     [E("a", "1"), N(K.ID_RESET), E("b")]),
    ("id-reset-alone", b"id: 1\ndata: a\n\nid: \n\n", [E("a", "1"), N(K.ID_RESET)]),
    ("empty-id-when-empty", b"id:\ndata: a\n\n", [E("a")]),
    ("retry-unit", b"retry: 5s\ndata: a\n\n", [N(K.RETRY_IGNORED), E("a")]),
    ("retry-negative", b"retry: -5\n\n", [N(K.RETRY_IGNORED)]),
    ("retry-space", b"retry:  7\n\n", [N(K.RETRY_IGNORED)]),
    ("retry-empty", b"retry\n\n", [N(K.RETRY_IGNORED)]),
    ("retry-non-ascii-digit", "retry: ٣\n\n".encode(), [N(K.RETRY_IGNORED)]),
    ("retry-valid", b"retry: 100\n\n", []),
    ("id-nul", b"id: 4\ndata: a\n\nid: a\0b\ndata: x\n\n",
     [E("a", "4"), N(K.ID_NUL), E("x", "4")]),
    ("id-nul-no-space", b"id:\0\ndata: x\n\n", [N(K.ID_NUL), E("x")]),
    ("event-without-data", b"event: done\n\n", [N(K.NO_DATA)]),
    ("event-without-data-crlf", b"event:done\r\n\r\n", [N(K.NO_DATA)]),
    ("id-without-data", b"id: 3\n\ndata: a\n\n", [N(K.NO_DATA), E("a", "3")]),
    ("empty-data-dispatches", b"event: x\ndata:\n\n", [E("", type="x")]),
    ("retry-only-block", b"retry: 9\n\n", []),
    ("comment-only-block", b": ping\n\n", []),
    ("unknown-field-block", b"foo: bar\n\n", []),
    ("bare-reset-block", b"id:\n\n", []),
    ("discarded-data", b"data: a\n\ndata: b\n", [E("a"), N(K.DISCARDED)]),
    ("discarded-line", b"data: a\n\ndata: b", [E("a"), N(K.DISCARDED)]),
    ("nothing-discarded", b"data: a\n\n", [E("a")]),
    ("field-left-open", b"data: a\n\nevent: x\n", [E("a")]),
    # The fast path must not take a block while an earlier line's field waits.
    ("slow-id-then-fast-block", b"id:1\ndata: a\n\n\n", [E("a", "1")]),
    ("slow-event-then-blank", b"event:x\ndata: a\n\n\n", [E("a", type="x")]),
    ("fast-then-no-data", b"id: 1\ndata: a\n\nevent: t\n\n",
     [E("a", "1"), N(K.NO_DATA)]),
]  # fmt: skip
IDS = [row[0] for row in ROWS]
COMPLETE = [row[1] for row in ROWS if row[1].endswith((b"\n\n", b"\r\n\r\n"))]


def _cuts(data: bytes) -> Iterable[list[bytes]]:
    """Every split into up to four pieces (all splits of short rows)."""
    positions = range(1, len(data))
    for n in range(min(3, len(positions)) + 1):
        for chosen in itertools.combinations(positions, n):
            bounds = [0, *chosen, len(data)]
            yield [data[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize(("name", "stream", "expected"), ROWS, ids=IDS)
def test_notice_rows(name: str, stream: bytes, expected: list[Item]) -> None:
    assert run([stream])[0] == expected


@pytest.mark.parametrize(("name", "stream", "expected"), ROWS, ids=IDS)
def test_notices_do_not_depend_on_read_splits(
    name: str, stream: bytes, expected: list[Item]
) -> None:
    _, whole = run([stream])
    details = [(n.kind, n.detail) for n in whole]
    for chunks in _cuts(stream):
        items, notices = run(chunks)
        assert items == expected, chunks
        assert [(n.kind, n.detail) for n in notices] == details, chunks


@settings(deadline=None, database=None, max_examples=200)
@given(
    blocks=st.lists(st.sampled_from(COMPLETE), max_size=6),
    data=st.data(),
)
def test_sampled_splits_of_mixed_rows(blocks: list[bytes], data: st.DataObject) -> None:
    """Rows run together (ids carry over) give the same for any split."""
    stream = b"".join(blocks)
    if len(stream) < 2:
        return
    cuts = data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=len(stream)))
    bounds = [0, *sorted(cuts), len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert run(chunks)[0] == run([stream])[0]


def test_notice_fields_name_the_line() -> None:
    decoder = Decoder(connection=3)
    (notice,) = decoder.feed(b"retry: 5s\n", at=12.5, wall=1e9)
    assert isinstance(notice, Notice)
    assert notice.kind is K.RETRY_IGNORED
    assert (notice.connection, notice.at, notice.wall) == (3, 12.5, 1e9)
    assert "'5s'" in notice.detail
    items = decoder.feed(b"\nid: 7\ndata: a\n\nid\n\nevent: done\n\n")
    details = [i.detail for i in items if isinstance(i, Notice)]
    assert details == [
        "an empty id: field reset the last event ID (was '7')",
        "event: 'done' came in a block without data: not dispatched",
    ]
    decoder.feed(b"event: half\ndata: one\ndata: two\n")
    last = decoder.discard(at=13.0, wall=1e9 + 1)
    assert last is not None
    assert last.detail == (
        "the connection ended before a blank line: an event of type 'half' "
        "with 2 data lines discarded"
    )
    assert decoder.discard() is None, "close forgets the partial event"


def test_a_nul_id_keeps_the_previous_id_and_says_so() -> None:
    decoder = Decoder(last_event_id="seed")
    items = decoder.feed(b"id: x\0y\ndata: a\n\n")
    assert [type(i) for i in items] == [Notice, Event]
    assert isinstance(items[1], Event)
    assert items[1].id == "seed"
    assert decoder.last_event_id == "seed"


def test_usual_streams_give_no_notice() -> None:
    frames = b"".join(
        b'id: %d\nevent: tick\ndata: {"seq": %d}\n\n: ping\n\n' % (i, i)
        for i in range(200)
    )
    stream = b"retry: 3000\n\n" + frames + b"data: a\ndata: b\n\n"
    items, notices = run([stream[i : i + 97] for i in range(0, len(stream), 97)])
    assert notices == []
    assert len(items) == 201
