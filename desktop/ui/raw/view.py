"""The Raw tab: one connection's bytes as received, and what each byte became.

Line endings, a BOM, read boundaries, characters split across reads, control
characters and bytes that are not UTF-8 are drawn as marks (desktop/core/raw/spans.py
cuts the bytes, text.py draws them).  Selecting a timeline row
highlights its bytes; clicking bytes says what they became and asks the stream
view to select that row.

Only a window of the connection is in the document (``WINDOW`` bytes, whole
lines): a 4 MB log would be a slow document to build.  Neither the map nor the
window is made in one go: mapping a full 4 MB log takes about a second and
drawing a window a tenth of one, so both go in slices of ``SLICE_S`` on the UI
loop (a zero-interval timer), with "mapping…" said meanwhile; a selection made
before the map is ready is shown when it is.  While it shows the newest
bytes it follows them by appending what arrived since the last refresh; the
unfinished line at the end is drawn again, since its bytes may turn a half
character into a split one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.engine.state import State
from desktop.core.raw.index import RawIndex
from desktop.core.raw.spans import line_end, line_start, spans
from desktop.core.raw.target import target
from desktop.ui import row_text
from desktop.ui.raw.became import describe, no_bytes
from desktop.ui.raw.text import RawText, formats
from desktop.ui.theme import named

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from desktop.core.engine.records import Record
    from desktop.core.raw.map import RawMap
    from desktop.ui.session import StreamSession
    from desktop.ui.settings import Settings

WINDOW = 128 << 10  # bytes in the document at once (whole lines)
SLICE_S = 0.010  # work per turn of the UI loop: mapping, drawing
KEEP_KEY = "raw/keepMB"  # the last "Keep N MB" chosen, for new streams
KEEP_MAX_MB = 1024
_DRAW_STEP = 2 << 10  # bytes drawn per step (whole lines), a few ms


class RawView(QWidget):
    """One stream's Raw tab.  ``rows`` gives the timeline's rows and its base."""

    rowRequested = Signal(int)  # noqa: N815 - a timeline sequence number

    def __init__(
        self,
        session: StreamSession,
        rows: Callable[[], tuple[Sequence[Record], int]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rawView")
        self.session = session
        self.index = RawIndex(session.raw, session.options.max_event_bytes)
        self._rows = rows
        self.connection = named(QComboBox(), "rawConnection")
        self.connection.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.hex = named(QCheckBox("Hex"), "rawHex")
        self.hex.setToolTip("Show every byte as two hex digits")
        self.earlier = named(QPushButton("Earlier"), "rawEarlier")
        self.earlier.setToolTip("Show the bytes before these")
        self.latest = named(QPushButton("Latest"), "rawLatest")
        self.latest.setToolTip("Show the newest bytes and follow them")
        self.keep = named(QSpinBox(), "rawKeep")
        self.keep.setRange(1, KEEP_MAX_MB)
        self.keep.setSuffix(" MB")
        self.keep.setValue(max(1, session.raw.limit >> 20))
        self.keep.setToolTip(
            "Raw bytes kept for this stream; the oldest reads go first"
        )
        self.note = named(QLabel(), "rawNote")
        self.note.setProperty("dropped", False)  # styled with the widget, not later
        self.text = RawText()
        self.info = named(QLabel(), "rawInfo")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(QLabel("Connection"))
        bar.addWidget(self.connection)
        bar.addWidget(self.hex)
        bar.addWidget(self.earlier)
        bar.addWidget(self.latest)
        bar.addStretch(1)
        bar.addWidget(self.note)
        bar.addWidget(QLabel("Keep"))
        bar.addWidget(self.keep)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.info)

        self._formats = formats()
        self._shown: int | None = None  # the connection in the document
        self._start = 0  # bytes [start, end) are drawn
        self._end = 0
        self._open = 0  # where the unfinished line at the end begins
        self._hexed = False
        self._follow = True
        self._highlight: tuple[int, int] | None = None
        self._pending_row: int | None = None  # seq of a selection made while hidden
        self._quiet = False  # moving the cursor ourselves: not a click
        self._generation = -1
        self._tail_ended = False  # the drawn tail says the connection ended
        self._connections: list[int] = []
        self._wanted: tuple[int, int | None] | None = None  # a _show awaiting its map
        self._drawing: tuple[RawMap, int] | None = None  # map, end of the window
        self._appending: bool | None = None  # drawing new bytes: was at the bottom
        self._settings: Settings | None = None  # where "Keep N MB" is saved
        self._work = QTimer(self)  # one slice of mapping or drawing per turn
        self._work.setInterval(0)
        self._work.timeout.connect(self._step)

        self.connection.activated.connect(self._pick_connection)
        self.hex.toggled.connect(lambda _on: self._redraw())
        self.earlier.clicked.connect(self._show_earlier)
        self.latest.clicked.connect(self._show_latest)
        self.keep.valueChanged.connect(self._set_keep)
        self.text.picked.connect(self._clicked)
        self.info.setText("Click bytes to see what they became.")

    # -- what the stream view calls ----------

    def refresh(self) -> None:
        """Bring the tab up to date (the stream view calls this while it shows)."""
        log = self.session.raw
        self.index.limit = self.session.options.max_event_bytes  # a new connect's
        if self._wanted is not None or self._drawing is not None:
            self._show_note()
            return  # the slices call again when done
        shown = self._shown
        ended = shown is not None and self._ended(shown)
        if self._pending_row is not None:
            seq, self._pending_row = self._pending_row, None
            self.show_row(seq)
        elif log.generation == self._generation and ended == self._tail_ended:
            return
        self._generation = log.generation
        self._fill_connections()
        self._show_note()
        shown = self._shown
        if shown is None or (self._follow and shown != self._latest()):
            self._show(self._latest(), None)
            return
        raw = self._map(shown)
        if raw is None:
            if self.index.busy(shown):
                self._generation = -1  # look again when the slices are done
                return
            self._show(self._latest(), None)
            return
        if self._end == raw.end and ended != self._tail_ended:
            self._append(raw)  # the connection ended: say so under its bytes
        elif self._follow and raw.end > self._end:
            self._append(raw)
        self._update_buttons(raw)

    def _show_note(self) -> None:
        log = self.session.raw
        dropped = log.dropped_bytes
        note = f"{row_text.human_bytes(log.size)} kept"
        wanted = self._wanted
        if wanted is not None:
            done = self.index.progress(wanted[0])
            note = f"mapping… {done:.0%} of {row_text.human_bytes(log.size)}"
        elif self._drawing is not None:
            note = "drawing…"
        elif dropped:
            note += f" · {row_text.human_bytes(dropped)} older dropped"
        if self.note.text() != note:
            self.note.setText(note)
        flag = " older dropped" in note
        if self.note.property("dropped") != flag:  # polishing costs: only on change
            self.note.setProperty("dropped", flag)
            self.note.style().unpolish(self.note)
            self.note.style().polish(self.note)

    def show_row(self, seq: int) -> None:
        """Highlight the bytes of the timeline row numbered ``seq`` (a number,
        not an index: retention may trim before a held selection shows)."""
        if not self.isVisible() or self._wanted or self._drawing:
            self._pending_row = seq  # shown when the map and window are ready
            if self.isVisible():
                self._set_info("Mapping the bytes: the selection shows when ready.")
            return
        rows, base = self._rows()
        index = seq - base
        if not 0 <= index < len(rows):
            return
        record = rows[index]
        connection = row_text.connection(record)  # type: ignore[arg-type]
        if (
            connection is not None
            and self._map(connection) is None
            and self.index.busy(connection)
        ):
            self._pending_row = seq
            self._wanted = (connection, None)
            self._set_info("Mapping the bytes: the selection shows when ready.")
            return
        located = self.index.locate(rows, index)
        if located is None:
            self._set_info(no_bytes(record, connection, self.session.raw))
            self.text.setExtraSelections([])
            self._highlight = None
            return
        if located.connection != self._shown or not (
            self._start <= located.start and located.end <= self._end
        ):
            self._show(located.connection, located.start)
            if self._wanted or self._drawing:
                self._pending_row = seq  # marked when drawn
                return
        self._mark(located.start, located.end, scroll=not self._quiet)
        raw = self.index.current(located.connection)
        if raw is not None:
            # The last byte: an event's block may begin with a comment line.
            last = max(located.start, located.end - 1)
            hit = target(raw, last, ended=self._ended(located.connection))
            self._set_info(
                describe(
                    hit,
                    raw,
                    self.index,
                    rows,
                    located.connection,
                    self._ended(located.connection),
                )
            )

    # -- drawing ----------

    def _latest(self) -> int | None:
        connections = self.session.raw.connections()
        return connections[-1] if connections else None

    def _fill_connections(self) -> None:
        connections = self.session.raw.connections()
        if connections == self._connections:
            return
        self._connections = connections
        self.connection.blockSignals(True)
        self.connection.clear()
        for number in connections:
            conn = self.session.raw.connection(number)
            size = row_text.human_bytes(conn.size) if conn else ""
            self.connection.addItem(f"#{number} · {size}", number)
        if self._shown in connections:
            self.connection.setCurrentIndex(connections.index(self._shown))
        self.connection.blockSignals(False)

    def _show(self, connection: int | None, around: int | None) -> None:
        """Draw a window of ``connection``: the newest bytes, or around an offset."""
        self._shown = connection
        self.text.reset()
        self._drawing = None
        self._highlight = None
        self.text.setExtraSelections([])
        raw = self._map(connection) if connection is not None else None
        if raw is None and connection is not None and self.index.busy(connection):
            self._wanted = (connection, around)
            self._start = self._end = self._open = 0
            self.text.setPlaceholderText(
                f"Mapping the bytes of connection {connection}: where each line "
                "begins and ends, and what each block became…"
            )
            self._show_note()
            self._update_buttons(None)
            return
        if raw is None:
            self._start = self._end = self._open = 0
            self.text.setPlaceholderText(
                "No raw bytes yet: they show here as they arrive."
            )
            self._update_buttons(None)
            return
        if connection in self._connections:
            self.connection.setCurrentIndex(self._connections.index(connection))
        if around is None:
            self._follow = True
            start = line_start(raw, raw.end - WINDOW)
        else:
            self._follow = False
            start = line_start(raw, around - WINDOW // 2)
        end = min(raw.end, start + WINDOW) if around is not None else raw.end
        if around is not None and end < raw.end:
            end = line_end(raw, end)
        self._draw(raw, start, end)

    def _draw(self, raw: RawMap, start: int, end: int) -> None:
        """Draw ``[start, end)``: a first slice now, the rest in later turns."""
        self._start = self._end = start
        self._hexed = self.hex.isChecked()
        self._appending = None
        self._drawing = (raw, end)
        self._draw_slices(time.perf_counter() + SLICE_S)

    def _draw_slices(self, deadline: float) -> None:
        """Draw whole lines of the window until ``deadline``; finish when done."""
        assert self._drawing is not None
        raw, end = self._drawing
        while self._end < end:
            stop = min(end, line_end(raw, min(end, self._end + _DRAW_STEP)))
            self.text.add(raw, spans(raw, self._end, stop), self._hexed, self._formats)
            self._end = stop
            if time.perf_counter() > deadline:
                break
        if self._end < end:
            self._work.start()
            self._show_note()
            return
        self._drawing = None
        if end == raw.end:
            self._end_note(raw)
        self._open = max(self._start, raw.open_start)
        appending, self._appending = self._appending, None
        if appending is None and self._follow:
            self.text.moveCursor(QTextCursor.MoveOperation.End)
            self.text.ensureCursorVisible()
        if self._highlight is not None:
            self._mark(*self._highlight, scroll=appending is None)
        if appending:
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())
        self._update_buttons(raw)
        self._show_note()
        if self._pending_row is not None:
            seq, self._pending_row = self._pending_row, None
            self.show_row(seq)

    def _map(self, connection: int) -> RawMap | None:
        """The map when ready; else one slice of work on it, and more to come."""
        raw = self.index.advance(connection, time.perf_counter() + SLICE_S)
        if raw is None and self.index.busy(connection):
            self._work.start()
        return raw

    def _step(self) -> None:
        """One turn's slice: map what a shown window waits for, or draw it."""
        deadline = time.perf_counter() + SLICE_S
        if self._wanted is not None:
            connection, around = self._wanted
            if self.index.advance(connection, deadline) is None:
                if not self.index.busy(connection):  # its bytes went meanwhile
                    self._wanted = None
                    self._show(self._latest(), None)
                self._show_note()
                return
            self._wanted = None
            self._show(connection, around)
        elif self._drawing is not None:
            self._draw_slices(deadline)
        elif self._shown is not None and self.index.busy(self._shown):
            self.index.advance(self._shown, deadline)  # a successor map
        else:
            self._work.stop()

    def _append(self, raw: RawMap) -> None:
        """Follow: draw what arrived, from the unfinished line on."""
        if raw.end - self._start > 2 * WINDOW:
            self._show(self._shown, None)
            return
        bar = self.text.verticalScrollBar()
        self._appending = bar.value() >= bar.maximum() - 2  # stays at the bottom
        self.text.truncate(self._open)
        self._end = self._open
        self._drawing = (raw, raw.end)
        self._draw_slices(time.perf_counter() + SLICE_S)

    def _end_note(self, raw: RawMap) -> None:
        """Under the last byte of a connection that ended: how it ended."""
        shown = self._shown
        self._tail_ended = shown is not None and self._ended(shown)
        if not self._tail_ended:
            return
        if raw.discards():
            note = "connection closed: the unfinished event above was discarded"
            self.text.add_note(raw.end, note, self._formats["invalid"])
        else:
            self.text.add_note(raw.end, "connection closed", self._formats["read"])

    def _redraw(self) -> None:
        if self._shown is None:
            return
        highlight = self._highlight
        raw = self._map(self._shown)
        if raw is None or self._drawing is not None:
            return
        follow = self._follow
        self.text.reset()
        self._highlight = highlight  # marked again when drawn
        self._draw(raw, self._start, raw.end if follow else self._end)

    def _mark(self, start: int, end: int, *, scroll: bool) -> None:
        self._highlight = (start, end)
        self._quiet = True
        try:
            self.text.mark(start, end, self._formats["selected"], scroll=scroll)
        finally:
            self._quiet = False

    def _update_buttons(self, raw: RawMap | None) -> None:
        self.earlier.setEnabled(raw is not None and self._start > raw.base)
        self.latest.setEnabled(
            raw is not None and (not self._follow or self._shown != self._latest())
        )

    # -- intents ----------

    def _pick_connection(self, i: int) -> None:
        number = self.connection.itemData(i)
        if number is not None and number != self._shown:
            self._show(int(number), None)
            self._follow = number == self._latest()

    def _show_earlier(self) -> None:
        raw = self._map(self._shown) if self._shown is not None else None
        if raw is None or self._drawing is not None or self._start <= raw.base:
            return
        self._show(self._shown, max(raw.base, self._start - WINDOW // 2))

    def _show_latest(self) -> None:
        self._show(self._latest(), None)

    def use_settings(self, settings: Settings, *, apply: bool = True) -> None:
        """Keep what the user last chose ("Keep N MB"), and save each new choice.

        ``apply=False`` (a recording: its reads are already counted) leaves this
        stream's bound alone but still saves what the user picks here.
        """
        self._settings = settings
        if apply:
            keep = settings.integer(KEEP_KEY, self.keep.value(), 1, KEEP_MAX_MB)
            self.keep.setValue(keep)

    def _set_keep(self, megabytes: int) -> None:
        self.session.raw.set_limit(megabytes << 20)
        if self._settings is not None:
            self._settings.set(KEEP_KEY, megabytes)
        self.refresh()

    def _clicked(self, position: int) -> None:
        if self._shown is None:
            return
        byte = self.text.byte_at(position)
        raw = self._map(self._shown)
        if byte is None or raw is None or byte >= raw.end:
            return
        connection = self._shown
        ended = self._ended(connection)
        hit = target(raw, byte, ended=ended)
        rows, base = self._rows()
        info = describe(hit, raw, self.index, rows, connection, ended)
        self._set_info(info)
        if hit.what != "outside":
            self._mark(hit.start, hit.end, scroll=False)
        if info.row is not None:
            self._quiet = True
            try:
                self.rowRequested.emit(base + info.row)
            finally:
                self._quiet = False

    def _set_info(self, info: object) -> None:
        self.info.setText(str(info))

    def _ended(self, connection: int) -> bool:
        session = self.session
        return not (
            connection == session.attempt
            and session.state in (State.CONNECTING, State.OPEN)
        )


__all__ = ["WINDOW", "RawView"]
