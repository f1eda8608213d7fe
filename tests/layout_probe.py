"""Measuring the main window's layout as a user sees it (tests/ui/test_layout.py).

A module of its own so that the 125 % scaling check can run it in a child
process (QT_SCALE_FACTOR is read once, when the application starts).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QScrollArea, QToolButton

from desktop.ui.timeline.model import DATA

if TYPE_CHECKING:
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QLineEdit

    from desktop.ui.main_window import MainWindow
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer

USEFUL_ATTEMPT_COLUMNS = ("#", "Waited / asked", "Last-Event-ID", "Events", "Outcome")
TYPICAL_URL = "http://127.0.0.1:8000/api/streams/ticker"


def geometry(window: MainWindow) -> dict[str, object]:
    """Rows the timeline shows, Data's share of it, scroll bars, clipping
    (laid out first: ``await asyncio.sleep`` in the loop, see :func:`measure`)."""
    view = window.current_view()
    assert view is not None
    table = view.table
    viewport = table.viewport()
    state = view.state
    scroll = state.parentWidget()
    assert scroll is not None
    corner = state.mapTo(scroll, QPoint(state.width(), state.height()))
    return {
        "scale": window.devicePixelRatioF(),
        "size": [window.width(), window.height()],
        "rows": viewport.height() / table.verticalHeader().defaultSectionSize(),
        "data": table.columnWidth(DATA) / max(1, viewport.width()),
        "hscroll": sorted(
            area.objectName() or type(area).__name__
            for area in window.findChildren(QAbstractScrollArea)
            if area.isVisible() and area.horizontalScrollBar().isVisible()
        ),
        "state_clipped": state.width() < state.minimumSizeHint().width()
        or corner.x() > scroll.width(),
        "attempts_fit": attempts_fit(view),
        "detail_scrolls": detail_scrolls(view),
    }


def detail_scrolls(view: StreamView) -> bool:
    """The Detail tab (in front) shows its form only by scrolling."""
    page = view.bottom.widget(0)
    assert isinstance(page, QScrollArea)
    return page.verticalScrollBar().isVisible()


def attempts_fit(view: StreamView) -> bool:
    """The Attempts columns that explain a reconnect fit without scrolling."""
    attempts = view.attempts
    header = attempts.horizontalHeader()
    model = attempts.model()
    horizontal = Qt.Orientation.Horizontal
    ends = [
        header.sectionViewportPosition(column) + header.sectionSize(column)
        for column in range(model.columnCount())
        if model.headerData(column, horizontal) in USEFUL_ATTEMPT_COLUMNS
    ]
    return max(ends) <= view.bottom.width()


async def measure(viewer: Viewer, width: int, height: int) -> dict[str, object]:
    """The default window at ``width``x``height`` with the jobs dock shown."""
    window = viewer.window
    window.resize(width, height)
    window.show()
    window.new_stream()
    window.jobs_dock.show()
    await asyncio.sleep(0.05)
    window.size_jobs_dock()
    await asyncio.sleep(0.05)
    try:
        return geometry(window)
    finally:
        await viewer.shutdown()
        window.close()


def shows_whole(edit: QLineEdit, text: str) -> bool:
    """``text`` typed into ``edit`` shows from its first character to its last
    (left of the clear button), without the field scrolling."""
    before = edit.text()
    edit.setText(text)
    edit.setCursorPosition(0)
    buttons = [b.x() for b in edit.findChildren(QToolButton) if b.isVisible()]
    right = min(
        buttons,
        default=edit.width()
        - edit.style().pixelMetric(edit.style().PixelMetric.PM_DefaultFrameWidth),
    )
    last = edit.cursorPositionAt(QPoint(right - 2, edit.height() // 2))
    edit.setText(before)
    return last == len(text)


async def connect_bar(viewer: Viewer) -> dict[str, object]:
    """The default window on this screen, the jobs dock shown: the connection
    bar's URL field, whether a typical URL and the placeholder show whole, and
    the timeline's rows and Data share (:func:`geometry`)."""
    window = viewer.window
    window.show()
    view = window.new_stream()
    window.jobs_dock.show()
    await asyncio.sleep(0.05)
    window.size_jobs_dock()
    await asyncio.sleep(0.05)
    bar = view.bar
    free = window.screen().availableGeometry()
    try:
        return {
            "screen": [free.width(), free.height()],
            "window": [window.width(), window.height()],
            "on_screen": free.contains(window.frameGeometry()),
            "share": bar.url.width() / bar.width(),
            "typical": shows_whole(bar.url, TYPICAL_URL),
            "placeholder": shows_whole(bar.url, bar.url.placeholderText()),
            "rows": geometry(window)["rows"],
            "data": geometry(window)["data"],
        }
    finally:
        await viewer.shutdown()
        window.close()


def _ink(before: QImage, after: QImage) -> QRect:
    """The bounding box of the pixels that differ between two grabs."""
    box = QRect()
    for y in range(before.height()):
        for x in range(before.width()):
            if before.pixel(x, y) != after.pixel(x, y):
                box = box.united(QRect(x, y, 1, 1))
    return box


def menu_button_parts(button: QToolButton) -> tuple[QRect, QRect]:
    """Where a menu button draws its text and its menu arrow, found by what
    changes on screen when each is taken away (the button keeps its size)."""
    text, menu = button.text(), button.menu()
    size = (button.minimumSize(), button.maximumSize())
    button.setFixedSize(button.size())
    try:
        whole = button.grab().toImage()
        button.setText("")
        no_text = button.grab().toImage()
        button.setMenu(None)  # type: ignore[arg-type]
        bare = button.grab().toImage()
    finally:
        button.setMenu(menu)
        button.setText(text)
        button.setMinimumSize(size[0])
        button.setMaximumSize(size[1])
    return _ink(no_text, whole), _ink(bare, no_text)
