"""The guided lessons panel: pick a lesson, run it, read its checklist.

Logic-free: it lists `LESSONS`, emits ``runRequested(key)`` / ``cancelRequested(key)``
and renders what it is told (`show_running`, `show_result`, `show_error`).  Whoever
owns the lab (the Lab dock's controller) runs the lesson with a LabContext.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.lab.lessons.catalog import LESSONS
from desktop.ui import theme
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.core.lab.lessons.catalog import Lesson, LessonResult

COLUMNS = ("", "Check", "Expected", "Observed")
_KEY = Qt.ItemDataRole.UserRole
_GREEN = {False: QColor("#15803d"), True: QColor("#4ade80")}


def _mark_colour(ok: bool) -> QColor:
    palette = theme.palette()
    return _GREEN[palette.dark] if ok else palette.error


class LessonsPanel(QWidget):
    """Lesson list on the left; the chosen lesson, its Run button and checklist."""

    runRequested = Signal(str)  # noqa: N815
    runAllRequested = Signal()  # noqa: N815
    cancelRequested = Signal(str)  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lessonsPanel")
        self.lessons: dict[str, Lesson] = {lesson.key: lesson for lesson in LESSONS}
        self.results: dict[str, LessonResult] = {}
        self.errors: dict[str, str] = {}
        self.running: str | None = None
        self._started = 0.0

        self.list = named(QListWidget(), "lessonList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(3)
        for lesson in LESSONS:
            item = QListWidgetItem(self._list_text(lesson))
            item.setData(_KEY, lesson.key)
            item.setToolTip(lesson.summary)
            self.list.addItem(item)

        self.title = named(QLabel(), "lessonTitle")
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.summary = named(QLabel(), "lessonSummary")
        self.summary.setWordWrap(True)
        self.explanation = named(QLabel(), "lessonExplanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.run_button = named(QPushButton("Run lesson"), "lessonRun")
        self.run_button.setDefault(True)
        self.cancel_button = named(QPushButton("Cancel"), "lessonCancel")
        self.cancel_button.setEnabled(False)
        self.run_all_button = named(QPushButton("Run all"), "lessonRunAll")
        self.run_all_button.setToolTip("Every lesson in turn, then a summary")
        self.status = named(QLabel("Not run yet."), "lessonStatus")
        self.status.setWordWrap(True)
        # Two lines kept for it: a status that wraps (a longer error) must not
        # push the buttons and the checklist down as it comes and goes.
        self.status.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.all_summary = named(QLabel(), "lessonsSummary")
        self.all_summary.setWordWrap(True)
        self.all_summary.hide()
        # One widget, so the Lab dock can pin it above its scrolling column.
        self.controls = named(QWidget(), "lessonControls")
        buttons = QHBoxLayout(self.controls)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.run_all_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.status, 1)

        self.table = named(QTableWidget(0, len(COLUMNS)), "lessonChecklist")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)

        detail = QWidget()
        right = QVBoxLayout(detail)
        right.setContentsMargins(8, 0, 0, 0)
        why = named(
            QLabel("Why: the WHATWG HTML standard, server-sent events"), "lessonWhy"
        )
        why_font = QFont(why.font())
        why_font.setBold(True)
        why.setFont(why_font)
        right.addWidget(self.title)
        right.addWidget(self.summary)
        right.addSpacing(4)
        right.addWidget(why)
        right.addWidget(self.explanation)
        right.addSpacing(4)
        right.addWidget(self.controls)
        right.addWidget(self.all_summary)
        right.addWidget(self.table, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([320, 880])
        self.list.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._bold = QFont(self.table.font())
        self._bold.setBold(True)
        self._clock = QTimer(self)
        self._clock.setInterval(100)
        self._clock.timeout.connect(self._tick)
        self.list.currentRowChanged.connect(self._chosen)
        self.list.itemActivated.connect(lambda _item: self._run_clicked())
        self.run_button.clicked.connect(self._run_clicked)
        self.run_all_button.clicked.connect(self.runAllRequested)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.list.setCurrentRow(0)

    # -- what the owner calls ------------------------------------------------------

    @property
    def current(self) -> str:
        item = self.list.currentItem()
        return str(item.data(_KEY)) if item is not None else LESSONS[0].key

    def select(self, key: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(_KEY) == key:
                self.list.setCurrentRow(row)
                return

    def show_running(self, key: str) -> None:
        """A run of ``key`` started: lock Run, offer Cancel, count the seconds."""
        self.running = key
        self.errors.pop(key, None)
        self.results.pop(key, None)
        self._started = time.monotonic()
        self.select(key)
        self._clock.start()
        self._update_list(key)
        self._render()

    def show_result(self, result: LessonResult) -> None:
        if self.running == result.key:
            self._finish()
        self.results[result.key] = result
        self._update_list(result.key)
        if self.current == result.key:
            self._render()

    def show_error(self, key: str, message: str) -> None:
        """The run could not produce a checklist (cancelled, no server …)."""
        if self.running == key:
            self._finish()
        self.errors[key] = message
        self._update_list(key)
        if self.current == key:
            self._render()

    def show_summary(self, text: str) -> None:
        """What "Run all" found, above the lesson list's detail."""
        self.all_summary.setText(text)
        self.all_summary.setVisible(bool(text))

    # -- rendering -----------------------------------------------------------------

    def _finish(self) -> None:
        self.running = None
        self._clock.stop()

    @staticmethod
    def _list_text(lesson: Lesson, mark: str = "") -> str:
        head = f"{lesson.number}. {lesson.title}"
        return (
            f"{head}  {mark}\n{lesson.summary}" if mark else f"{head}\n{lesson.summary}"
        )

    def _update_list(self, key: str) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_KEY) != key:
                continue
            result = self.results.get(key)
            if self.running == key:
                mark = "…"
            elif result is not None:
                mark = "✓" if result.passed else "✗"
            elif key in self.errors:
                mark = "✗"
            else:
                mark = ""
            item.setText(self._list_text(self.lessons[key], mark))
            if mark in ("✓", "✗"):
                item.setForeground(_mark_colour(mark == "✓"))

    def _chosen(self, _row: int) -> None:
        self._render()

    def _tick(self) -> None:
        if self.running is not None and self.current == self.running:
            elapsed = time.monotonic() - self._started
            self.status.setText(f"Running… {elapsed:.1f} s")

    def _render(self) -> None:
        key = self.current
        lesson = self.lessons[key]
        self.title.setText(f"Lesson {lesson.number}: {lesson.title}")
        self.summary.setText(lesson.summary)
        self.explanation.setText(lesson.explanation)
        busy = self.running is not None
        self.run_button.setEnabled(not busy)
        self.run_all_button.setEnabled(not busy)
        self.cancel_button.setEnabled(self.running == key)
        result = self.results.get(key)
        self.status.setProperty("verdict", "")
        if self.running == key:
            self._tick()
        elif busy:
            self.status.setText("Another lesson is running.")
        elif result is not None:
            failed = sum(not check.ok for check in result.checks)
            took = result.ended - result.started
            self.status.setText(
                f"Passed: {len(result.checks)} checks in {took:.1f} s"
                if result.passed
                else f"Failed: {failed} of {len(result.checks)} checks ({took:.1f} s)"
            )
            self.status.setProperty("verdict", "pass" if result.passed else "fail")
        elif key in self.errors:
            self.status.setText(self.errors[key])
            self.status.setProperty("verdict", "fail")
        else:
            self.status.setText("Not run yet. Run sets the server up and checks it.")
        self._colour_status(self.status.property("verdict"))
        self._fill(result)

    def _colour_status(self, verdict: object) -> None:
        """Green for a pass, the error colour for a failure (painted like the marks)."""
        palette = QPalette(self.palette())
        if verdict in ("pass", "fail"):
            colour = _mark_colour(verdict == "pass")
            palette.setColor(QPalette.ColorRole.WindowText, colour)
        self.status.setPalette(palette)
        self.status.setFont(self._bold if verdict else self.font())

    def _fill(self, result: LessonResult | None) -> None:
        checks = result.checks if result is not None else []
        self.table.setRowCount(len(checks))
        for row, check in enumerate(checks):
            mark = QTableWidgetItem("✓" if check.ok else "✗")
            mark.setForeground(_mark_colour(check.ok))
            mark.setFont(self._bold)
            mark.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            mark.setToolTip("as expected" if check.ok else "not as expected")
            self.table.setItem(row, 0, mark)
            for column, text in enumerate(
                (check.label, check.expected, check.observed), start=1
            ):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()

    # -- intents -------------------------------------------------------------------

    def _run_clicked(self) -> None:
        if self.running is None:
            self.runRequested.emit(self.current)

    def _cancel_clicked(self) -> None:
        if self.running is not None:
            self.cancelRequested.emit(self.running)
