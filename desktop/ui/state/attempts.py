"""The attempts list: one row per connection attempt of a stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from desktop.core.files.redact import redact_url
from desktop.ui import row_text

if TYPE_CHECKING:
    from PySide6.QtCore import QObject
    from PySide6.QtGui import QResizeEvent

    from desktop.ui.session import AttemptRow

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (
    "#",
    "Start",
    "End",
    "Duration",
    "Outcome",
    "Waited / asked",
    "Last-Event-ID",
    "Events",
)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_SHOWN_FIRST = (0, 5, 6, 7, 4)  # #, waited / asked, Last-Event-ID, events, outcome
_OUTCOME, _ID = 4, 6  # the columns that share the room left; elided when short
# The widest usual text of each other column, measured in the view's font.
_SAMPLES = {
    0: "999",
    1: "00:00:00.000",
    2: "00:00:00.000",
    3: "59 min 59 s",
    5: "999 ms / 9.9 s",
    7: "999,999",
}
_LEAST = {_OUTCOME: 110, _ID: 90}  # px, below which the table scrolls instead
_ID_SHARE = 0.45  # of the room the two share
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class AttemptsModel(QAbstractTableModel):
    """Reads the session's attempt list; :meth:`refresh` tells views what changed."""

    def __init__(
        self, attempts: list[AttemptRow], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._attempts = attempts
        self._known = len(attempts)
        self._last: tuple[object, ...] = ()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._known

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> object:
        if role == _DISPLAY and orientation is Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        if not index.isValid() or index.row() >= self._known:
            return None
        row = self._attempts[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 3, 5, 7):
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            whole = _cell(row, column) if column in (_OUTCOME, _ID) else ""
            return "\n".join(t for t in (whole, attempt_detail(row)) if t) or None
        if role != _DISPLAY:
            return None
        return _cell(row, column)

    def refresh(self) -> None:
        """New attempts become rows; the last one, still counting, repaints."""
        total = len(self._attempts)
        if total > self._known:
            self.beginInsertRows(QModelIndex(), self._known, total - 1)
            self._known = total
            self.endInsertRows()
        if total:
            last = total - 1
            row = self._attempts[last]
            shown = (last, row.events, row.outcome, row.ended_at)
            if shown != self._last:  # repaint only what changed
                self._last = shown
                self.dataChanged.emit(
                    self.index(last, 0), self.index(last, len(COLUMNS) - 1)
                )

    def reset(self, attempts: list[AttemptRow]) -> None:
        self.beginResetModel()
        self._attempts = attempts
        self._known = len(attempts)
        self._last = ()
        self.endResetModel()


def _cell(row: AttemptRow, column: int) -> str:
    if column == 0:
        return str(row.number)
    if column == 1:
        return row_text.clock(row.started_wall)
    if column == 2:
        if row.ended_at is None:
            return "…"
        return row_text.clock(row.started_wall + (row.ended_at - row.started_at))
    if column == 3:
        duration = row.duration_s
        return "" if duration is None else row_text.seconds(duration)
    if column == 4:
        hops = len(row.redirects)
        if not hops:
            return row.outcome
        return f"{row.outcome} · {hops} redirect{'s' if hops > 1 else ''}"
    if column == 5:
        if row.delay_asked_ms is None or row.delay_waited_ms is None:
            return "first"
        waited = row_text.seconds(row.delay_waited_ms / 1000)
        return f"{waited} / {row_text.seconds(row.delay_asked_ms / 1000)}"
    if column == 6:
        return row.last_event_id or "—"
    return f"{row.events:,}"


def attempt_detail(row: AttemptRow) -> str:
    """The attempt's redirects (and what each dropped) and the response that was
    not a stream: the row's tooltip."""
    lines = [f"Attempt {row.number}: {row.url}"] if row.redirects else []
    for hop in row.redirects:
        lines.append(f"HTTP {hop.status} → {redact_url(hop.location)}")
        if hop.dropped:
            lines.append("  another origin: not sent on: " + ", ".join(hop.dropped))
    response = row.response
    if response is not None:
        lines.append(
            f"{response.http_version} {response.status} {response.reason} · "
            f"{response.content_type or 'no Content-Type'} · "
            f"{row_text.human_bytes(response.size)} body (in the timeline's "
            "closed row)"
        )
    return "\n".join(lines)


class _MiddleElided(QStyledItemDelegate):
    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class AttemptsView(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attemptsView")
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(84)
        # An id's start and end tell ids apart ("…:stream-3:3000"): elide inside.
        self.setItemDelegateForColumn(_ID, _MiddleElided(self))

    def size_columns(self) -> None:
        """What a reconnect is about comes first, so a 600 px pane shows it
        unscrolled: the number, waited / asked, the Last-Event-ID sent, the
        events and how it ended; the clock times follow (the model's order
        stays, only the header's visual order moves).  Each column is as wide
        as its usual text; see :meth:`fit_columns` for the other two."""
        header = self.horizontalHeader()
        for visual, column in enumerate(_SHOWN_FIRST):
            header.moveSection(header.visualIndex(column), visual)
        cells, heads = self.fontMetrics(), header.fontMetrics()
        for column, sample in _SAMPLES.items():
            width = max(
                cells.horizontalAdvance(sample) + 14,
                heads.horizontalAdvance(COLUMNS[column]) + 16,
            )
            self.setColumnWidth(column, width)
        self.fit_columns()

    def fit_columns(self) -> None:
        """The Last-Event-ID and the outcome share the room the others leave,
        elided (the whole text in the tooltip): fixed widths of 780 px in all
        put a horizontal scroll bar under the tab beside a jobs dock at 1366 px."""
        room = self.viewport().width()
        if room <= 0:
            return
        fixed = sum(self.columnWidth(c) for c in _SAMPLES)
        spare = room - fixed
        ident = max(_LEAST[_ID], int(spare * _ID_SHARE))
        self.setColumnWidth(_ID, ident)
        self.setColumnWidth(_OUTCOME, max(_LEAST[_OUTCOME], spare - ident))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_columns()
