"""The shell's interfaces: what helpers and features use of the window and a bar.

``WindowApi`` is what the main window's helpers use of it besides its
``QMainWindow`` side; ``FormBar`` is what the profiles feature uses of a stream's
connection bar (desktop/ui/connect/bar.py), so that one feature does not import
another's modules (tests/test_layering.py).

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
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QLineEdit, QTabWidget, QWidget

    from desktop.ui.controller import StreamController, StreamHandle
    from desktop.ui.request import RequestForm
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

    def lend_jobs_dock(self, lent: bool) -> None:
        """Hide the jobs dock while the Lab has the window; False gives it back."""
        ...

    def server_text(self) -> str:
        """The server in use as Help → About names it ("" before any answered)."""
        ...


class FormBar(Protocol):
    """A stream's connection bar as a profile sees it: the form and its signals."""

    url: QLineEdit
    connectRequested: SignalInstance  # noqa: N815 - Qt's signal naming
    profileChosen: SignalInstance  # noqa: N815
    saveProfileRequested: SignalInstance  # noqa: N815
    manageProfilesRequested: SignalInstance  # noqa: N815

    def form(self) -> RequestForm:
        """The request as typed."""
        ...

    def set_form(self, form: RequestForm) -> None: ...

    def set_profiles(self, names: list[str], current: str) -> None: ...

    def show_error(self, message: str) -> None: ...

    def property(self, name: str) -> object: ...

    def setProperty(self, name: str, value: object) -> bool: ...  # noqa: N802

    def window(self) -> QWidget: ...
