"""The WHATWG event-stream decoder: a row per parsing rule, split invariance, limits.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
("Parsing an event stream" and "Interpreting an event stream").

Items are compared as tuples: ``("event", type, data, id, retry)``,
``("comment", text)``, ``("error",)``.  ``spec_decode`` below is an independent,
whole-stream reading of the spec used as the oracle for generated streams; it is
itself checked against the hand-written table.
"""

from __future__ import annotations

import itertools
import re
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.records import Comment, Error, Event, Notice, RetryField

from cuts import cut, sse_streams

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Item = tuple[Any, ...]

SETTINGS = settings(
    deadline=None,
    database=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
# Per-row sampled cuts: many rows, each short; a few dozen cut sets each is plenty.
CUT_SETTINGS = settings(SETTINGS, max_examples=30)


def E(  # noqa: N802 - reads like a constructor in the tables
    data: str, type: str = "message", id: str = "", retry: int | None = None
) -> Item:
    return ("event", type, data, id, retry)


def C(text: str) -> Item:  # noqa: N802
    return ("comment", text)


ERR: Item = ("error",)


def norm(items: Iterable[object]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        if isinstance(item, Event):
            out.append(("event", item.type, item.data, item.id, item.retry))
        elif isinstance(item, Comment):
            out.append(("comment", item.text))
        elif isinstance(item, Error):
            assert isinstance(item.message, str)
            assert item.message, "an Error must say what went wrong"
            out.append(ERR)
        elif isinstance(item, RetryField):
            continue  # checked on its own in test_retry_field_records
        elif isinstance(item, Notice):
            continue  # checked on their own in test_notices.py
        else:
            raise AssertionError(f"decoder returned an unexpected item: {item!r}")
    return out


def decode(chunks: Iterable[bytes], **kwargs: Any) -> list[Item]:
    decoder = Decoder(**kwargs)
    items: list[object] = []
    for chunk in chunks:
        items.extend(decoder.feed(chunk))
    decoder.close()
    return norm(items)


def all_cuts(data: bytes) -> Iterable[list[bytes]]:
    positions = range(1, len(data))
    for n in range(len(positions) + 1):
        for chosen in itertools.combinations(positions, n):
            yield cut(data, chosen)


# -- the oracle ----------------------------------------------------------------

_LINE_END = re.compile(r"\r\n|\r|\n")


def spec_decode(
    stream: bytes, *, last_event_id: str = "", comments: bool = False
) -> list[Item]:
    """The spec's algorithm over the whole stream at once (no limits)."""
    text = stream.decode("utf-8", "replace")  # UTF-8 decode: U+FFFD for errors
    text = text.removeprefix("\ufeff")  # ... and one leading BOM skipped
    lines = _LINE_END.split(text)
    lines.pop()  # unterminated last line (or "" after the last line end): discarded
    data, etype, id_buffer, retry = "", "", last_event_id, None
    last_id = last_event_id
    out: list[Item] = []
    for line in lines:
        if not line:
            last_id = id_buffer
            if data:
                out.append(
                    E(data.removesuffix("\n"), etype or "message", last_id, retry)
                )
            data, etype, retry = "", "", None
            continue
        if line.startswith(":"):
            if comments:
                out.append(C(line[1:].removeprefix(" ")))
            continue
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            etype = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return out


# -- one row per rule ----------------------------------------------------------

INVALID_RETRIES = [
    b" 12",  # "retry:  12": two spaces, one is stripped, the other is not a digit
    b"-5",
    b"+5",
    b"1.5",
    b"12 ",
    b"0x10",
    b"1e3",
    b"1_000",  # int() accepts underscores
    "١٢".encode(),  # Arabic-Indic digits: int() accepts them, the spec does not
    "\uff11\uff12".encode(),  # fullwidth digits: idem
    "²".encode(),  # str.isdigit() is True
    b"12\x00",
    b"ten",
]

ROWS: list[tuple[str, bytes, list[Item]]] = [
    # line ends
    ("lf", b"data: a\n\n", [E("a")]),
    ("cr", b"data: a\r\r", [E("a")]),
    ("crlf", b"data: a\r\n\r\n", [E("a")]),
    ("mixed-ends", b"data: a\rdata: b\ndata: c\r\n\n", [E("a\nb\nc")]),
    ("cr-then-crlf-is-two-ends", b"data: a\r\r\n", [E("a")]),
    ("lf-then-cr-is-two-ends", b"data: a\n\r", [E("a")]),
    ("crlf-then-cr", b"data: a\r\n\r", [E("a")]),
    ("crlf-then-lf", b"data: a\r\n\n", [E("a")]),
    ("cr-lf-between-lines", b"data: a\r\ndata: b\r\n\r\n", [E("a\nb")]),
    ("nel-is-not-a-line-end", b"data: a\xc2\x85b\n\n", [E("a\x85b")]),
    (
        "ls-ps-are-not-line-ends",
        "data: a\u2028b\u2029c\n\n".encode(),
        [E("a\u2028b\u2029c")],
    ),
    (
        "vt-ff-fs-gs-rs-are-not-line-ends",
        b"data: \x0b\x0c\x1c\x1d\x1e\n\n",
        [E("\x0b\x0c\x1c\x1d\x1e")],
    ),
    ("leading-blank-lines", b"\r\n\ndata: a\n\n", [E("a")]),
    # BOM
    ("bom-stripped", b"\xef\xbb\xbfdata: a\n\n", [E("a")]),
    (
        "bom-stripped-only-once",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        [E("b")],
    ),
    ("bom-only-at-stream-start", b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E("a")]),
    ("bom-inside-value-kept", b"data: \xef\xbb\xbfa\n\n", [E("\ufeffa")]),
    # comments
    ("comment-ignored", b": hi\ndata: a\n\n", [E("a")]),
    ("comment-only-block-does-not-dispatch", b": ping\n\n", []),
    ("bare-colon-is-a-comment", b":\ndata: a\n\n", [E("a")]),
    ("comment-inside-event", b"data: a\n: mid\ndata: b\n\n", [E("a\nb")]),
    # field parsing
    ("one-space-stripped", b"data:  a\n\n", [E(" a")]),
    ("no-space", b"data:a\n\n", [E("a")]),
    ("tab-not-stripped", b"data:\ta\n\n", [E("\ta")]),
    ("trailing-space-kept", b"data: a \n\n", [E("a ")]),
    ("colon-in-value", b"data: a: b\n\n", [E("a: b")]),
    ("field-without-colon-has-empty-value", b"data\n\n", [E("")]),
    ("empty-value", b"data:\n\n", [E("")]),
    ("two-empty-data-lines", b"data\ndata\n\n", [E("\n")]),
    ("data-lines-join-with-lf", b"data: a\ndata: b\n\n", [E("a\nb")]),
    ("only-one-trailing-lf-removed", b"data: a\ndata:\n\n", [E("a\n")]),
    ("unknown-field-ignored", b"foo: bar\ndata: a\nbaz\n\n", [E("a")]),
    ("field-names-are-case-sensitive", b"Data: a\nEVENT: x\n\n", []),
    ("space-before-colon-makes-another-field", b"data : a\n\n", []),
    ("leading-space-makes-another-field", b" data: a\n\n", []),
    # event type
    ("event-type", b"event: add\ndata: x\n\n", [E("x", "add")]),
    ("empty-event-type-is-message", b"event\ndata: x\n\n", [E("x")]),
    ("last-event-type-wins", b"event: a\nevent: b\ndata: x\n\n", [E("x", "b")]),
    ("event-type-one-space-stripped", b"event:  a\ndata: x\n\n", [E("x", " a")]),
    (
        "type-reset-after-dispatch",
        b"event: add\ndata: x\n\ndata: y\n\n",
        [E("x", "add"), E("y")],
    ),
    ("type-reset-without-dispatch", b"event: add\n\ndata: y\n\n", [E("y")]),
    # id
    ("id", b"id: 1\ndata: a\n\n", [E("a", id="1")]),
    (
        "id-stays-in-force",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [E("a", id="1"), E("b", id="1")],
    ),
    ("id-after-data-in-same-block", b"data: a\nid: 3\n\n", [E("a", id="3")]),
    (
        "id-with-nul-ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [E("a", id="1"), E("b", id="1")],
    ),
    ("nul-id-alone-ignored", b"id: \x00\ndata: a\n\n", [E("a")]),
    (
        "nul-id-without-space-ignored",
        b"id:1\ndata: a\n\nid:2\x00\ndata: b\n\n",
        [E("a", id="1"), E("b", id="1")],
    ),
    ("nul-id-two-spaces-ignored", b"id:  \x00\ndata: a\n\n", [E("a")]),
    ("empty-id-resets", b"id: 1\ndata: a\n\nid\ndata: b\n\n", [E("a", id="1"), E("b")]),
    (
        "empty-id-with-colon-resets",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        [E("a", id="1"), E("b")],
    ),
    (
        "id-committed-at-dispatch-without-data",
        b"id: 5\n\ndata: b\n\n",
        [E("b", id="5")],
    ),
    ("id-not-trimmed", b"id:  7 \ndata: a\n\n", [E("a", id=" 7 ")]),
    ("id-last-one-in-block-wins", b"id: 1\nid: 2\ndata: a\n\n", [E("a", id="2")]),
    # retry
    ("retry", b"retry: 12\ndata: a\n\n", [E("a", retry=12)]),
    ("retry-without-space", b"retry:12\ndata: a\n\n", [E("a", retry=12)]),
    ("retry-leading-zeros", b"retry: 007\ndata: a\n\n", [E("a", retry=7)]),
    ("retry-zero", b"retry: 0\ndata: a\n\n", [E("a", retry=0)]),
    ("retry-last-valid-wins", b"retry: 10\nretry: 20\ndata: a\n\n", [E("a", retry=20)]),
    (
        "retry-invalid-keeps-earlier-valid",
        b"retry: 10\nretry: x\ndata: a\n\n",
        [E("a", retry=10)],
    ),
    (
        "retry-belongs-to-its-block",
        b"retry: 10\ndata: a\n\ndata: b\n\n",
        [E("a", retry=10), E("b")],
    ),
    ("retry-only-block-does-not-dispatch", b"retry: 10\n\ndata: b\n\n", [E("b")]),
    *[
        (f"retry-invalid-{value!r}", b"retry: " + value + b"\ndata: a\n\n", [E("a")])
        for value in INVALID_RETRIES
    ],
    # dispatch
    ("no-dispatch-when-data-empty", b"event: x\nid: 1\nretry: 5\n\n", []),
    ("blank-lines-only", b"\n\n\r\n\r", []),
    ("several-events", b"data: 1\n\ndata: 2\n\n", [E("1"), E("2")]),
    ("unfinished-event-discarded", b"data: a\n", []),
    ("unterminated-line-discarded", b"data: a\n\ndata: b", [E("a")]),
    ("unterminated-blank-cr-is-a-line-end", b"data: a\n\r", [E("a")]),
    # UTF-8
    ("invalid-byte-replaced", b"data: a\xffb\n\n", [E("a\ufffdb")]),
    ("truncated-sequence-replaced", b"data: \xe2\x82\n\n", [E("\ufffd")]),
    ("bad-continuation-replaced", b"data: \xc3(\n\n", [E("\ufffd(")]),
    ("overlong-replaced", b"data: \xc0\xaf\n\n", [E("\ufffd\ufffd")]),
    ("surrogate-replaced", b"data: \xed\xa0\x80\n\n", [E("\ufffd\ufffd\ufffd")]),
    ("invalid-byte-in-field-name", b"d\xffata: a\n\n", []),
    ("invalid-byte-in-id", b"id: \xff\ndata: a\n\n", [E("a", id="\ufffd")]),
    ("multibyte", "data: é€😀\n\n".encode(), [E("é€😀")]),
    ("nul-in-data-kept", b"data: a\x00b\n\n", [E("a\x00b")]),
    # Runs of blank lines are folded into one (a gzip bomb of line ends): the
    # same items whatever the line ends and wherever the reads are cut.
    (
        "blank-run",
        b"id: 1\ndata: a\n\n\n\n\ndata: b\n\n",
        [E("a", id="1"), E("b", id="1")],
    ),
    ("blank-run-mixed-ends", b"data: a\r\n\r\n\r\r\n\n\rdata: b\n\n", [E("a"), E("b")]),
    ("blank-run-first", b"\n\n\n\ndata: a\n\n", [E("a")]),
    (
        "blank-run-then-field",
        b"event: x\n\n\n\nid: 2\n\n\n\ndata: c\n\n",
        [E("c", id="2")],
    ),
]

COMMENT_ROWS: list[tuple[str, bytes, list[Item]]] = [
    # Comment text: what follows the colon, one leading space stripped (as for values).
    ("comment", b": ping\n\n", [C("ping")]),
    ("comment-without-space", b":ping\n", [C("ping")]),
    ("comment-one-space-only", b":  two\n", [C(" two")]),
    ("empty-comment", b":\n", [C("")]),
    (
        "comments-in-order",
        b": a\ndata: x\n: b\n\ndata: y\n\n",
        [C("a"), C("b"), E("x"), E("y")],
    ),
    ("comment-before-event", b": a\n\ndata: x\n\n", [C("a"), E("x")]),
    ("comment-invalid-utf8", b": \xff\n", [C("\ufffd")]),
    ("comment-crlf", b": a\r\n: b\r: c\n", [C("a"), C("b"), C("c")]),
    ("comment-after-bom", b"\xef\xbb\xbf: a\n", [C("a")]),
    ("unterminated-comment-discarded", b": a\n: b", [C("a")]),
]


def _ids(rows: Sequence[tuple[str, bytes, list[Item]]]) -> list[str]:
    return [row[0] for row in rows]


@pytest.mark.parametrize(("name", "stream", "expected"), ROWS, ids=_ids(ROWS))
def test_rule(name: str, stream: bytes, expected: list[Item]) -> None:
    assert decode([stream]) == expected


@pytest.mark.parametrize(
    ("name", "stream", "expected"), COMMENT_ROWS, ids=_ids(COMMENT_ROWS)
)
def test_comment_rule(name: str, stream: bytes, expected: list[Item]) -> None:
    assert decode([stream], comments=True) == expected
    # Without the opt-in, comments never reach the caller.
    assert decode([stream]) == [i for i in expected if i[0] != "comment"]


ALL = [(*row, False) for row in ROWS] + [(*row, True) for row in COMMENT_ROWS]
ALL_IDS = [row[0] for row in ALL]


@pytest.mark.parametrize(("name", "stream", "expected", "comments"), ALL, ids=ALL_IDS)
def test_oracle_agrees_with_table(
    name: str, stream: bytes, expected: list[Item], comments: bool
) -> None:
    """The oracle used for generated streams is right on every hand-written row."""
    assert spec_decode(stream, comments=comments) == expected


# -- split invariance ----------------------------------------------------------

SHORT = [row for row in ALL if len(row[1]) <= 12]
LONG = [row for row in ALL if len(row[1]) > 12]


def test_enough_short_cases_for_exhaustive_cuts() -> None:
    assert len(SHORT) >= 25


@pytest.mark.parametrize(
    ("name", "stream", "expected", "comments"), SHORT, ids=[r[0] for r in SHORT]
)
def test_every_cut_of_short_cases_gives_the_same_items(
    name: str, stream: bytes, expected: list[Item], comments: bool
) -> None:
    for chunks in all_cuts(stream):
        assert decode(chunks, comments=comments) == expected, chunks


@pytest.mark.parametrize(
    ("name", "stream", "expected", "comments"), LONG, ids=[r[0] for r in LONG]
)
@CUT_SETTINGS
@given(data=st.data())
def test_sampled_cuts_of_long_cases_give_the_same_items(
    name: str, stream: bytes, expected: list[Item], comments: bool, data: st.DataObject
) -> None:
    cuts = data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=len(stream)))
    assert decode(cut(stream, cuts), comments=comments) == expected


