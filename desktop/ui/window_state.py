"""The window's layout kept between runs: geometry, docks, splitters, columns.

Saved when the window closes, restored before it is first shown.  A stream view
takes the last sizes saved; Qt checks the geometry and dock blobs itself (a
damaged one is refused, the defaults stay), and sizes are range-checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.ui.timeline.model import COLUMNS

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow, QSplitter

    from desktop.ui.settings import Settings
    from desktop.ui.stream_view import StreamView

_GEOMETRY = "window/geometry"
_STATE = "window/state"
_SPLIT = "stream/split"
_TIMELINE_SPLIT = "stream/timelineSplit"
_COLUMNS = "stream/columns"
_MAX_PX = 20_000
_LAPTOP_WIDTH = 1280  # px: the default window's least width where it fits


def restore_window(window: QMainWindow, settings: Settings) -> bool:
    """Geometry and dock state; True when a saved dock state was applied.

    A first run (or a geometry Qt refuses) gets :func:`default_geometry`.
    """
    geometry = settings.blob(_GEOMETRY)
    if geometry is None or not window.restoreGeometry(geometry):
        default_geometry(window)
    state = settings.blob(_STATE)
    return state is not None and window.restoreState(state)


def default_geometry(window: QMainWindow) -> None:
    """Most of the screen, centred: 90 % of its free area, and on a laptop's
    1366 px at least 1280 px wide (a fixed 1280x800 was taller than a 768 px
    screen, and 90 % of 1366 px left the URL field under 45 % of its bar)."""
    screen = window.screen()
    if screen is None:
        return
    free = screen.availableGeometry()
    width = min(free.width(), max(free.width() * 9 // 10, _LAPTOP_WIDTH))
    height = free.height() * 9 // 10
    window.resize(width, height)
    frame = window.frameGeometry()
    frame.moveCenter(free.center())
    window.move(frame.topLeft())


def save_window(window: QMainWindow, settings: Settings) -> None:
    settings.set(_GEOMETRY, window.saveGeometry())
    settings.set(_STATE, window.saveState())


def restore_view(view: StreamView, settings: Settings) -> None:
    """The last saved splitter sizes and timeline column widths."""
    _restore_split(view.split, settings, _SPLIT)
    _restore_split(_timeline_split(view), settings, _TIMELINE_SPLIT)
    # The last column stretches: its width follows the others.
    widths = settings.integers(_COLUMNS, len(COLUMNS) - 1, 8, _MAX_PX)
    for column, width in enumerate(widths):
        view.table.setColumnWidth(column, width)


def save_view(view: StreamView, settings: Settings) -> None:
    settings.set_integers(_SPLIT, view.split.sizes())
    settings.set_integers(_TIMELINE_SPLIT, _timeline_split(view).sizes())
    widths = [view.table.columnWidth(c) for c in range(len(COLUMNS) - 1)]
    settings.set_integers(_COLUMNS, widths)


def _timeline_split(view: StreamView) -> QSplitter:
    split = view.split.widget(0)
    assert split is not None
    return split  # type: ignore[return-value]


def _restore_split(split: QSplitter, settings: Settings, key: str) -> None:
    sizes = settings.integers(key, split.count(), 0, _MAX_PX)
    if sizes and any(sizes):
        split.setSizes(sizes)
