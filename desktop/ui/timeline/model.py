"""The timeline: a table model over a stream's record store, and its filter proxy.

The rows live in the session's :class:`~desktop.core.store.RecordStore`; the model
is a view of its published rows.  Each flush (:meth:`TimelineModel.sync`) trims
and publishes what arrived, with one ``beginRemoveRows`` for what retention trims
and one ``beginInsertRows`` for the new rows, never one by one.  The proxy is
QSortFilterProxyModel-style, but filters whole batches in one Python pass: a
QSortFilterProxyModel subclass would call ``filterAcceptsRow`` across the binding
once per row, which at tens of thousands of events per second is most of the budget.
Paints use ``multiData`` (one call per cell for all roles) and C++ index()/flags().
It maps proxy rows to sequence numbers (``base + source row``), so trimming the
store's front never renumbers it.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from desktop.core.engine.records import Closed, Comment, Error, Event
from desktop.ui import row_text, theme

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PySide6.QtCore import QObject

    from desktop.core.store import RecordStore, Row

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Received", "Δ", "Conn", "ID", "Type", "Size", "Data")
RECEIVED, DELTA, CONN, ID, TYPE, SIZE, DATA = range(len(COLUMNS))

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
# Characters of data a row shows: Qt shapes all of them before eliding, and 400
# made a repaint of the timeline twice as slow as 160 (enough for a wide screen).
_PREVIEW = 160
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
# Numbers to the right; the connection number centred, so that it does not sit
# against the ID beside it ("1 1").
_ALIGNED = {
    DELTA: _RIGHT,
    SIZE: _RIGHT,
    CONN: Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
}
_DISPLAY = Qt.ItemDataRole.DisplayRole
_DISPLAY_INT = int(_DISPLAY)
_ALIGN_INT = int(Qt.ItemDataRole.TextAlignmentRole)
# The roles cell() answers; paints ask for a dozen, so the rest stop at the door.
_ROLES = frozenset(
    int(role)
    for role in (
        _DISPLAY,
        RECORD_ROLE,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ToolTipRole,
    )
)


class TimelineModel(QAbstractTableModel):
    """The published rows of a store; row ``i`` has sequence number ``base + i``."""

    def __init__(self, store: RecordStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._rows = store.records  # the store's published rows, read on every paint
        self._italic = QFont()
        self._italic.setItalic(True)

    # -- Qt model interface ----------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        if role not in _ROLES or not index.isValid():
            return None
        return self.cell(index.row(), index.column(), role)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> object:
        if orientation is Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == _DISPLAY:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _ALIGNED.get(section)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -- cells ----------

    def cell(self, row: int, column: int, role: int) -> object:
        """``data()`` without a QModelIndex, for the proxy."""
        rows = self._rows
        if not 0 <= row < len(rows):
            return None
        return self._value(row, rows[row], column, role)

    def fill(self, row: int, column: int, span: QModelRoleDataSpan) -> None:
        """``multiData()`` for the proxy: every role a delegate asks, in one call.

        A paint asks each visible cell for about seven roles; one Python call per
        cell instead of seven halves the time a repaint of the timeline takes.
        Delegates reuse the span from cell to cell: a role without data must be
        cleared, or the previous cell's value shows through.
        """
        rows = self._rows
        if not 0 <= row < len(rows):
            return
        record = rows[row]
        plain = record.__class__ is Event  # most rows: no colour, no italics
        for slot in span:  # type: ignore[attr-defined]
            role = slot.role()
            if role == _DISPLAY_INT:
                slot.setData(self._display(row, record, column))
            elif role == _ALIGN_INT and column in _ALIGNED:
                slot.setData(_ALIGNED[column])
            elif not plain and role in _ROLES:
                value = self._value(row, record, column, role)
                if value is None:
                    slot.clearData()
                else:
                    slot.setData(value)
            else:
                slot.clearData()

    def _value(self, row: int, record: Row, column: int, role: int) -> object:
        if role == _DISPLAY:
            return self._display(row, record, column)
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.ForegroundRole:
            cls = record.__class__
            if cls is Event:
                return None
            colours = theme.palette()
            if cls is Comment:
                return colours.comment
            if cls is Error or (cls is Closed and record.failed):  # type: ignore[union-attr]
                return colours.error
            return colours.state
        if role == Qt.ItemDataRole.FontRole:
            return None if record.__class__ is Event else self._italic
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGNED.get(column)
        if role == Qt.ItemDataRole.ToolTipRole and column == DATA:
            text = row_text.summary(record)
            return text[:2000] + ("…" if len(text) > 2000 else "")
        return None

    def _display(self, row: int, record: Row, column: int) -> str:
        if column == DATA:
            text = row_text.summary(record)
            preview = text[:_PREVIEW].replace("\r", "").replace("\n", " ⏎ ")
            return preview + "…" if len(text) > _PREVIEW else preview
        if column == TYPE:
            return row_text.kind(record)
        if column == RECEIVED:
            return row_text.clock(record.wall)
        if column == DELTA:
            if row == 0:
                return ""
            return "+" + row_text.seconds(max(0.0, record.at - self._rows[row - 1].at))
        if column == ID:
            return record.id if record.__class__ is Event else ""
        if column == CONN:
            number = row_text.connection(record)
            return "" if number is None else str(number)
        if record.__class__ is Event:
            return row_text.human_bytes(row_text.data_size(record.data))
        return ""

    # -- following the store ----------

    def sync(self, *, publish: bool = True) -> None:
        """Show what arrived since the last sync: at most one removal (retention)
        and one insertion, each announced before the store changes.  Without
        ``publish`` (paused) only the rows shown are trimmed to retention."""
        store = self.store
        gone = store.overflow(waiting=publish)
        if gone:
            self.beginRemoveRows(QModelIndex(), 0, gone - 1)
            store.trim(waiting=publish)
            self.endRemoveRows()
        else:
            store.trim(waiting=publish)  # a flood beyond retention: waiting rows go
        new = store.waiting if publish else 0
        if new:
            first = store.published
            self.beginInsertRows(QModelIndex(), first, first + new - 1)
            store.publish()
            self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.store.clear()
        self.endResetModel()


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """What the user chose to see.  ``text`` is a substring, or a regex if ``regex``."""

    hidden_types: frozenset[str] = frozenset()
    text: str = ""
    regex: bool = False
    connection: int | None = None
    comments: bool = False
    states: bool = True

    def predicate(self) -> Callable[[Row], bool]:
        """Raises ``re.error`` for a bad regex, so the filter bar can say so."""
        hidden, conn, comments, states = (
            self.hidden_types,
            self.connection,
            self.comments,
            self.states,
        )
        match = _matcher(self.text, self.regex)

        def accepts(row: Row) -> bool:
            cls = row.__class__
            if cls is Event:
                if row.type in hidden:  # type: ignore[union-attr]
                    return False
            elif cls is Comment:
                if not comments:
                    return False
            elif not states:
                return False
            if conn is not None and row_text.connection(row) not in (conn, None):
                return False
            if match is None:
                return True
            if cls is Event:
                return bool(match(row.data) or match(row.type) or match(row.id))  # type: ignore[union-attr]
            return bool(match(row_text.summary(row)))

        return accepts


def _matcher(text: str, regex: bool) -> Callable[[str], object] | None:
    if not text:
        return None
    if regex:
        return re.compile(text, re.IGNORECASE).search
    return re.compile(re.escape(text), re.IGNORECASE).search


class TimelineFilter(QAbstractTableModel):
    """The visible subset of a :class:`TimelineModel`, filtered a batch at a time.

    A proxy in all but base class: QAbstractProxyModel makes index(), parent()
    and flags() pure virtual, i.e. Python calls on every painted cell.
    """

    def __init__(self, source: TimelineModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._seqs = array("q")
        self.spec = FilterSpec()
        self._accepts = self.spec.predicate()
        source.rowsAboutToBeRemoved.connect(self._before_remove)
        source.rowsInserted.connect(self._inserted)
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self._after_reset)

    def set_spec(self, spec: FilterSpec) -> None:
        """Refilter everything (raises ``re.error`` before touching anything)."""
        accepts = spec.predicate()
        self.beginResetModel()
        self.spec, self._accepts = spec, accepts
        self._refilter()
        self.endResetModel()

    def seq(self, row: int) -> int:
        return self._seqs[row]

    def seqs(self) -> Sequence[int]:
        """The sequence numbers of the shown rows, top to bottom (read-only)."""
        return self._seqs

    def row_of_seq(self, seq: int) -> int | None:
        i = bisect_left(self._seqs, seq)
        return i if i < len(self._seqs) and self._seqs[i] == seq else None

    # -- source changes ----------

    def _refilter(self) -> None:
        accepts, store = self._accepts, self._source.store
        self._seqs = array(
            "q",
            [store.base + i for i, row in enumerate(store.rows()) if accepts(row)],
        )

    def _inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        accepts, store = self._accepts, self._source.store
        base, rows = store.base + first, store.rows(first, last + 1)
        new = [base + i for i, row in enumerate(rows) if accepts(row)]
        if new:
            start = len(self._seqs)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._seqs.extend(new)
            self.endInsertRows()

    def _before_remove(self, parent: QModelIndex, first: int, last: int) -> None:
        # The store only ever loses its front (retention), so a prefix of ours goes.
        cutoff = self._source.store.base + last + 1
        count = bisect_left(self._seqs, cutoff)
        if count:
            self.beginRemoveRows(QModelIndex(), 0, count - 1)
            del self._seqs[:count]
            self.endRemoveRows()

    def _after_reset(self) -> None:
        self._refilter()
        self.endResetModel()

    # -- Qt model interface ----------
    # index(), parent() and flags() are QAbstractTableModel's, in C++: a paint asks
    # every visible cell for them, and a Python override costs a call each.

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._seqs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def multiData(self, index: Index, span: QModelRoleDataSpan) -> None:  # type: ignore[override]  # noqa: N802
        if index.isValid() and index.row() < len(self._seqs):
            seq = self._seqs[index.row()]
            self._source.fill(seq - self._source.store.base, index.column(), span)

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if row >= len(self._seqs):
            return None
        return self._source.cell(
            self._seqs[row] - self._source.store.base, index.column(), role
        )

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> object:
        return self._source.headerData(section, orientation, role)