def test_empty_chunks_change_nothing() -> None:
    stream = b"\xef\xbb\xbfid: 1\r\ndata: \xe2\x82\xac\r\n\r\n"
    chunks = [b""]
    for piece in cut(stream, range(1, len(stream))):
        chunks += [piece, b""]
    assert decode(chunks) == [E("€", id="1")]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    decoder = Decoder()
    assert decoder.feed(b"data: a\r") == []
    # Were the LF a second line end, "data: a" would be dispatched alone here.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    assert norm(decoder.feed(b"\n\r\n")) == [E("a\nb")]


def test_cr_line_ends_dispatch_without_waiting_for_the_next_read() -> None:
    """A CR ends its line at once: a following LF would only end the same line.

    A decoder that holds a trailing CR until it sees the next byte delays the
    event for as long as the server stays quiet (httpx-sse does, see the compat
    tests).
    """
    decoder = Decoder()
    assert norm(decoder.feed(b"data: a\r\r")) == [E("a")]
    assert norm(decoder.feed(b"\ndata: b\n\r")) == [E("b")]  # that LF ended the CR line
    assert norm(decoder.feed(b"\ndata: c\r\n\r")) == [E("c")]
    assert norm(decoder.feed(b"\n\r\ndata: d\r\r\n\r")) == [E("d")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: \xe2", b"\x82\xac\n\n"],
        [b"data: \xe2\x82", b"\xac\n\n"],
        [b"data: \xf0\x9f", b"\x98", b"\x80\n", b"\n"],
        [b"\xef", b"\xbb", b"\xbfdata: a\n\n"],
    ],
)
def test_multibyte_characters_split_across_reads(chunks: list[bytes]) -> None:
    assert decode(chunks) == decode([b"".join(chunks)])
    assert decode(chunks)[0][:2] == ("event", "message")
    assert "\ufffd" not in decode(chunks)[0][2]


