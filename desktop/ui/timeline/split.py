"""The timeline over the lower tabs: a splitter that keeps the timeline's rows.

When the tab gets shorter (a docked Lab, a jobs dock moved to the bottom, a
small screen), a plain splitter takes the height from both panes by their
stretch factors, and the timeline fell to 2 or 3 rows while the Detail tab kept
200 px.  This one gives the lower tabs' height to the timeline first, until it
shows :data:`MIN_ROWS` rows or the lower tabs are down to their minimum; what
the timeline has beyond its rows goes back to a lower tab that scrolls (the
Detail tab shows whole where there is room) until the user drags the handle.
Only resizing the splitter applies the rule, never a drag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFrame,
    QScrollArea,
    QSplitter,
    QTabWidget,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QResizeEvent
    from PySide6.QtWidgets import QTableView, QWidget

MIN_ROWS = 15  # the rows a timeline keeps before the lower tabs get more
COMPACT_LINES = 2  # a lower tab squeezed shows this many lines and scrolls


def rows_height(table: QTableView, rows: int = MIN_ROWS) -> int:
    """The table's height that shows ``rows`` rows under its header."""
    chrome = table.height() - table.viewport().height()  # header and frame
    if not table.isVisible() or chrome <= 0:
        chrome = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    return rows * table.verticalHeader().defaultSectionSize() + chrome


def compact(area: QAbstractScrollArea) -> None:
    """A scrolling page may shrink to a few lines (its table or text scrolls)."""
    area.setMinimumHeight(COMPACT_LINES * area.fontMetrics().lineSpacing() + 8)


def gives_way(page: QWidget, line: QWidget) -> None:
    """``page`` may get shorter by ``line``, a line under its scrolling text
    (the Raw tab's info line): squeezed, the bytes keep the room."""
    page.ensurePolished()  # its style sheet's paddings count
    least = page.minimumSizeHint().height() - line.minimumSizeHint().height()
    page.setMinimumHeight(least)


def scrolled(page: QWidget) -> QScrollArea:
    """``page`` in a frameless scroll area, so its form does not set a minimum
    height on the lower tabs (the Detail tab's was 205 px)."""
    area = QScrollArea()
    area.setObjectName(f"{page.objectName()}Scroll")
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    # Only its height gives way: as wide as the page needs, as before.
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(page.minimumSizeHint().width())
    compact(area)
    return area


class TimelineSplit(QSplitter):
    """``table`` above ``lower``; see the module docstring."""

    def __init__(self, table: QTableView, lower: QWidget) -> None:
        super().__init__(Qt.Orientation.Vertical)
        self.setObjectName("timelineSplit")
        self.table, self.tabs_below = table, lower
        self.addWidget(table)
        self.addWidget(lower)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self._dragged = False  # the user sized the panes: no giving back
        self.splitterMoved.connect(self._moved)

    def needed(self) -> int:
        """The height the table wants for :data:`MIN_ROWS` rows."""
        return rows_height(self.table)

    def compact_px(self) -> int:
        """The table at :data:`MIN_ROWS` rows over the lower tabs at their minimum."""
        lower = self.tabs_below.minimumSizeHint().height()
        return self.needed() + self.handleWidth() + lower

    def keep_rows(self) -> None:
        table_px, lower_px = self.sizes()
        short = self.needed() - table_px
        spare = lower_px - self.tabs_below.minimumSizeHint().height()
        give = max(0, min(short, spare))
        if not give and not self._dragged:  # a scrolled page gets the extra rows
            give = -min(self._page_short(), max(0, -short))
        if give:
            self.setSizes([table_px + give, lower_px - give])

    def _moved(self, _pos: int, _index: int) -> None:
        self._dragged = True  # emitted for the handle only, never for setSizes

    def _page_short(self) -> int:
        """How much taller the lower tab in front wants to be to show its
        page unscrolled (the Detail tab's form, 205 px): 0 for the others."""
        tabs = self.tabs_below
        page = tabs.currentWidget() if isinstance(tabs, QTabWidget) else None
        if not isinstance(page, QScrollArea):
            return 0
        inner = page.widget()
        if inner is None:
            return 0
        wanted: int = inner.minimumSizeHint().height()
        return max(0, wanted - page.viewport().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.keep_rows()
