"""The bar above a timeline: types, search, toggles, pause, retention, clear."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from desktop.ui.theme import named


class _TypeList(QWidget):
    """A checkable list of the event types seen so far, with All / None."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = named(QListWidget(), "typeList")
        self.list.setMinimumWidth(220)
        all_button = named(QPushButton("All"), "typesAll")
        none_button = named(QPushButton("None"), "typesNone")
        buttons = QHBoxLayout()
        buttons.addWidget(all_button)
        buttons.addWidget(none_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        all_button.clicked.connect(lambda: self._set_all(Qt.CheckState.Checked))
        none_button.clicked.connect(lambda: self._set_all(Qt.CheckState.Unchecked))
        self.list.itemChanged.connect(lambda _item: self.changed.emit())

    def _set_all(self, state: Qt.CheckState) -> None:
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(state)
        self.list.blockSignals(False)
        self.changed.emit()

    def add_types(self, types: list[str]) -> None:
        self.list.blockSignals(True)
        for name in types:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.sortItems()
        self.list.blockSignals(False)

    def hidden(self) -> frozenset[str]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return frozenset(
            i.text() for i in items if i.checkState() != Qt.CheckState.Checked
        )

    def names(self) -> set[str]:
        return {self.list.item(i).text() for i in range(self.list.count())}

    def clear(self) -> None:
        self.list.clear()


class FilterBar(QFrame):
    """Intent signals only; the stream view turns them into a filter and actions."""

    filterChanged = Signal()  # noqa: N815
    pauseToggled = Signal(bool)  # noqa: N815
    clearRequested = Signal()  # noqa: N815
    retentionChanged = Signal(int)  # noqa: N815

    def __init__(self, retention: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.types = _TypeList()
        self.types_button = named(QToolButton(), "typesButton")
        self.types_button.setText("All types")
        self.types_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.types_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.types)
        menu.addAction(action)
        self.types_button.setMenu(menu)

        self.search = named(QLineEdit(), "searchEdit")
        self.search.setPlaceholderText("Search data, type, id")
        self.search.setClearButtonEnabled(True)
        self.regex = named(QCheckBox(".*"), "regexCheck")
        self.regex.setToolTip("Regular expression")
        self.this_connection = named(QCheckBox("This connection"), "connectionCheck")
        self.this_connection.setToolTip(
            "Only rows of the selected (or current) connection"
        )
        self.comments = named(QCheckBox("Pings"), "commentsCheck")
        self.comments.setToolTip("Show comment lines (keep-alive pings) as rows")
        self.states = named(QCheckBox("States"), "statesCheck")
        self.states.setChecked(True)
        self.states.setToolTip("Show connection state changes as rows")
        self.pause = named(QPushButton("Pause"), "pauseButton")
        self.pause.setCheckable(True)
        self.waiting = named(QLabel(), "waitingLabel")
        self.counts = named(QLabel(), "countsLabel")
        self.retention = named(QSpinBox(), "retentionSpin")
        self.retention.setRange(100, 10_000_000)
        self.retention.setSingleStep(10_000)
        self.retention.setValue(retention)
        self.retention.setPrefix("keep ")
        self.retention.setToolTip("How many rows this stream keeps; older ones drop")
        self.clear = named(QPushButton("Clear"), "clearButton")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        widget: QWidget
        for widget in (
            self.types_button,
            self.search,
            self.regex,
            self.this_connection,
            self.comments,
            self.states,
        ):
            layout.addWidget(widget)
        layout.addStretch(1)
        for widget in (
            self.counts,
            self.waiting,
            self.pause,
            self.retention,
            self.clear,
        ):
            layout.addWidget(widget)
        layout.setStretch(1, 3)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.filterChanged)
        self.search.textChanged.connect(self._debounce.start)
        for box in (self.regex, self.this_connection, self.comments, self.states):
            box.toggled.connect(self.filterChanged)
        self.types.changed.connect(self._types_changed)
        self.pause.toggled.connect(self.pauseToggled)
        self.clear.clicked.connect(self.clearRequested)
        self.retention.editingFinished.connect(
            lambda: self.retentionChanged.emit(self.retention.value())
        )

    def _types_changed(self) -> None:
        hidden = len(self.types.hidden())
        self.types_button.setText(f"Types ({hidden} hidden)" if hidden else "All types")
        self.filterChanged.emit()

    def add_types(self, seen: set[str]) -> None:
        new = sorted(seen - self.types.names())
        if new:
            self.types.add_types(new)

    def show_search_error(self, message: str) -> None:
        self.search.setProperty("invalid", bool(message))
        self.search.setToolTip(message)
        self.search.style().unpolish(self.search)
        self.search.style().polish(self.search)

    def show_counts(self, shown: int, total: int, dropped: int) -> None:
        text = f"{shown:,} shown" if shown == total else f"{shown:,} of {total:,} shown"
        if dropped:
            text += f" · {dropped:,} dropped"
        self.counts.setText(text)

    def show_waiting(self, waiting: int) -> None:
        self.waiting.setText(f"{waiting:,} waiting" if self.pause.isChecked() else "")
        self.pause.setText("Resume" if self.pause.isChecked() else "Pause")