def test_truncated_sequence_at_end_of_read_followed_by_line_end() -> None:
    assert decode([b"data: \xe2\x82", b"\n\n"]) == [E("\ufffd")]
    assert decode([b"data: \xe2", b"\x82", b"(\n\n"]) == [E("\ufffd(")]


# -- generated streams against the oracle --------------------------------------

streams = sse_streams()


@SETTINGS
@given(
    stream=streams,
    data=st.data(),
    comments=st.booleans(),
    last_id=st.sampled_from(["", "s"]),
)
def test_generated_streams_follow_the_spec_for_any_cuts(
    stream: bytes, data: st.DataObject, comments: bool, last_id: str
) -> None:
    cuts = data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=30))
    chunks = cut(stream, [c for c in cuts if c < len(stream)])
    expected = spec_decode(stream, last_event_id=last_id, comments=comments)
    assert decode(chunks, comments=comments, last_event_id=last_id) == expected


@SETTINGS
@given(stream=st.binary(max_size=200), data=st.data())
def test_arbitrary_bytes_never_crash_and_are_split_invariant(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=20))
    chunks = cut(stream, [c for c in cuts if c < len(stream)])
    expected = spec_decode(stream, comments=True)
    assert decode(chunks, comments=True) == expected


# -- decoder state and record fields -------------------------------------------


