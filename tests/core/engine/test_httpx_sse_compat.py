"""Our decoder against httpx-sse 0.4.3's: where they agree, every divergence pinned.

httpx-sse is the reference point (desktop/core/engine/decoder.py says where we
depart).  ``httpx_sse_decode`` below runs the same bytes through exactly the
pipeline ``EventSource.aiter_sse`` uses: httpx's ``TextDecoder`` (UTF-8, errors
replaced), ``SSELineDecoder``, then ``SSEDecoder`` per line, and the line
decoder's ``flush()`` at the end of the body.

Each divergence is one test stating what httpx-sse does and what the spec (and so
our decoder) does.  If a new httpx-sse release fixes one, its test fails: update
the table then, knowingly.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pytest
from httpx._decoders import TextDecoder
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.records import Comment, Error, Event

if TYPE_CHECKING:
    from collections.abc import Iterable

Item = tuple[Any, ...]


def ev(
    data: str, type: str = "message", id: str = "", retry: int | None = None
) -> Item:
    return (type, data, id, retry)


def httpx_sse_decode(chunks: Iterable[bytes]) -> list[Item]:
    text_decoder = TextDecoder("utf-8")
    line_decoder = SSELineDecoder()
    decoder = SSEDecoder()
    out: list[Item] = []

    def lines(found: Iterable[str]) -> None:
        for line in found:
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None:
                out.append((sse.event, sse.data, sse.id, sse.retry))

    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if text:
            lines(line_decoder.decode(text))
    text = text_decoder.flush()
    if text:
        lines(line_decoder.decode(text))
    lines(line_decoder.flush())
    return out


def our_decode(chunks: Iterable[bytes], **kwargs: Any) -> list[Item]:
    decoder = Decoder(**kwargs)
    out: list[Item] = []
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if isinstance(item, Event):
                out.append((item.type, item.data, item.id, item.retry))
            elif isinstance(item, Error):
                out.append(("error",))
            elif isinstance(item, Comment):
                raise AssertionError(f"comment without asking: {item!r}")
            # RetryField: httpx-sse has no counterpart (its retry rides on events).
    decoder.close()
    return out


def splits(stream: bytes) -> list[list[bytes]]:
    """Whole, byte by byte, and in threes."""
    return [
        [stream],
        [stream[i : i + 1] for i in range(len(stream))],
        [stream[i : i + 3] for i in range(0, len(stream), 3)],
    ]


def test_reference_is_httpx_sse_0_4_3() -> None:
    assert version("httpx-sse") == "0.4.3"


AGREE: list[tuple[str, bytes, list[Item]]] = [
    ("simple", b"data: a\n\n", [ev("a")]),
    ("multi-line", b"data: a\ndata: b\n\n", [ev("a\nb")]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [ev("a"), ev("b")]),
    ("cr", b"data: a\r\rdata: b\r\r", [ev("a"), ev("b")]),
    ("event-type", b"event: add\ndata: x\n\n", [ev("x", "add")]),
    (
        "ids",
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
        [ev("a", id="1"), ev("b", id="1"), ev("c", id="2")],
    ),
    (
        "nul-id-ignored",
        b"id: 1\ndata: a\n\nid: x\x00\ndata: b\n\n",
        [ev("a", id="1"), ev("b", id="1")],
    ),
    ("retry-valid", b"retry: 1500\ndata: a\n\n", [ev("a", retry=1500)]),
    ("comments-before-any-id", b": ping\n\n: ping\n\ndata: a\n\n", [ev("a")]),
    ("field-without-colon", b"data\n\n", [ev("")]),
    ("one-space-stripped", b"data:  a\n\n", [ev(" a")]),
    ("unknown-field", b"foo: 1\ndata: a\n\n", [ev("a")]),
    ("invalid-utf8", b"data: a\xff\xe2\x82\n\n", [ev("a\ufffd\ufffd")]),
    ("multibyte", "data: é€😀\n\n".encode(), [ev("é€😀")]),
    (
        "unicode-line-separators-are-data",
        "data: a\u2028b\x85c\x0bd\n\n".encode(),
        [ev("a\u2028b\x85c\x0bd")],
    ),
    ("unfinished-event-discarded", b"data: a\n\ndata: b\n", [ev("a")]),
    ("unterminated-line-discarded", b"data: a\n\ndata: b", [ev("a")]),
]


@pytest.mark.parametrize(
    ("name", "stream", "expected"), AGREE, ids=[a[0] for a in AGREE]
)
def test_agree(name: str, stream: bytes, expected: list[Item]) -> None:
    for chunks in splits(stream):
        assert httpx_sse_decode(chunks) == expected, chunks
        assert our_decode(chunks) == expected, chunks


# -- divergences ---------------------------------------------------------------


def test_keepalive_comment_after_an_id_is_an_empty_message_in_httpx_sse() -> None:
    """sse-starlette's ``: ping`` once an id was seen: httpx-sse dispatches it."""
    stream = b"id: 1\ndata: a\n\n: ping\n\n: ping\n\ndata: b\n\n"
    assert httpx_sse_decode([stream]) == [
        ev("a", id="1"),
        ev("", id="1"),
        ev("", id="1"),
        ev("b", id="1"),
    ]
    assert our_decode([stream]) == [ev("a", id="1"), ev("b", id="1")]


