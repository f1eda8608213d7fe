"""A table view that repaints only the rows appended to it, not the whole viewport.

QAbstractItemView answers every insertion with a relayout that repaints the whole
viewport (``doItemsLayout``): a live timeline following its tail repainted all of
its ~20 visible rows for each new one, 8-9 ms per frame here against 0.6 ms for
the new row's strip.  Rows appended at the end change no row already shown (a
row's Δ, colour and parity depend only on the rows before it), so after such
an insertion only the space from the first new row down is repainted; scrolling
to the new bottom then moves the pixels already painted (``QWidget.scroll``)
and paints the strip it exposes.  Any other change (removal, reset, insertion in
the middle) takes Qt's full relayout, as before.

Scrolling moves pixels only while the viewport is opaque: a style sheet rule
with a box (even ``border: none``) on the view makes Qt style the viewport's
background instead, and then every scroll repaints it all; the frame is turned
off here, in code, for that reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QFrame, QTableView

if TYPE_CHECKING:
    from PySide6.QtCore import QModelIndex, QPersistentModelIndex
    from PySide6.QtWidgets import QWidget


class AppendingTableView(QTableView):
    """A QTableView whose appended rows cost a strip, not a full repaint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)  # not in QSS: see the module
        self._appended: int | None = None  # first row appended since the layout
        self._full = False  # some other change since the layout: repaint all
        self._inner = False

    def rowsInserted(  # noqa: N802
        self, parent: QModelIndex | QPersistentModelIndex, start: int, end: int
    ) -> None:
        super().rowsInserted(parent, start, end)
        model = self.model()
        if model is not None and end == model.rowCount(parent) - 1:
            first = self._appended
            self._appended = start if first is None else min(first, start)
        else:
            self._full = True

    def rowsAboutToBeRemoved(  # noqa: N802
        self, parent: QModelIndex | QPersistentModelIndex, start: int, end: int
    ) -> None:
        self._full = True
        super().rowsAboutToBeRemoved(parent, start, end)

    def reset(self) -> None:
        self._full = True
        super().reset()

    def doItemsLayout(self) -> None:  # noqa: N802
        if self._full or self._appended is None:
            self._full, self._appended = False, None
            super().doItemsLayout()
            return
        if not self._inner:
            # Called from Qt's layout timer the pending flag is still set:
            # executing it clears it and calls back in here (then _inner).
            self._inner = True
            try:
                self.executeDelayedItemsLayout()
            finally:
                self._inner = False
            if self._appended is None:  # done by that call
                return
        first, self._appended = self._appended, None
        self.updateGeometries()  # the scroll range grows by the new rows
        viewport = self.viewport()
        top = max(0, self.rowViewportPosition(first))
        if top < viewport.height():
            viewport.update(QRect(0, top, viewport.width(), viewport.height() - top))