def test_seeded_last_event_id_is_in_force_until_an_id_arrives() -> None:
    items = decode(
        [b"data: a\n\nid: 2\ndata: b\n\nid\ndata: c\n\n"], last_event_id="seed"
    )
    assert items == [E("a", id="seed"), E("b", id="2"), E("c", id="")]


def test_last_event_id_attribute_is_committed_only_at_dispatch() -> None:
    decoder = Decoder(last_event_id="seed")
    assert decoder.last_event_id == "seed"
    decoder.feed(b"id: 5\ndata: x\n")
    assert decoder.last_event_id == "seed"  # the buffer is not the string yet
    decoder.feed(b"\n")
    assert decoder.last_event_id == "5"
    decoder.feed(b"id: 6\n\n")  # no data: nothing dispatched, but the id is committed
    assert decoder.last_event_id == "6"
    decoder.feed(b"id: 7\x00\n\n")
    assert decoder.last_event_id == "6"
    decoder.feed(b"id\n\n")
    assert decoder.last_event_id == ""
    decoder.feed(b"id: 8\n")
    decoder.close()
    assert decoder.last_event_id == ""  # an unfinished block never commits its id


def test_retry_attribute_is_the_last_valid_retry() -> None:
    decoder = Decoder()
    assert decoder.retry is None
    decoder.feed(b"retry: -5\n\n")
    assert decoder.retry is None
    decoder.feed(b"retry: 250\n\n")  # no data: nothing dispatched, retry still applies
    assert decoder.retry == 250
    decoder.feed(b"data: a\n\nretry: x\nretry:  7\ndata: b\n\n")
    assert decoder.retry == 250
    decoder.feed(b"retry: 40\n")  # takes effect when the line is processed
    assert decoder.retry == 40


