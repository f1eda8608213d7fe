"""Find next / previous: move the timeline's selection among rows matching the
search text (F3, Shift+F3, Enter and Shift+Enter in the search field) and mark
the matches in the detail pane."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeySequence,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QTextEdit

from desktop.ui import theme
from desktop.ui.timeline.model import RECORD_ROLE, FilterSpec

if TYPE_CHECKING:
    from desktop.ui.stream_view import StreamView

MARK_LIMIT = 2_000  # marks in one detail text; more only slow the pane down


class Finder(QObject):
    """One per stream view; ``messageShown`` says "wrapped" or "no match"."""

    messageShown = Signal(str)  # noqa: N815

    def __init__(self, view: StreamView) -> None:
        super().__init__(view)
        self.view = view
        # Shortcuts on the field, not an event filter: a Python eventFilter is
        # called while the tab's widgets are being destroyed, and crashed there.
        search = view.filters.search
        for keys, forward in (
            ("Return", True),
            ("Enter", True),
            ("Shift+Return", False),
            ("Shift+Enter", False),
        ):
            shortcut = QShortcut(QKeySequence(keys), search)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.next if forward else self.previous)
        view.table.selectionModel().selectionChanged.connect(self._selection_changed)
        view.filters.filterChanged.connect(self.mark)

    def next(self) -> None:
        self.step(forward=True)

    def previous(self) -> None:
        self.step(forward=False)

    def _selection_changed(self, *_args: object) -> None:
        self.mark()

    def _pattern(self) -> re.Pattern[str] | None:
        filters = self.view.filters
        text = filters.search.text()
        if not text:
            return None
        try:
            return re.compile(
                text if filters.regex.isChecked() else re.escape(text), re.IGNORECASE
            )
        except re.error:
            return None

    def step(self, *, forward: bool = True) -> bool:
        """Select the next (or previous) matching row; False when there is none."""
        view = self.view
        pattern = self._pattern()
        if pattern is None:
            view.filters.search.setFocus()
            return False
        spec = FilterSpec(
            text=view.filters.search.text(),
            regex=view.filters.regex.isChecked(),
            comments=True,
        )
        accepts = spec.predicate()
        proxy = view.proxy
        count = proxy.rowCount()
        if count == 0:
            self.messageShown.emit("No rows to search")
            return False
        current = view.table.currentIndex()
        start = current.row() if current.isValid() else (-1 if forward else count)
        delta = 1 if forward else -1
        for i in range(1, count + 1):
            row = (start + delta * i) % count
            record = proxy.index(row, 0).data(RECORD_ROLE)
            if record is not None and accepts(record):
                wrapped = (row <= start) if forward else (row >= start)
                view.table.selectRow(row)
                view.table.scrollTo(proxy.index(row, 0))
                self.messageShown.emit(
                    "Search wrapped around" if wrapped and current.isValid() else ""
                )
                return True
        self.messageShown.emit(f"No row matches {spec.text!r}")
        return False

    def mark(self) -> int:
        """Mark the search text in the detail pane; returns how many marks."""
        text_edit = self.view.detail.text
        pattern = self._pattern()
        if pattern is None:
            text_edit.setExtraSelections([])
            return 0
        content = text_edit.toPlainText()
        marks: list[QTextEdit.ExtraSelection] = []
        fmt = QTextCharFormat()
        dark = theme.palette().dark
        fmt.setBackground(QColor("#854d0e" if dark else "#fde68a"))
        fmt.setForeground(QColor("#fefce8" if dark else "#111827"))
        document = text_edit.document()
        position = _Utf16(content)
        for match in pattern.finditer(content):
            if match.end() == match.start():
                continue
            cursor = QTextCursor(document)
            cursor.setPosition(position(match.start()))
            cursor.setPosition(position(match.end()), QTextCursor.MoveMode.KeepAnchor)
            mark = QTextEdit.ExtraSelection()
            mark.cursor = cursor
            mark.format = fmt
            marks.append(mark)
            if len(marks) >= MARK_LIMIT:
                break
        text_edit.setExtraSelections(marks)
        if marks:
            first = QTextCursor(document)
            first.setPosition(marks[0].cursor.selectionStart())
            text_edit.setTextCursor(first)
            text_edit.ensureCursorVisible()
        return len(marks)


class _Utf16:
    """Python's code-point offsets in ``text`` as Qt's UTF-16 positions: each
    character beyond U+FFFF (an emoji) is two there.  Asked in increasing order."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._ascii = text.isascii()
        self._at = 0  # the code point counted up to …
        self._extra = 0  # … with this many surrogate pairs before it

    def __call__(self, offset: int) -> int:
        if self._ascii:
            return offset
        self._extra += sum(1 for c in self._text[self._at : offset] if c > "\uffff")
        self._at = offset
        return offset + self._extra
