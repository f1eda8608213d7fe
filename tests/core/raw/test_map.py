"""The raw map agrees with the decoder, read for read, and knows every byte.

The decoder is the truth: for random streams cut into random reads, the events
the map says were dispatched are the decoder's (type, data, id, retry), in order,
each produced by the same read; so are comments and valid ``retry:`` fields.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.records import Comment, Event, RetryField
from desktop.core.raw.map import Fate, LineEnding, LineKind, Output, RawMap
from desktop.core.raw.target import MappedEvent, events_of, target

from cuts import BOMS, ENDS, LINES, TAILS, cut, sse_streams

SETTINGS = settings(
    deadline=None,
    database=None,
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow],
)

# Beyond the decoder's: a BOM cut short, a tail ending mid UTF-8 sequence.
streams = sse_streams([*BOMS, b"\xef\xbb"], [*TAILS, b"\xe2\x82"])


def decode(
    reads: list[bytes], last_id: str = "", limit: int = 1 << 20
) -> tuple[list[object], bool]:
    """The decoder's records, each read's ``at`` being its index."""
    decoder = Decoder(comments=True, last_event_id=last_id, max_event_bytes=limit)
    records: list[object] = []
    for i, chunk in enumerate(reads):
        records += decoder.feed(chunk, float(i), 0.0)
    return records, decoder.close()


def build(reads: list[bytes], last_id: str = "", limit: int = 1 << 20) -> RawMap:
    raw = RawMap(last_event_id=last_id, limit=limit)
    for i, chunk in enumerate(reads):
        raw.extend(chunk, float(i), 0.0)
    return raw


def agree(reads: list[bytes], last_id: str = "", limit: int = 1 << 20) -> RawMap:
    """Assert the map and the decoder agree on ``reads``; return the map."""
    records, discarded = decode(reads, last_id, limit)
    raw = build(reads, last_id, limit)
    events = [r for r in records if isinstance(r, Event)]
    assert events_of(raw) == [
        MappedEvent(e.type, e.data, e.id, e.retry) for e in events
    ]
    # Every output in the order and read the decoder yields its record.
    kinds = {Event: Output.EVENT, Comment: Output.COMMENT, RetryField: Output.RETRY}
    got = [
        (kinds[type(r)], int(r.at))  # type: ignore[attr-defined]
        for r in records
        if type(r) in kinds
    ]
    mapped = [raw.output(i)[:2] for i in range(raw.outputs)]
    assert mapped == got
    for i in range(raw.outputs):
        kind, _read, line = raw.output(i)
        if kind is Output.COMMENT:
            record = records[[j for j, r in enumerate(records) if type(r) in kinds][i]]
            assert isinstance(record, Comment)
            assert raw.comment(line) == record.text
    assert raw.discards() == discarded
    # The lines tile the bytes after the BOM, up to the open line.
    pos = 3 if raw.bom else 0
    for index in range(raw.lines):
        start, stop, end, ending, _kind = raw.line(index)
        assert (start, ending is not LineEnding.NONE) == (pos, True)
        assert start <= stop < end
        pos = end
    assert pos == raw.open_start
    return raw


@SETTINGS
@given(stream=streams, data=st.data(), last_id=st.sampled_from(["", "s"]))
def test_map_and_decoder_agree_for_any_cuts(
    stream: bytes, data: st.DataObject, last_id: str
) -> None:
    cuts = data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=30))
    agree(cut(stream, cuts), last_id)


@SETTINGS
@given(stream=st.binary(max_size=300), data=st.data())
def test_map_and_decoder_agree_on_arbitrary_bytes(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=30))
    agree(cut(stream, cuts))


VALID = [line for line in LINES if line.decode("utf-8", "ignore").encode() == line]
valid_streams = st.builds(
    lambda body, tail: b"".join(body) + tail,
    st.lists(
        st.builds(bytes.__add__, st.sampled_from(VALID), st.sampled_from(ENDS)),
        max_size=40,
    ),
    st.sampled_from([b"", b"data: partial", b"data: long partial line", b"\r"]),
)


@SETTINGS
@given(stream=valid_streams, data=st.data(), limit=st.integers(1, 24))
def test_map_and_decoder_agree_on_what_the_size_limit_skips(
    stream: bytes, data: st.DataObject, limit: int
) -> None:
    """With a small limit, the events the decoder skips are the map's OVERSIZED."""
    cuts = data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=30))
    agree(cut(stream, cuts), limit=limit)