def test_items_carry_connection_and_the_times_of_the_read_that_completed_them() -> None:
    decoder = Decoder(connection=7, comments=True)
    assert decoder.feed(b"data: a\n", at=1.0, wall=100.0) == []
    items = decoder.feed(b"\n: c\n", at=2.0, wall=200.0)
    event, comment = items
    assert isinstance(event, Event)
    assert isinstance(comment, Comment)
    assert (event.connection, event.at, event.wall) == (7, 2.0, 200.0)
    assert (comment.connection, comment.at, comment.wall) == (7, 2.0, 200.0)
    (error,) = Decoder(max_event_bytes=10, connection=3).feed(
        b"data: " + b"x" * 50 + b"\n\n", at=5.0, wall=6.0
    )
    assert isinstance(error, Error)
    assert (error.connection, error.at, error.wall) == (3, 5.0, 6.0)


@pytest.mark.parametrize(
    ("stream", "discarded"),
    [
        (b"", False),
        (b"data: a\n\n", False),
        (b"data: a\r\n\r\n", False),
        (b"data: a\n", True),
        (b"data: a", True),
        (b"data: a\n\ndata: b\n", True),
        (b"data: a\n\nevent: x\ndata", True),
        # A line made only of BOM bytes after the start is content, not a BOM:
        (b"data: a\n\n\xef\xbb\xbf", True),
        (b"data: a\n\n\xbb\xef", True),
        (b"\xef\xbb\xbf\xef\xbb\xbf", True),  # one BOM skipped, the second kept
        (b"\xef\xbb", True),  # never became a BOM: an unfinished line
        (b"\xef\xbb\xbf", False),  # the BOM alone: skipped, nothing left
    ],
)
def test_close_reports_a_discarded_unfinished_event(
    stream: bytes, discarded: bool
) -> None:
    decoder = Decoder()
    items = decoder.feed(stream)
    assert decoder.close() is discarded
    assert all(isinstance(i, Event) for i in items)


