"""Raw bytes as pieces to draw: endings, BOM, read marks, split and bad bytes."""

from __future__ import annotations

from desktop.core.raw.map import RawMap
from desktop.core.raw.spans import Span, SpanKind as K, spans


def build(*reads: bytes, base: int = 0, before: int = -1) -> RawMap:
    raw = RawMap(base, before)
    raw.reads.first = 0
    for i, data in enumerate(reads):
        raw.extend(data, float(i), 0.0)
    return raw


def kinds(pieces: list[Span]) -> list[tuple[K, str]]:
    return [(p.kind, p.text) for p in pieces]


def test_pieces_tile_the_bytes() -> None:
    raw = build(b"\xef\xbb\xbfdata: \xe2\x82", b"\xac\xff\x01\r", b"\n\r\ndata")
    pieces = spans(raw, 0, raw.end)
    pos = 0
    for p in pieces:
        assert p.start == pos, p
        pos = p.end
    assert pos == raw.end


def test_bom_endings_reads_split_character_and_invalid_bytes() -> None:
    raw = build(b"\xef\xbb\xbfdata: \xe2\x82", b"\xac\xff\x01\r", b"\n\r\ndata")
    assert kinds(spans(raw, 0, raw.end)) == [
        (K.READ, ""),
        (K.BOM, ""),
        (K.TEXT, "data: "),
        (K.SPLIT_HEAD, "€"),
        (K.READ, ""),
        (K.SPLIT_TAIL, "€"),
        (K.INVALID, ""),
        (K.CONTROL, "\x01"),
        (K.CR, ""),  # its LF comes in the next read: one CRLF, split
        (K.READ, ""),
        (K.LF_PAIR, ""),
        (K.CRLF, ""),
        (K.TEXT, "data"),  # the open line
    ]
    reads = [p.read for p in spans(raw, 0, raw.end) if p.kind is K.READ]
    assert reads == [0, 1, 2]


def test_a_four_byte_character_in_three_reads() -> None:
    raw = build(b"data: \xf0", b"\x9f\x98", b"\x80\n")
    pieces = [p for p in spans(raw, 0, raw.end) if p.kind is not K.TEXT]
    assert kinds(pieces) == [
        (K.READ, ""),
        (K.SPLIT_HEAD, "😀"),
        (K.READ, ""),
        (K.SPLIT_TAIL, "😀"),
        (K.READ, ""),
        (K.SPLIT_TAIL, "😀"),
        (K.LF, ""),
    ]


def test_a_window_and_a_map_that_starts_mid_stream() -> None:
    raw = build(b"\nab\n", base=40, before=ord("\r"))
    assert kinds(spans(raw, 0, 100)) == [
        (K.DROPPED, ""),
        (K.READ, ""),
        (K.LF_PAIR, ""),
        (K.TEXT, "ab"),
        (K.LF, ""),
    ]
    assert kinds(spans(raw, 42, 44)) == [(K.TEXT, "b"), (K.LF, "")]
    assert spans(raw, 44, 44) == []
