"""The bytes of a connection as pieces to draw: text, line endings, marks.

A view of raw bytes shows what a text view hides: CR, LF and CRLF as visible
marks, a BOM, where each network read began, a character whose bytes two reads
split, control characters and bytes that are not UTF-8.  This module cuts a
byte range of a :class:`~desktop.core.raw.map.RawMap` into such pieces; the view
only picks a glyph and a colour per kind.  Every piece knows its bytes, so a
click in the view maps back to an offset.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from desktop.core.raw.kinds import LineEnding, utf8_length

if TYPE_CHECKING:
    from desktop.core.raw.map import RawMap

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SpanKind(IntEnum):
    """Kinds of pieces."""

    TEXT = 0
    CONTROL = 1  # a C0 control character (but TAB) or DEL: one byte
    INVALID = 2  # bytes that are not UTF-8 (the decoder makes them U+FFFD)
    SPLIT_HEAD = 3  # the first bytes of a character whose rest came in a later read
    SPLIT_TAIL = 4  # the rest of it
    BOM = 5
    CR = 6
    LF = 7
    CRLF = 8
    LF_PAIR = 9  # the LF of a CRLF whose CR ended the previous read (or was dropped)
    READ = 10  # a network read begins here (no bytes)
    DROPPED = 11  # older bytes of this connection were dropped (no bytes)


ENDINGS = frozenset({SpanKind.CR, SpanKind.LF, SpanKind.CRLF, SpanKind.LF_PAIR})


@dataclass(slots=True)
class Span:
    """A piece of bytes ``[start, end)``; ``text`` is its text when it has one."""

    kind: SpanKind
    start: int
    end: int
    text: str = ""
    read: int = -1  # the ordinal of the read it is in (or begins, for READ)


def spans(raw: RawMap, start: int, end: int) -> list[Span]:
    """The pieces of ``[start, end)`` in byte order, READ marks where reads begin."""
    return _Drawing(raw, start, end).run()


class _Drawing:
    __slots__ = ("buf", "cut", "cuts", "end", "out", "raw", "start")

    def __init__(self, raw: RawMap, start: int, end: int) -> None:
        self.raw = raw
        self.buf = raw.buffer
        self.start = max(start, raw.base)
        self.end = min(end, raw.end)
        starts = raw.reads.starts
        lo = bisect_left(starts, self.start)
        self.cuts = list(starts[lo : bisect_left(starts, self.end)])
        self.cut = 0
        self.out: list[Span] = []

    def byte(self, offset: int) -> int:
        return self.buf[offset - self.raw.base]

    def piece(self, start: int, end: int) -> bytes:
        base = self.raw.base
        return bytes(self.buf[start - base : end - base])

    def marks(self, upto: int) -> None:
        """READ marks for the reads that begin at or before ``upto``."""
        cuts, out = self.cuts, self.out
        while self.cut < len(cuts) and cuts[self.cut] <= upto:
            at = cuts[self.cut]
            out.append(Span(SpanKind.READ, at, at, read=self.raw.reads.ordinal(at)))
            self.cut += 1

    def next_cut(self, before: int) -> int:
        """The next read start after the marks made, if before ``before``."""
        cuts = self.cuts
        if self.cut < len(cuts) and cuts[self.cut] < before:
            return cuts[self.cut]
        return before

    def run(self) -> list[Span]:
        raw, out = self.raw, self.out
        pos, end = self.start, self.end
        if pos >= end:
            return out
        if raw.truncated and pos == raw.base:
            out.append(Span(SpanKind.DROPPED, pos, pos))
        if raw.bom and pos < 3:
            self.marks(pos)
            stop = min(3, end)
            while pos < stop:  # a BOM may come split across reads too
                nxt = self.next_cut(stop) if self.next_cut(stop) > pos else stop
                out.append(Span(SpanKind.BOM, pos, nxt, read=raw.reads.ordinal(pos)))
                pos = nxt
                self.marks(pos)
        line = raw.line_from(pos)
        while pos < end:
            if line < raw.lines:
                _s, stop, line_end, ending, _k = raw.line(line)
            else:
                stop, line_end, ending = raw.end, raw.end, LineEnding.NONE
            if pos < min(stop, end):
                self.content(pos, min(stop, end))
                pos = min(stop, end)
            if pos < min(line_end, end):
                self.ending(pos, min(line_end, end), ending)
                pos = min(line_end, end)
            line += 1
        return out

    def ending(self, pos: int, end: int, ending: LineEnding) -> None:
        out = self.out
        self.marks(pos)
        if ending is LineEnding.CRLF and end - pos == 2:
            if self.next_cut(end) == pos + 1:  # one line end, split across reads
                out.append(Span(SpanKind.CR, pos, pos + 1))
                self.marks(pos + 1)
                out.append(Span(SpanKind.LF_PAIR, pos + 1, end))
            else:
                out.append(Span(SpanKind.CRLF, pos, end))
            return
        if ending is LineEnding.LF_PAIR:
            kind = SpanKind.LF_PAIR
        else:
            kind = SpanKind.CR if self.byte(pos) == 13 else SpanKind.LF
        out.append(Span(kind, pos, end))

    def content(self, pos: int, stop: int) -> None:
        """A line's content: text cut where reads begin, split characters marked."""
        while pos < stop:
            self.marks(pos)
            nxt = self.next_cut(stop)
            lead = self.split_char(nxt, pos, stop) if nxt < stop else -1
            if lead < 0:
                _decode(self.piece(pos, nxt), pos, self.out)
                pos = nxt
                continue
            if lead > pos:
                _decode(self.piece(pos, lead), pos, self.out)
            size = utf8_length(self.byte(lead))
            char = self.piece(lead, lead + size).decode()
            kind = SpanKind.SPLIT_HEAD
            piece = lead
            while piece < lead + size:
                self.marks(piece)
                piece_end = self.next_cut(lead + size)
                read = self.raw.reads.ordinal(piece)
                self.out.append(Span(kind, piece, piece_end, char, read))
                kind = SpanKind.SPLIT_TAIL
                piece = piece_end
            pos = lead + size

    def split_char(self, cut: int, low: int, stop: int) -> int:
        """The start of a valid UTF-8 character that ``cut`` cuts, or -1."""
        for lead in range(cut - 1, max(low, cut - 3) - 1, -1):
            byte = self.byte(lead)
            if byte < 0x80:
                return -1
            if byte >= 0xC0:
                size = utf8_length(byte)
                if not size or lead + size <= cut or lead + size > stop:
                    return -1
                try:
                    self.piece(lead, lead + size).decode()
                except UnicodeDecodeError:
                    return -1
                return lead
        return -1