def test_each_connection_gets_a_fresh_decoder_state() -> None:
    """A new Decoder is a new stream body: BOM stripped again, no leftover buffers."""
    first = Decoder()
    first.feed(b"\xef\xbb\xbfevent: t\ndata: partial\n")
    assert first.close() is True
    second = Decoder(last_event_id=first.last_event_id)
    assert norm(second.feed(b"\xef\xbb\xbfdata: b\n\n")) == [E("b")]


# -- limits --------------------------------------------------------------------

LIMIT = 100
BIG_LINE = b"data: " + b"x" * 1000 + b"\n"
BIG_EVENT = b"".join(
    b"data: %02d" % i + b"y" * 30 + b"\n" for i in range(40)
)  # 40x39 B


@pytest.mark.parametrize(
    ("name", "stream", "expected"),
    [
        ("oversized-line", BIG_LINE + b"\ndata: ok\n\n", [ERR, E("ok")]),
        ("oversized-event", BIG_EVENT + b"\ndata: ok\n\n", [ERR, E("ok")]),
        (
            "rest-of-oversized-event-skipped",
            b"data: 1\n\n" + BIG_LINE + b"data: tail\nid: 9\n\ndata: ok\n\n",
            [E("1"), ERR, E("ok")],
        ),
        (
            "type-of-oversized-event-dropped",
            b"event: big\n" + BIG_EVENT + b"\ndata: ok\n\n",
            [ERR, E("ok")],
        ),
        (
            "one-error-per-oversized-event",
            BIG_LINE + b"\n" + BIG_EVENT + b"\n" + b"data: ok\n\n",
            [ERR, ERR, E("ok")],
        ),
        (
            "oversized-crlf",
            BIG_LINE.replace(b"\n", b"\r\n") + b"\r\ndata: ok\r\n\r\n",
            [ERR, E("ok")],
        ),
        (
            "oversized-cr",
            BIG_LINE.replace(b"\n", b"\r") + b"\rdata: ok\r\r",
            [ERR, E("ok")],
        ),
        ("small-events-never-add-up", b"data: " + b"z" * 40 + b"\n\n", [E("z" * 40)]),
    ],
)
@pytest.mark.parametrize("size", [None, 1, 7, 64, 4096])
def test_oversized_lines_and_events_are_skipped_with_one_error(
    name: str, stream: bytes, expected: list[Item], size: int | None
) -> None:
    chunks = (
        [stream]
        if size is None
        else [stream[i : i + size] for i in range(0, len(stream), size)]
    )
    assert decode(chunks, max_event_bytes=LIMIT) == expected


