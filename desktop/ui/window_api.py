"""What the main window's helpers use of it besides its ``QMainWindow`` side.

The lab dock, the File menu actions (recordings) and the window preferences are
made by ``main_window.py``; typing them against this small Protocol instead of
``MainWindow`` keeps the imports one way (main_window -> helpers), with no
circle, and says exactly which part of the window each helper relies on. The Qt
side (parent widget, docks, menu bar, status bar) they take as a plain
``QMainWindow``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTabWidget

    from desktop.ui.controller import StreamController, StreamHandle
    from desktop.ui.stream_view import StreamView


class WindowApi(Protocol):
    """The stream side of the main window: its tabs, controller and views."""

    controller: StreamController
    tabs: QTabWidget

    def current_view(self) -> StreamView | None:
        """The stream tab in front, if any."""
        ...

    def add_stream(self, handle: StreamHandle) -> StreamView:
        """Open ``handle`` in a new tab, brought to the front."""
        ...
