"""The lessons panel with a real lesson run: Run → running state → checklist."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from PySide6.QtCore import Qt

from desktop.core.lab.lessons.catalog import LESSONS, Timing
from desktop.ui.lab.context import AppLabContext, restart_child
from desktop.ui.lab.lessons_panel import COLUMNS, LessonsPanel

from lesson_runs import lesson_named
from qtloop import app_loop

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

    from desktop.core.lab.lessons.catalog import LessonResult
    from desktop.ui.loop import AppLoop
    from desktop.ui.server_child import ServerChild


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[AppLoop]:
    yield from app_loop(qapp)


def test_panel_lists_the_lessons_for_a_newcomer(qtbot: QtBot) -> None:
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    assert panel.list.count() == len(LESSONS) >= 10
    first = panel.list.item(0).text()
    assert first.startswith("1. The server drops you\n")
    panel.list.setCurrentRow(4)
    assert panel.title.text() == "Lesson 5: 503 stops a browser for good"
    assert "9.2.3 Processing model" in panel.explanation.text()
    assert panel.status.text().startswith("Not run yet")
    assert panel.table.rowCount() == 0


def test_run_a_lesson_through_the_panel(
    qtbot: QtBot, loop: AppLoop, lab_server: ServerChild
) -> None:
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 500)
    panel.show()
    assert lab_server.url is not None
    base = str(lab_server.url)
    lanes: dict[str, int] = {}

    with qtbot.waitSignal(panel.runRequested) as asked:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    key = asked.args[0]
    assert key == "drop"

    async def run() -> LessonResult:
        async with httpx.AsyncClient() as client:
            ctx = AppLabContext(
                base,
                client,
                lambda: restart_child(lab_server),
                lambda lane, batch: lanes.__setitem__(lane, lanes.get(lane, 0) + 1),
                Timing.fast(),
            )
            panel.show_running(key)
            assert not panel.run_button.isEnabled()
            assert panel.cancel_button.isEnabled()
            with qtbot.waitSignal(panel.cancelRequested) as cancel:
                qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
            assert cancel.args == ["drop"]  # the owner decides; here we go on
            await asyncio.sleep(0.3)
            assert panel.status.text().startswith("Running… 0.")
            return await lesson_named("drop").run(ctx)

    result = loop.run_until_complete(asyncio.wait_for(run(), 30))
    panel.show_result(result)
    assert result.passed
    assert lanes["app"] > 0
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.status.text().startswith(f"Passed: {len(result.checks)} checks")
    assert panel.table.rowCount() == len(result.checks)
    assert panel.table.columnCount() == len(COLUMNS)
    for row, check in enumerate(result.checks):
        assert panel.table.item(row, 0).text() == "✓"
        assert panel.table.item(row, 1).text() == check.label
        assert panel.table.item(row, 3).text() == check.observed
    assert panel.list.item(0).text().startswith("1. The server drops you  ✓")


def test_an_error_shows_as_a_failed_run(qtbot: QtBot) -> None:
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.show_running("stall")
    assert panel.current == "stall"
    panel.show_error("stall", "Cancelled before the checklist was complete.")
    assert panel.status.text() == "Cancelled before the checklist was complete."
    assert panel.run_button.isEnabled()
    assert (
        panel.list.item(2).text().startswith("3. The server stalls, no keep-alive  ✗")
    )
