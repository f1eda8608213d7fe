"""The "Rate" tab of a stream view: builds the rate plot the first time it is shown.

pyqtgraph (and numpy) take about half a second to import, more than the whole
window takes to come up, so :mod:`desktop.ui.rate.plot` is never imported at
start-up (a test checks ``sys.modules``): :func:`preload` imports it on a thread
once the window has painted, and the tab's first show imports it if that has
not happened yet.  Imported on the UI thread during a fast stream, the first
open blocked the loop ~0.5 s; preloaded, ~0.1 s.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QShowEvent

    from desktop.ui.rate.plot import RatePlot
    from desktop.ui.session import StreamSession


PLOT_MODULE = "desktop.ui.rate.plot"


def preload() -> threading.Thread:
    """Import the plot's modules on a worker thread (the UI loop runs on).

    Only module code runs there, no Qt object is made (pyqtgraph and numpy
    define classes and constants on import); a first show meanwhile waits on
    the import lock for the rest of it.  Not a daemon: exit waits the ~0.5 s
    rather than cut an import short.
    """
    thread = threading.Thread(
        target=importlib.import_module, args=(PLOT_MODULE,), name="preload-rate-plot"
    )
    thread.start()
    return thread


class RateTab(QWidget):
    """Holds the :class:`RatePlot` once built; :meth:`refresh` is free before that."""

    def __init__(
        self,
        session: StreamSession,
        parent: QWidget | None = None,
        *,
        saved: bool = False,
    ) -> None:
        """``saved``: a recording's session (see ``RatePlot.saved``)."""
        super().__init__(parent)
        self.setObjectName("rateTab")
        self.session = session
        self.saved = saved
        self.plot: RatePlot | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        if self.plot is None:
            module = importlib.import_module(PLOT_MODULE)
            self.plot = module.RatePlot(self.session, self)
            self.plot.saved = self.saved
            self._layout.addWidget(self.plot)
            self.plot.show()  # children were shown before this event
        super().showEvent(event)
        self.plot.refresh()

    def refresh(self) -> None:
        """Redraw while shown (the stream view's 4 Hz timer calls this)."""
        if self.plot is not None and self.isVisible():
            self.plot.refresh()
