"""The "Rate" tab of a stream view: builds the rate plot the first time it is shown.

pyqtgraph (and numpy) take about half a second to import, more than the whole
window takes to come up, so :mod:`desktop.ui.rate.plot` is imported here on the
tab's first show and never at start-up (a test checks ``sys.modules``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QShowEvent

    from desktop.ui.rate.plot import RatePlot
    from desktop.ui.session import StreamSession


class RateTab(QWidget):
    """Holds the :class:`RatePlot` once built; :meth:`refresh` is free before that."""

    def __init__(self, session: StreamSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rateTab")
        self.session = session
        self.plot: RatePlot | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        if self.plot is None:
            module = importlib.import_module("desktop.ui.rate.plot")
            self.plot = module.RatePlot(self.session, self)
            self._layout.addWidget(self.plot)
            self.plot.show()  # children were shown before this event
        super().showEvent(event)
        self.plot.refresh()

    def refresh(self) -> None:
        """Redraw while shown (the stream view's 4 Hz timer calls this)."""
        if self.plot is not None and self.isVisible():
            self.plot.refresh()
