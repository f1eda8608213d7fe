"""Labels that wrap (the lab's status, the hover sentence, a lesson's status)
keep their height: the buttons and rows below them do not jump."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.ui.lab.lessons_panel import LessonsPanel
from desktop.ui.lab.panel import LabPanel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLabel, QWidget
    from pytestqt.qtbot import QtBot

LONG = "A sentence long enough to wrap in any of these labels, " * 6


def _stays(qtbot: QtBot, label: QLabel, below: QWidget) -> None:
    window = below.window()
    before = below.mapTo(window, below.rect().topLeft()).y()
    label.setText("short")
    qtbot.wait(10)
    short = below.mapTo(window, below.rect().topLeft()).y()
    label.setText(LONG)
    qtbot.wait(10)
    after = below.mapTo(window, below.rect().topLeft()).y()
    assert before == short == after, (before, short, after)


def test_the_lab_status_and_hover_keep_their_height(qtbot: QtBot) -> None:
    panel = LabPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.wait(10)
    _stays(qtbot, panel.status, panel.fault_bar.buttons["drop"])
    _stays(qtbot, panel.hover, panel.guide)


def test_a_lesson_status_that_wraps_moves_nothing(qtbot: QtBot) -> None:
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    qtbot.wait(10)
    _stays(qtbot, panel.status, panel.table)
