"""View → Lab: the dock that holds the lab, sized to be the main thing on screen.

`LabDock` builds the panel, its controller and the lessons runner on first use,
follows the window's stream in front, refreshes only while shown, takes most of
the window when opened ("Lab only": the stream tabs step aside until asked
for), and exports a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStyle,
)

from desktop.ui.lab.controller import LabController
from desktop.ui.lab.lesson_runner import LessonRunner
from desktop.ui.lab.lessons_panel import LessonsPanel
from desktop.ui.lab.panel import LabPanel

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.core.serving import Served
    from desktop.ui.window_api import WindowApi

STREAM_KEEP_PX = 230  # without a stream tab: room for its bars and a few rows


class LabDock:
    """The Lab dock at the bottom of the main window.

    ``window`` is the main window as a Qt window (the dock's parent and area),
    ``api`` the same window's streams (see :mod:`desktop.ui.window_api`).
    """

    def __init__(
        self,
        window: QMainWindow,
        api: WindowApi,
        restart: Callable[[], Awaitable[None]] | None,
        bundled: Callable[[], str | None] | None = None,
        serve: Callable[[str], Awaitable[Served]] | None = None,
    ) -> None:
        self.window = window
        self.api = api
        self.dock = QDockWidget("Lab", window)
        self.dock.setObjectName("labDock")
        self.panel = LabPanel()
        # Docked under the stream tabs, the panel's minimum height plus the
        # tab's made the window taller than a 900 px screen: let it scroll.
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.dock.setWidget(scroll)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.controller = LabController(
            self.panel, api.controller, restart, self.dock, bundled
        )
        self.lessons = LessonsPanel()
        self.runner = LessonRunner(
            self.lessons,
            lambda: api.controller.client,
            restart,
            api.controller.spawn,
            self.controller.show_lesson,
            serve,
            self.controller.open_page,
        )
        self.controller.lessons = self.runner
        self.panel.place_lessons(self.lessons)
        self.panel.exportRequested.connect(self.export)
        self.panel.focusToggled.connect(self.focus)
        api.tabs.currentChanged.connect(lambda _index: self._follow())
        self.dock.visibilityChanged.connect(self._shown)

    def show(self, on: bool = True) -> None:
        if on and not self.dock.isVisible():
            # Opened, the lab is the main thing on screen; "Show the stream
            # tabs" brings them back beside it.
            self.panel.focus.setChecked(True)
        self.dock.setVisible(on)
        if on:
            self.dock.raise_()
            # A dock shown this turn has no geometry yet: resizeDocks now is
            # ignored, so size it once the layout has run.
            QTimer.singleShot(0, self._grow)
        elif self.panel.focus.isChecked():
            self.panel.focus.setChecked(False)

    def _grow(self, again: bool = True) -> None:
        """Docked under the stream tabs, the lab takes what the tab in front
        leaves with its timeline's rows kept (at 1366x768 its old 420 px left
        the timeline 2.5 rows), and never less than its fault bar and lesson
        buttons: below those the lanes and the lessons scroll.

        The tab's bars are measured as laid out, and a tab just shown again
        was laid out at its minimum: a second pass, once the layout has run
        with the first size, measures them as they are.
        """
        window = self.window
        central = window.centralWidget()
        if central is None or not central.isVisible() or not self.dock.isVisible():
            return  # "Lab only": the lab has the window
        room = window.height() - window.menuBar().height()
        if window.statusBar().isVisible():
            room -= window.statusBar().height()
        room -= window.style().pixelMetric(
            QStyle.PixelMetric.PM_DockWidgetSeparatorExtent, None, window
        )
        view = self.api.current_view()
        if view is not None:
            keep = central.height() - view.height() + view.keeps_px()
        else:
            keep = STREAM_KEEP_PX
        title = self.dock.height() - self.dock.widget().height()
        least = title + self.panel.docked_px()
        height = max(least, room - keep)
        window.resizeDocks([self.dock], [height], Qt.Orientation.Vertical)
        if again:
            QTimer.singleShot(0, lambda: self._grow(again=False))

    def focus(self, on: bool) -> None:
        """Lab only: hide the stream tabs so the lab has the whole window."""
        central = self.window.centralWidget()
        if central is not None:
            central.setVisible(not on)
        self.api.lend_jobs_dock(on)
        self.panel.focus.setText("Show the stream tabs" if on else "Lab only")
        if not on:
            QTimer.singleShot(0, self._grow)

    def _shown(self, visible: bool) -> None:
        if visible:
            self._follow()
            self.controller.start()
        else:
            self.controller.stop()
            if self.panel.focus.isChecked():  # closed from its title bar
                self.panel.focus.setChecked(False)

    def _follow(self) -> None:
        view = self.api.current_view()
        self.controller.follow(view.handle if view is not None else None)

    def export(self) -> None:
        """Ask where, then write the HTML page and the NDJSON records beside it."""
        from desktop.core.lab.export import write_lab_run

        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export lab run",
            str(Path.home() / "lab-run.html"),
            "HTML page (*.html)",
        )
        if not path:
            return
        run = self.controller.run_snapshot()
        try:
            html, ndjson = write_lab_run(run, Path(path))
        except OSError as exc:
            QMessageBox.warning(
                self.window, "Export lab run", f"Could not write {path}: {exc}"
            )
            return
        self.panel.show_message(
            f"Exported {html.name} and {ndjson.name} to {html.parent}"
        )
