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
_FULL_WIDTH_BELOW = 1600  # px of free width: narrower screens get all of it
_FRAME_ALLOWANCE = 16  # px: a window manager's left and right borders


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
    """Most of the screen, centred: 90 % of its free area, and the whole free
    width on a screen under 1,600 px (a fixed 1280x800 was taller than a 768 px
    screen; 1,280 px of a 1366 px laptop left the URL field under 45 % of its
    bar and, beside the jobs dock, Data under 40 % of the timeline:
    tests/ui/test_layout.py)."""
    screen = window.screen()
    if screen is None:
        return
    free = screen.availableGeometry()
    if free.width() < _FULL_WIDTH_BELOW:  # less its frame's sides, on screen
        width = free.width() - _FRAME_ALLOWANCE
    else:
        width = free.width() * 9 // 10
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