def line_start(raw: RawMap, offset: int) -> int:
    """The start of the line holding ``offset`` (a window begins on whole lines)."""
    if offset <= raw.base:
        return raw.base
    line = raw.line_from(offset)
    return raw.line(line)[0] if line < raw.lines else raw.open_start


def line_end(raw: RawMap, offset: int) -> int:
    """The end of the line holding ``offset``, its ending included."""
    line = raw.line_from(offset)
    return raw.line(line)[2] if line < raw.lines else raw.end


def _decode(data: bytes, offset: int, out: list[Span]) -> None:
    """Valid text, control characters and invalid bytes of one piece."""
    i = 0
    while i < len(data):
        try:
            text = data[i:].decode()
        except UnicodeDecodeError as exc:
            if exc.start:
                _text(data[i : i + exc.start].decode(), offset + i, out)
            bad = Span(SpanKind.INVALID, offset + i + exc.start, offset + i + exc.end)
            out.append(bad)
            i += exc.end
            continue
        _text(text, offset + i, out)
        return


def _text(text: str, offset: int, out: list[Span]) -> None:
    if text.isascii() and text.isprintable():
        out.append(Span(SpanKind.TEXT, offset, offset + len(text), text))
        return
    pos = 0
    for match in _CONTROL.finditer(text):
        if match.start() > pos:
            piece = text[pos : match.start()]
            size = len(piece.encode())
            out.append(Span(SpanKind.TEXT, offset, offset + size, piece))
            offset += size
        out.append(Span(SpanKind.CONTROL, offset, offset + 1, match.group()))
        offset += 1
        pos = match.end()
    if pos < len(text):
        piece = text[pos:]
        out.append(Span(SpanKind.TEXT, offset, offset + len(piece.encode()), piece))


__all__ = ["ENDINGS", "Span", "SpanKind", "line_end", "line_start", "spans"]