def test_an_event_over_the_size_limit_is_marked_skipped() -> None:
    big = b"data: " + b"x" * 40 + b"\n"
    many = b"data: 0123456789\n" * 4  # 4 x 11 bytes held: over 30
    stream = b"data: a\n\n" + big + b"id: 5\n\n" + many + b": c\n\ndata: b\n\n"
    raw = agree([stream[:30], stream[30:]], limit=30)
    assert [e.data for e in events_of(raw)] == ["a", "b"]
    assert [raw.fate(b) for b in range(raw.blocks)] == [
        Fate.EVENT,
        Fate.OVERSIZED,
        Fate.OVERSIZED,
        Fate.EVENT,
    ]
    line = target(raw, stream.index(b"xxx"), ended=False)
    assert line.what == "oversized"
    assert raw.bytes(line.start, line.end) == big + b"id: 5\n\n"
    assert "size limit" in line.note
    skipped = target(raw, stream.index(b": c"), ended=False)
    assert skipped.what == "oversized" and skipped.output == -1
    assert "skipped" in skipped.note
    # An unfinished line already past the limit is being skipped, not discarded.
    tail = agree([b"data: a\n\n", b"data: " + b"y" * 40], limit=30)
    assert target(tail, tail.end - 1, ended=True).what == "oversized"
    assert not tail.discards()


def test_every_cut_of_a_short_stream_agrees() -> None:
    stream = b"\xef\xbb\xbfid: 1\r\ndata: \xe2\x82\xac\r\r\n: c\n"
    positions = range(1, len(stream))
    for n in (1, 2):
        for chosen in itertools.combinations(positions, n):
            agree(cut(stream, set(chosen)))


def test_lines_endings_and_block_fates() -> None:
    raw = agree(
        [
            b"\xef\xbb\xbfretry: 50\n\n",
            b": hi\r\rdata: a\r",
            b"\nevent: t\ndata: b\n\nid: 7\n\n\nfoo\n\ndata: x",
        ]
    )
    assert raw.bom
    endings = [raw.line(i)[3] for i in range(raw.lines)]
    assert endings[:5] == [
        LineEnding.LF,
        LineEnding.LF,
        LineEnding.CR,
        LineEnding.CR,
        LineEnding.CRLF,
    ]
    kinds = [raw.line(i)[4] for i in range(raw.lines)]
    assert kinds[:6] == [
        LineKind.RETRY,
        LineKind.BLANK,
        LineKind.COMMENT,
        LineKind.BLANK,
        LineKind.DATA,
        LineKind.EVENT,
    ]
    fates = [raw.fate(b) for b in range(raw.blocks)]
    assert fates == [
        Fate.FIELDS,
        Fate.COMMENTS,
        Fate.EVENT,
        Fate.FIELDS,
        Fate.BLANK,
        Fate.FIELDS,
    ]
    # The CRLF split across reads 1 and 2 is one ending, its line done in read 1.
    start, stop, end, ending, _ = raw.line(4)
    assert raw.bytes(start, end) == b"data: a\r\n" and ending is LineEnding.CRLF
    assert raw.reads.holding(stop) == 1 and raw.reads.holding(end - 1) == 2


def test_targets_say_what_bytes_became() -> None:
    raw = agree([b": hi\nretry: 5\ndata: a\nfoo: 1\nretry: x\n\n", b"data: partial"])
    text = raw.bytes(0, raw.end)
    event = target(raw, text.index(b"data: a"), ended=False)
    assert event.what == "event" and raw.output(event.output)[0] is Output.EVENT
    assert (event.start, event.end) == (0, text.index(b"data: partial"))
    assert target(raw, 1, ended=False).what == "comment"
    assert target(raw, text.index(b"retry: 5"), ended=False).what == "retry"
    ignored = target(raw, text.index(b"retry: x"), ended=False)
    assert ignored.what == "event" and "not all ASCII digits" in ignored.note
    assert "unknown field" in target(raw, text.index(b"foo"), ended=False).note
    tail = text.index(b"partial")
    assert target(raw, tail, ended=False).what == "open"
    assert target(raw, tail, ended=True).what == "discarded"
    assert target(raw, raw.end, ended=True).what == "outside"


def test_an_unfinished_block_without_data_is_cut_not_discarded() -> None:
    raw = agree([b"data: a\n\nid: 4\n"])
    assert target(raw, raw.end - 2, ended=True).what == "cut"
    assert not raw.discards()


@pytest.mark.parametrize("before", [-1, ord("x"), ord("\n"), ord("\r")])
def test_a_map_that_starts_mid_stream(before: int) -> None:
    """Older reads were dropped: the first line and block began before the bytes."""
    raw = RawMap(base=100, before=before)
    raw.reads.first = 7
    raw.extend(b"\na: 1\n\ndata: b\n\n", 1.0, 0.0)
    first = raw.line(0)
    if before == ord("\r"):  # the LF pairs with the dropped CR
        assert first[3] is LineEnding.LF_PAIR and first[4] is LineKind.TRUNCATED
        assert raw.fate(0) is Fate.UNKNOWN  # "a: 1" then the blank line
    elif before == ord("\n"):  # the dropped part ended a line: a blank line here
        assert first[4] is LineKind.BLANK and raw.fate(0) is Fate.UNKNOWN
    else:  # the first line lost its start
        assert first[4] is LineKind.TRUNCATED
    assert events_of(raw)[-1] == MappedEvent("message", "b", "", None)
    assert raw.reads.ordinal(100) == 7
    assert target(raw, 50, ended=False).what == "outside"