def test_blank_line_after_an_id_is_an_empty_message_in_httpx_sse() -> None:
    stream = b"id: 1\ndata: a\n\n\n\n"  # two extra blank lines
    assert httpx_sse_decode([stream]) == [
        ev("a", id="1"),
        ev("", id="1"),
        ev("", id="1"),
    ]
    assert our_decode([stream]) == [ev("a", id="1")]


def test_id_only_block_is_an_empty_message_in_httpx_sse() -> None:
    stream = b"id: 7\n\n"
    assert httpx_sse_decode([stream]) == [ev("", id="7")]
    assert our_decode([stream]) == []


def test_retry_only_block_is_an_empty_message_in_httpx_sse() -> None:
    stream = b"retry: 10\n\n"
    assert httpx_sse_decode([stream]) == [ev("", retry=10)]
    assert our_decode([stream]) == []


def test_event_only_block_is_dispatched_in_httpx_sse() -> None:
    stream = b"event: add\n\ndata: y\n\n"
    assert httpx_sse_decode([stream]) == [ev("", "add"), ev("y")]
    assert our_decode([stream]) == [ev("y")]


@pytest.mark.parametrize(
    ("value", "httpx_sse_retry"),
    [
        (b" 12", 12),  # "retry:  12": int() strips the second space
        (b"-5", -5),
        (b"+5", 5),
        (b"12 ", 12),
        (b"1_000", 1000),
        ("١٢".encode(), 12),  # Arabic-Indic digits
    ],
)
def test_retry_values_that_are_not_all_ascii_digits(
    value: bytes, httpx_sse_retry: int
) -> None:
    stream = b"retry: " + value + b"\ndata: a\n\n"
    assert httpx_sse_decode([stream]) == [ev("a", retry=httpx_sse_retry)]
    assert our_decode([stream]) == [ev("a")]
    decoder = Decoder()
    decoder.feed(stream)
    assert decoder.retry is None


def test_bom_is_kept_by_httpx_sse_and_breaks_the_first_field() -> None:
    stream = b"\xef\xbb\xbfdata: a\n\ndata: b\n\n"
    assert httpx_sse_decode([stream]) == [ev("b")]
    assert our_decode([stream]) == [ev("a"), ev("b")]


def test_httpx_sse_has_no_size_limit() -> None:
    big = b"data: " + b"x" * (2 << 20) + b"\n\n"
    stream = big + b"data: ok\n\n"
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    theirs = httpx_sse_decode(chunks)
    assert [len(e[1]) for e in theirs] == [2 << 20, 2]
    assert our_decode(chunks) == [("error",), ev("ok")]


def test_httpx_sse_holds_a_trailing_cr_until_the_next_read() -> None:
    """``data: a\\r\\r`` ends an event; httpx-sse waits for more bytes to dispatch it.

    With a server that then stays quiet, the event is late by the whole pause.
    """
    text_decoder, line_decoder, decoder = TextDecoder(), SSELineDecoder(), SSEDecoder()
    dispatched = [
        sse
        for line in line_decoder.decode(text_decoder.decode(b"data: a\r\r"))
        if (sse := decoder.decode(line)) is not None
    ]
    assert dispatched == []
    assert our_decode([b"data: a\r\r"]) == [ev("a")]
    assert [
        ev_.data for ev_ in Decoder().feed(b"data: a\r\r") if isinstance(ev_, Event)
    ] == ["a"]


def test_trailing_cr_blank_line_at_end_of_body() -> None:
    """``data: a\\n\\r`` at the very end: both dispatch, httpx-sse only at flush."""
    assert httpx_sse_decode([b"data: a\n\r"]) == [ev("a")]
    assert our_decode([b"data: a\n\r"]) == [ev("a")]