def test_many_small_events_are_not_limited_together() -> None:
    stream = b"".join(b"id: %d\ndata: " % i + b"z" * 40 + b"\n\n" for i in range(500))
    for chunks in ([stream], [stream[i : i + 3] for i in range(0, len(stream), 3)]):
        items = decode(chunks, max_event_bytes=LIMIT)
        assert len(items) == 500
        assert items[-1] == E("z" * 40, id="499")


def test_limit_does_not_refuse_events_well_under_it() -> None:
    data = "é" * 200  # 400 bytes in UTF-8
    stream = ("event: big\nid: 1\ndata: " + data + "\n\n").encode()
    assert decode([stream], max_event_bytes=1000) == [E(data, "big", "1")]


def test_default_limit_is_one_mebibyte() -> None:
    ok = b"data: " + b"a" * (1 << 19) + b"\n\n"
    too_big = b"data: " + b"b" * (3 << 20) + b"\n\n"
    assert decode([ok, too_big, b"data: ok\n\n"]) == [E("a" * (1 << 19)), ERR, E("ok")]


MIB = 1 << 20
CHUNK = 64 * 1024


def _feed_bounded(
    decoder: Decoder, first: bytes, chunk: bytes, total: int
) -> tuple[list[Item], int]:
    """Feed ``first``, then ``chunk`` up to ``total`` bytes: (items, peak bytes)."""
    items: list[object] = []
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        items.extend(decoder.feed(first))
        for _ in range(total // len(chunk)):
            items.extend(decoder.feed(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return norm(items), peak


@pytest.mark.slow
def test_100_mb_without_a_line_end_keeps_memory_bounded() -> None:
    decoder = Decoder()  # default 1 MiB limit
    chunk = b"x" * CHUNK
    items, peak = _feed_bounded(decoder, b"data: ", chunk, 100 * MIB)
    assert items == [ERR]
    # Holding the line would take 100 MB; holding up to the limit plus one read
    # (and a transient copy or two of that) is what bounded means.
    assert peak < 4 * (MIB + CHUNK), f"peak {peak / MIB:.1f} MiB"
    rest = norm(decoder.feed(b"\n\ndata: ok\n\n"))
    assert rest == [E("ok")]


def test_many_short_lines_without_a_blank_line_keep_memory_bounded() -> None:
    decoder = Decoder(max_event_bytes=256 * 1024)
    line = b"data: " + b"x" * 100 + b"\n"
    chunk = line * (CHUNK // len(line))
    items, peak = _feed_bounded(decoder, b"event: flood\n", chunk, 16 * MIB)
    assert items == [ERR]
    assert peak < 4 * (256 * 1024 + CHUNK), f"peak {peak / MIB:.1f} MiB"
    assert norm(decoder.feed(b"\ndata: ok\n\n")) == [E("ok")]


@pytest.mark.parametrize(
    "stream",
    [
        ("data: " + "😀" * 400 + "\n\n").encode(),  # one line of 1606 bytes
        ("data: " + "é" * 800 + "\n\n").encode(),  # one line of 1606 bytes
        ("data: " + "😀" * 100 + "\n").encode() * 8 + b"\n",  # 8 lines, 3248 bytes
    ],
    ids=["emoji-line", "latin-line", "emoji-event"],
)
@pytest.mark.parametrize("size", [None, 7])
def test_limit_counts_bytes_not_characters(stream: bytes, size: int | None) -> None:
    """--max-event-bytes is in bytes: 400 emoji are 1600 bytes, not 400."""
    stream += b"data: ok\n\n"
    chunks = (
        [stream]
        if size is None
        else [stream[i : i + size] for i in range(0, len(stream), size)]
    )
    assert decode(chunks, max_event_bytes=1000) == [ERR, E("ok")]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"retry: 3000\n\n", [3000]),  # a block of its own: dispatches nothing
        (b"retry: 10\ndata: a\n\nretry: 20\n\n", [10, 20]),
        (b"retry: -5\nretry: 1.5\nretry:\nretry: x\n\n", []),  # ignored: no record
        (b"retry:7\r\nretry: 8\r\rdata: b\n\n", [7, 8]),
    ],
)
def test_retry_field_records(stream: bytes, expected: list[int]) -> None:
    """Each valid retry: gives a RetryField, so consumers see the delay change."""
    for size in (1, 3, len(stream)):
        decoder = Decoder(connection=4)
        items = [
            item
            for i in range(0, len(stream), size)
            for item in decoder.feed(stream[i : i + size], at=1.0, wall=2.0)
        ]
        fields = [item for item in items if isinstance(item, RetryField)]
        assert [f.ms for f in fields] == expected
        assert all((f.connection, f.at, f.wall) == (4, 1.0, 2.0) for f in fields)
        assert decoder.retry == (expected[-1] if expected else None)


def test_a_body_of_line_ends_is_cheap() -> None:
    """A gzip bomb of line ends (4 MiB here) costs milliseconds, not seconds: a
    run of blank lines is folded (it was about 2 s per MiB, line by line)."""
    decoder = Decoder()
    chunk = b"\n" * (64 << 10)
    started = time.process_time()
    for _ in range(64):
        assert decoder.feed(chunk) == []
    assert decoder.feed(b"data: a\n\n") != []
    assert time.process_time() - started < 0.5
