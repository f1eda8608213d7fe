"""The jobs panel at the dock's width (~300 px beside a 1366 px window): the
progress text stays legible beside its bar, a log line stays on one line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QRect
from PySide6.QtGui import QColor, QFontDatabase

from desktop.core.jobs import LogLine
from desktop.ui.jobs.model import ELAPSED, PROGRESS, JobRow, JobsModel
from desktop.ui.jobs.panel import JobsPanel

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

_DOCK_WIDTH = 300


def _panel(
    qtbot: QtBot, percent: float, more: tuple[JobRow, ...] = ()
) -> tuple[JobsPanel, JobRow]:
    model = JobsModel()
    panel = JobsPanel(model)
    qtbot.addWidget(panel)
    panel.pages.setCurrentIndex(1)
    panel.resize(_DOCK_WIDTH, 640)
    row = JobRow("j1", "build", "running", "/api/jobs/j1/events", percent=percent)
    model.beginInsertRows(QModelIndex(), 0, len(more))
    model.rows[:0] = [row, *more]
    model.endInsertRows()
    panel.show()
    qtbot.waitExposed(panel)
    return panel, row


def _pixels_like(panel: JobsPanel, color: QColor, area: QRect) -> int:
    """Pixels of about ``color`` inside ``area`` of the table's viewport."""
    image = panel.table.viewport().grab().toImage()
    count = 0
    for x in range(area.left(), area.right() + 1):
        for y in range(area.top(), area.bottom() + 1):
            seen = QColor(image.pixel(x, y))
            rgb = zip(seen.getRgb()[:3], color.getRgb()[:3], strict=True)
            if max(abs(a - b) for a, b in rgb) < 24:
                count += 1
    return count


def test_the_percentage_is_drawn_beside_the_bar_not_over_it(qtbot: QtBot) -> None:
    panel, _ = _panel(qtbot, 100.0)  # not selected: the selection is highlighted
    table = panel.table
    cell = table.visualRect(table.model().index(0, PROGRESS))
    metrics = table.fontMetrics()
    text_width = metrics.horizontalAdvance("100 %")
    # One short job: room for a bar and the widest text.
    assert cell.width() >= text_width + 24, (cell.width(), text_width)
    # A full bar leaves the text's place free: before, the chunk filled the
    # whole cell and "100 %" was drawn on it in the text colour.
    image = table.viewport().grab().toImage()
    chunk = QColor(image.pixel(cell.left() + 12, cell.center().y()))
    background = QColor(image.pixel(cell.left() + 1, cell.top() + 1))
    # The bar is there, full, and stands out from the row.
    contrast = zip(chunk.getRgb()[:3], background.getRgb()[:3], strict=True)
    assert max(abs(a - b) for a, b in contrast) > 60, (chunk.name(), background.name())
    text_area = QRect(cell.right() - text_width, cell.top() + 4, text_width, 14)
    assert _pixels_like(panel, chunk, text_area) == 0
    assert table.horizontalScrollBar().maximum() == 0  # nothing scrolls sideways


def test_a_log_line_stays_on_one_line_with_its_whole_text_as_tooltip(
    qtbot: QtBot,
) -> None:
    panel, row = _panel(qtbot, 34.0)
    panel.table.selectRow(0)  # its log is shown
    lines = [
        f"INFO    [ 34%] Compiling src/drivers/module_{n:05}.c" for n in range(136, 140)
    ]
    row.log.extend(lines)
    row.log_version += len(lines)
    log = panel.log
    qtbot.waitUntil(lambda: log.blockCount() == len(lines), timeout=3000)
    assert log.fontMetrics().horizontalAdvance(lines[0]) > log.viewport().width()
    block = log.document().firstBlock()
    while block.isValid():
        assert block.layout().lineCount() == 1, block.text()
        block = block.next()
    first = log.document().firstBlock()
    top = log.blockBoundingGeometry(first).translated(log.contentOffset())
    assert log.line_at(top.center().toPoint()) == lines[0]


def test_a_build_log_line_shows_its_file_name_in_the_dock(qtbot: QtBot) -> None:
    """The build job's line, as the server sends it, fits the dock's log whole;
    a warning keeps its level in front."""
    panel, row = _panel(qtbot, 34.0)
    panel.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    panel.table.selectRow(0)
    row.apply(LogLine("[ 34%] Compiling src/module_00137.c"), 0.0)
    row.apply(LogLine("src/module_00150.c:54: unused variable", "warning"), 0.0)
    log = panel.log
    qtbot.waitUntil(lambda: log.blockCount() == 2, timeout=3000)
    first, warning = log.toPlainText().splitlines()
    assert first.endswith("module_00137.c") and warning.startswith("WARNING ")
    assert log.fontMetrics().horizontalAdvance(first) <= log.viewport().width()


def test_long_kinds_and_elapsed_times_do_not_scroll_the_table_sideways(
    qtbot: QtBot,
) -> None:
    """Hour-long jobs of every kind: progress shrinks to its text, never past it."""
    now = time.time()
    rows = []
    for kind in ("countdown", "download", "flaky"):
        row = JobRow(kind, kind, "succeeded", "/e", percent=100.0)
        row.started_at, row.finished_at = now - 3725, now
        rows.append(row)
    panel, _ = _panel(qtbot, 100.0, tuple(rows))
    model, table = panel.model, panel.table
    elapsed = table.fontMetrics().horizontalAdvance("1 h 02 min")
    qtbot.waitUntil(lambda: table.columnWidth(ELAPSED) > elapsed, timeout=3000)
    assert table.horizontalScrollBar().maximum() == 0, [
        table.columnWidth(c) for c in range(model.columnCount())
    ]
    text_width = table.fontMetrics().horizontalAdvance("100 %")
    assert table.columnWidth(PROGRESS) >= text_width
