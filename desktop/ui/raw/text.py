"""The Raw tab's text: bytes drawn with marks, and which text shows which bytes.

Glyphs and colours per piece kind (desktop/core/raw/spans.py says the kinds): CR, LF and
CR LF chips for line endings, a BOM chip, a thin line per network read with its
time and size, ⟨e2 82…⟩ ⟨…ac⟩ around a character split across reads, ⟨ff⟩ for
bytes that are not UTF-8, NUL/ESC… chips for control characters; or every byte
in hex.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from desktop.core.raw.spans import SpanKind
from desktop.ui import row_text, theme

if TYPE_CHECKING:
    from PySide6.QtGui import QKeyEvent, QMouseEvent
    from PySide6.QtWidgets import QWidget

    from desktop.core.raw.map import RawMap
    from desktop.core.raw.spans import Span


# Chips, not control pictures (␍ ␊): few fonts have those, and a literal "\n"
# is common inside JSON data, so an escape would be ambiguous.
_THIN = "\u2009"
_GLYPHS = {
    SpanKind.CR: f"{_THIN}CR{_THIN}",
    SpanKind.LF: f"{_THIN}LF{_THIN}",
    SpanKind.CRLF: f"{_THIN}CR LF{_THIN}",
    SpanKind.LF_PAIR: f"{_THIN}LF{_THIN}",
    SpanKind.BOM: f"{_THIN}BOM{_THIN}",
}
_C0 = [
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "BEL",
    "BS",
    "HT",
    "LF",
    "VT",
    "FF",
    "CR",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "FS",
    "GS",
    "RS",
    "US",
]
_MOVES = frozenset(
    {
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
    }
)
_BREAK_AFTER = frozenset({SpanKind.CR, SpanKind.LF, SpanKind.CRLF, SpanKind.LF_PAIR})


@dataclass(frozen=True, slots=True)
class _Colours:
    ending: str
    ending_bg: str
    read: str
    bom: str
    bom_bg: str
    invalid: str
    invalid_bg: str
    split: str
    split_bg: str
    control: str
    control_bg: str
    selected_bg: str


_LIGHT = _Colours(
    ending="#0e7490",
    ending_bg="#e0f2f7",
    read="#9ca3af",
    bom="#6d28d9",
    bom_bg="#ede9fe",
    invalid="#b91c1c",
    invalid_bg="#fee2e2",
    split="#92400e",
    split_bg="#fde68a",
    control="#9d174d",
    control_bg="#fce7f3",
    selected_bg="#bfdbfe",
)
_DARK = _Colours(
    ending="#67e8f9",
    ending_bg="#123440",
    read="#6b7280",
    bom="#c4b5fd",
    bom_bg="#2e2350",
    invalid="#fca5a5",
    invalid_bg="#4c1d1d",
    split="#fcd34d",
    split_bg="#4a3410",
    control="#f9a8d4",
    control_bg="#47192f",
    selected_bg="#1e3a8a",
)


def formats() -> dict[str, QTextCharFormat]:
    colours = _DARK if theme.palette().dark else _LIGHT

    def fmt(fg: str | None = None, bg: str | None = None) -> QTextCharFormat:
        f = QTextCharFormat()
        if fg:
            f.setForeground(QColor(fg))
        if bg:
            f.setBackground(QColor(bg))
        return f

    read = fmt(colours.read)
    read.setFontPointSize(max(7.0, read.font().pointSizeF() - 1))
    chips = {
        "ending": fmt(colours.ending, colours.ending_bg),
        "bom": fmt(colours.bom, colours.bom_bg),
        "control": fmt(colours.control, colours.control_bg),
    }
    for chip in chips.values():
        chip.setFontPointSize(max(7.0, chip.font().pointSizeF() - 1.5))
    return {
        "text": QTextCharFormat(),
        "read": read,
        "invalid": fmt(colours.invalid, colours.invalid_bg),
        "split": fmt(colours.split, colours.split_bg),
        "selected": fmt(None, colours.selected_bg),
        **chips,
    }


_STYLE = {
    SpanKind.TEXT: "text",
    SpanKind.CONTROL: "control",
    SpanKind.INVALID: "invalid",
    SpanKind.SPLIT_HEAD: "split",
    SpanKind.SPLIT_TAIL: "split",
    SpanKind.BOM: "bom",
    SpanKind.CR: "ending",
    SpanKind.LF: "ending",
    SpanKind.CRLF: "ending",
    SpanKind.LF_PAIR: "ending",
    SpanKind.READ: "read",
    SpanKind.DROPPED: "read",
}


def _hex(data: bytes) -> str:
    return data.hex(" ")


class RawText(QPlainTextEdit):
    """The bytes; remembers which document range shows which bytes.

    ``picked`` says where the user clicked or moved the cursor with the keys;
    edits of the document move the cursor too, so cursorPositionChanged cannot.
    """

    picked = Signal(int)  # a document position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rawText")
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(self.wordWrapMode().WrapAnywhere)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.doc_starts: list[int] = []  # document position of each piece
        self.byte_starts: list[int] = []  # first byte of each piece
        self.byte_ends: list[int] = []
        self.texts: list[str] = []  # text as drawn, for TEXT pieces (else "")
        self.hexed: list[bool] = []

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if event.button() is Qt.MouseButton.LeftButton:
            self.picked.emit(self.textCursor().position())

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        super().keyReleaseEvent(event)
        if event.key() in _MOVES:
            self.picked.emit(self.textCursor().position())

    def reset(self) -> None:
        self.clear()
        self.doc_starts, self.byte_starts, self.byte_ends = [], [], []
        self.texts, self.hexed = [], []

    def truncate(self, byte: int) -> None:
        """Remove the pieces from the first one at or after ``byte``."""
        i = bisect_right(self.byte_starts, byte - 1)
        while i > 0 and self.byte_starts[i - 1] >= byte:
            i -= 1
        if i >= len(self.doc_starts):
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.doc_starts[i])
        cursor.movePosition(
            QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor
        )
        cursor.removeSelectedText()
        for column in (self.doc_starts, self.byte_starts, self.byte_ends):
            del column[i:]
        del self.texts[i:]
        del self.hexed[i:]

    def byte_at(self, position: int) -> int | None:
        """The byte shown at document ``position``."""
        i = bisect_right(self.doc_starts, position) - 1
        if i < 0:
            return None
        start, end = self.byte_starts[i], self.byte_ends[i]
        if end <= start:  # a mark without bytes: the next byte
            return start
        offset = position - self.doc_starts[i]
        if self.hexed[i]:
            return min(end - 1, start + offset // 3)
        text = self.texts[i]
        if text:
            return min(end - 1, start + len(text[:offset].encode()))
        return start

    def doc_range(self, start: int, end: int) -> tuple[int, int] | None:
        """Document positions showing bytes ``[start, end)``, if drawn."""
        starts, ends = self.byte_starts, self.byte_ends
        if not starts or end <= starts[0] or start >= ends[-1]:
            return None
        first = max(0, bisect_right(starts, start) - 1)
        while first < len(starts) and ends[first] <= start:
            first += 1
        last = max(first, bisect_right(starts, end - 1) - 1)
        while last > first and ends[last] <= starts[last]:  # a trailing mark
            last -= 1
        doc_end = (
            self.doc_starts[last + 1]
            if last + 1 < len(self.doc_starts)
            else self.document().characterCount() - 1
        )
        return self.doc_starts[first], doc_end

    def mark(self, start: int, end: int, fmt: QTextCharFormat, *, scroll: bool) -> None:
        """Highlight the text of bytes ``[start, end)``; ``scroll`` it into view."""
        span = self.doc_range(start, end)
        if span is None:
            self.setExtraSelections([])
            return
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        selection.format = fmt
        self.setExtraSelections([selection])
        if scroll:  # its end, then its start: as much of it as fits shows
            for position in (span[1], span[0]):
                moved = QTextCursor(self.document())
                moved.setPosition(position)
                self.setTextCursor(moved)
                self.ensureCursorVisible()

    def add(
        self,
        raw: RawMap,
        pieces: list[Span],
        hexed: bool,
        formats: dict[str, QTextCharFormat],
    ) -> None:
        """Add ``pieces`` at the end of the document, in one edit block."""
        text = self
        doc = text.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        pos = doc.characterCount() - 1
        at_line_start = pos == 0 or doc.lastBlock().length() == 1
        cursor.beginEditBlock()
        doc_starts, byte_starts, byte_ends = (
            text.doc_starts,
            text.byte_starts,
            text.byte_ends,
        )
        for piece in pieces:
            kind = piece.kind
            if kind is SpanKind.READ:
                label = _read_label(raw, piece.read)
                shown = ("" if at_line_start else "\n") + label + "\n"
            elif kind is SpanKind.DROPPED:
                shown = "⟨older bytes of this connection were dropped⟩\n"
            elif hexed or kind is SpanKind.INVALID:
                data = raw.bytes(piece.start, piece.end)
                shown = _hex(data) + " " if hexed else f"⟨{_hex(data)}⟩"
                if kind is SpanKind.BOM and hexed:
                    shown = "⟨BOM " + _hex(data) + "⟩ "
                if kind in _BREAK_AFTER:
                    shown += "\n"
            elif kind is SpanKind.TEXT:
                shown = piece.text
            elif kind is SpanKind.CONTROL:
                code = ord(piece.text)
                shown = _THIN + ("DEL" if code == 0x7F else _C0[code]) + _THIN
            elif kind is SpanKind.SPLIT_HEAD:
                shown = f"{piece.text}⟨{_hex(raw.bytes(piece.start, piece.end))}…⟩"
            elif kind is SpanKind.SPLIT_TAIL:
                shown = f"⟨…{_hex(raw.bytes(piece.start, piece.end))}⟩"
            else:
                shown = _GLYPHS[kind] + ("\n" if kind in _BREAK_AFTER else "")
            doc_starts.append(pos)
            byte_starts.append(piece.start)
            byte_ends.append(piece.end)
            text.texts.append(piece.text if kind is SpanKind.TEXT and not hexed else "")
            text.hexed.append(hexed and piece.end > piece.start)
            cursor.insertText(shown, formats[_STYLE[kind]])
            pos += len(shown)
            at_line_start = shown.endswith("\n")
        cursor.endEditBlock()

    def add_note(self, byte: int, note: str, fmt: QTextCharFormat) -> None:
        """A line of text about the bytes, at byte ``byte`` (it shows no bytes)."""
        doc = self.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        at_line_start = doc.characterCount() == 1 or doc.lastBlock().length() == 1
        shown = ("" if at_line_start else "\n") + f"┄┄ {note} ┄┄"
        self.doc_starts.append(doc.characterCount() - 1)
        self.byte_starts.append(byte)
        self.byte_ends.append(byte)
        self.texts.append("")
        self.hexed.append(False)
        cursor.insertText(shown, fmt)


def _read_label(raw: RawMap, ordinal: int) -> str:
    index = ordinal - raw.reads.first
    start, end, at, wall = raw.reads.info(index, raw.end)
    stamp = row_text.clock(wall) if wall else ""
    gap = ""
    if index > 0:
        previous = raw.reads.info(index - 1, raw.end)[2]
        gap = f" · +{row_text.seconds(max(0.0, at - previous))}"
    return f"┄┄ read {ordinal + 1} · {stamp}{gap} · {end - start:,} B ┄┄"


__all__ = ["RawText", "formats"]
