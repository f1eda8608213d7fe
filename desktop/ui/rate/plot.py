"""The rate plot: a stream's events/s and bytes/s over the last minutes.

Two stacked plots share one time axis (seconds before now); reconnect gaps are
shaded across both, keep-alive comments are small ticks along the bottom of the
events plot, and hovering shows the figures of the second under the cursor in
the read-out line above.  Drawn from :class:`desktop.core.insight.rates.RateSeries`.

Cheap on purpose (under 5 ms more on the UI loop's p99 at 2,000 events/s, the
"rate plot cost" row of tests/benchmarks/bench_app.py):
the plot only shows complete seconds, so it redraws at most once a second
whatever the refresh rate; every series is one item updated with ``setData`` on
numpy arrays; ranges are set by hand (pyqtgraph's auto-range is the costly part
of an update); nothing is drawn while the tab is hidden.  pyqtgraph costs half a
second to import, so only :mod:`desktop.ui.rate.tab` imports this module, when
the tab is first shown.  How figures are written and where ticks fall (units,
round KB/MB steps, "-2 min") is :mod:`desktop.ui.rate.axes`'s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]  # no stubs
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.ui import theme
from desktop.ui.rate.axes import (
    RateAxis,
    TimeAxis,
    ago,
    bytes_rate,
    events_rate,
    nice_top,
)
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.core.insight.rates import RateWindow
    from desktop.ui.session import StreamSession


@dataclass(frozen=True, slots=True)
class PlotColours:
    """The plot's own colours; the background follows the widget palette."""

    events: str
    bytes: str
    gap: QColor
    keepalive: str
    axis: str
    grid: int  # grid alpha, 0-255


_LIGHT = PlotColours(
    "#2563eb", "#059669", QColor(220, 38, 38, 34), "#d97706", "#6b7280", 40
)
_DARK = PlotColours(
    "#60a5fa", "#34d399", QColor(248, 113, 113, 46), "#fbbf24", "#9ca3af", 50
)
_SPANS = ((30, "30 s"), (60, "1 min"), (120, "2 min"), (300, "5 min"))
_TICK_SHARE = 0.1  # keep-alive ticks reach this share of the plot's height


def colours() -> PlotColours:
    return _DARK if theme.palette().dark else _LIGHT


# -- the widget ----------


class RatePlot(QWidget):
    """Events/s above bytes/s over the session's rate window; see module docstring."""

    def __init__(self, session: StreamSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratePlot")
        self.session = session
        self.seconds = session.rates.seconds
        self._edges = np.arange(-self.seconds, 1, dtype=float)  # bin edges, fixed
        self.readout = named(QLabel(), "rateReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.key = named(QLabel(), "rateKey")
        self.span = named(QComboBox(), "rateSpan")
        self.span.setToolTip("How far back the plot looks")
        for seconds, text in _SPANS:
            if seconds <= self.seconds:
                self.span.addItem(f"Last {text}", seconds)
        self.visible_s = self.seconds
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("rateView")
        self.view.ci.setContentsMargins(2, 8, 22, 2)  # room for "now"
        self.view.ci.setSpacing(4)
        self.time_axis = TimeAxis()
        self.events_plot = self.view.addPlot(0, 0, axisItems={"left": RateAxis(False)})
        self.bytes_plot = self.view.addPlot(
            1, 0, axisItems={"left": RateAxis(True), "bottom": self.time_axis}
        )
        self.events_plot.getAxis("bottom").setStyle(showValues=False)
        self.bytes_plot.setXLink(self.events_plot)
        self._grids: list[pg.PlotCurveItem] = []
        self.events_curve, self.events_gaps, self.events_cursor = self._dress(
            self.events_plot
        )
        self.bytes_curve, self.bytes_gaps, self.bytes_cursor = self._dress(
            self.bytes_plot
        )
        self.keepalives = pg.PlotCurveItem(connect="pairs")
        self.keepalives.setZValue(5)
        self.events_plot.addItem(self.keepalives)

        header = QHBoxLayout()
        header.setContentsMargins(10, 6, 12, 0)
        header.addWidget(self.readout, 1)
        header.addWidget(self.key)
        header.addWidget(self.span)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

        self.current: RateWindow | None = None
        # A recording's session: its times are another run's clock, and
        # "running" is only its state at save, so it ends at its last read.
        self.saved = False
        self._drawn: tuple[int, str] | None = None  # what the plot shows now
        self._tops = (0.0, 0.0)
        self._hover: int | None = None  # the bin under the mouse, if any
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.view.viewport().installEventFilter(self)
        self.span.setCurrentIndex(self.span.count() - 1)
        self.span.currentIndexChanged.connect(self._span_changed)
        self.apply_theme()

    def _span_changed(self) -> None:
        self.visible_s = int(self.span.currentData() or self.seconds)
        self.events_plot.setXRange(-self.visible_s, 0, padding=0)
        self._drawn = None
        self._tops = (0.0, 0.0)  # the grid's time lines move
        self.refresh()

    def _dress(
        self, plot: pg.PlotItem
    ) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem, pg.InfiniteLine]:
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.getViewBox().setDefaultPadding(0)
        plot.setXRange(-self.seconds, 0, padding=0)
        plot.setYRange(0, 1, padding=0)
        gaps = pg.PlotCurveItem(fillLevel=0.0)
        gaps.setZValue(-5)
        curve = pg.PlotCurveItem(  # a step curve cannot start empty
            x=self._edges, y=np.zeros(self.seconds), stepMode="center", fillLevel=0.0
        )
        curve.hide()
        cursor = pg.InfiniteLine(angle=90, movable=False)
        cursor.setZValue(10)
        cursor.hide()
        # pyqtgraph's own grid repaints every tick level over the whole plot
        # (15 ms a frame here); a few straight segments in one item cost ~nothing.
        grid = pg.PlotCurveItem(connect="pairs")
        grid.setZValue(-10)
        self._grids.append(grid)
        for item in (grid, gaps, curve, cursor):
            plot.addItem(item)
        return curve, gaps, cursor

    # -- theme ----------

    def apply_theme(self) -> None:
        """Colours from the app theme; called again when the palette changes."""
        c = colours()
        self.view.setBackground(self.palette().color(QPalette.ColorRole.Base))
        for plot, colour, label in (
            (self.events_plot, c.events, "events/s"),
            (self.bytes_plot, c.bytes, "bytes/s"),
        ):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(c.axis)
                axis.setTextPen(c.axis)
            plot.setLabel("left", label, color=colour)
        for curve, colour in (
            (self.events_curve, c.events),
            (self.bytes_curve, c.bytes),
        ):
            fill = QColor(colour)
            fill.setAlpha(56)
            curve.setPen(pg.mkPen(colour, width=1.5))
            curve.setBrush(fill)
        for gaps in (self.events_gaps, self.bytes_gaps):
            gaps.setPen(None)
            gaps.setBrush(c.gap)
        self.keepalives.setPen(pg.mkPen(c.keepalive, width=2))
        grid = QColor(c.axis)
        grid.setAlpha(c.grid)
        for lines in self._grids:
            lines.setPen(pg.mkPen(grid, width=1))
        for cursor in (self.events_cursor, self.bytes_cursor):
            cursor.setPen(pg.mkPen(c.axis, width=1, style=Qt.PenStyle.DashLine))
        gap = QColor(c.gap)
        gap.setAlpha(min(255, gap.alpha() * 3))
        self.key.setText(
            f'<span style="color:{c.events}">&#9632;</span> events/s&nbsp;&nbsp; '
            f'<span style="color:{c.bytes}">&#9632;</span> bytes/s&nbsp;&nbsp; '
            f'<span style="color:{gap.name(QColor.NameFormat.HexArgb)}">&#9608;</span>'
            " disconnected&nbsp;&nbsp; "
            f'<span style="color:{c.keepalive}"><b>|</b></span> keep-alive'
        )
        self._drawn = None  # redraw with the new colours
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_theme()

    # -- drawing ----------

    def refresh(self) -> None:
        """Redraw if a new second completed (the stream view calls this at 4 Hz)."""
        if not self.isVisible():
            return
        session = self.session
        series = session.rates
        last = series.last_at
        if (session.running and not self.saved) or last is None:
            end, edge = time.monotonic(), "now"
        else:
            end, edge = last, "end"  # stays on what the stream received
        drawn = (math.floor(end), edge)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        if self.time_axis.edge != edge:
            self.time_axis.edge = edge
            self.time_axis.picture = None  # re-label the right edge
            self.time_axis.update()
        self.draw(series.window(end))

    def draw(self, window: RateWindow) -> None:
        self.current = window
        n = self.seconds
        events = np.asarray(window.events, dtype=float)
        nbytes = np.asarray(window.bytes, dtype=float)
        shown = slice(n - self.visible_s, n)  # the y range fits what is in view
        tops = (
            nice_top(float(events[shown].max()), 5.0),
            nice_top(float(nbytes[shown].max()), 1024, binary=True),
        )
        if tops != self._tops:
            self._tops = tops
            self.events_plot.setYRange(0, tops[0], padding=0)
            self.bytes_plot.setYRange(0, tops[1], padding=0)
            self._draw_grids(tops)
        # Seconds before the stream's first record are not zeros: leave them blank.
        since = window.since
        start = n if since is None else min(n, max(0, math.floor(since) - window.first))
        for curve, values in ((self.events_curve, events), (self.bytes_curve, nbytes)):
            curve.setVisible(start < n)  # an empty step curve is not allowed
            if start < n:
                curve.setData(self._edges[start:], values[start:])
        for gaps, top in ((self.events_gaps, tops[0]), (self.bytes_gaps, tops[1])):
            x, y = _gap_shapes(window, n, top)
            gaps.setData(x, y)
        marks = np.flatnonzero(window.comments).astype(float) - n + 0.5
        self.keepalives.setData(
            np.repeat(marks, 2),
            np.tile([0.0, tops[0] * _TICK_SHARE], len(marks)),
        )
        self._show_readout()

    def _draw_grids(self, tops: tuple[float, float]) -> None:
        """Lines at the labelled ticks: rates across, minutes (or 10 s) down."""
        width = max(100.0, self.events_plot.getViewBox().width())
        span = self.visible_s
        times = self.time_axis.tickValues(-span, 0, width)[0][1]
        for plot, lines, top in zip(
            (self.events_plot, self.bytes_plot), self._grids, tops, strict=True
        ):
            height = max(40.0, plot.getViewBox().height())
            levels = plot.getAxis("left").tickValues(0, top, height)
            # the two labelled levels; a third (pyqtgraph's finest) only clutters
            labelled = levels[:2]
            rates = sorted({v for _step, values in labelled for v in values if v > 0})
            x = [v for r in rates for v in (-span, 0.0)]
            x += [v for t in times for v in (t, t)]
            y = [v for r in rates for v in (r, r)]
            y += [v for _t in times for v in (0.0, top)]
            lines.setData(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    # -- read-out and hover ----------

    def _show_readout(self) -> None:
        window = self.current
        if window is None:
            return
        if window.since is None:
            text = "No data yet: connect the stream to see its rates."
        elif self._hover is not None:
            text = self._second_text(window, self._hover)
        else:
            text = self._summary_text(window)
        if self.readout.text() != text:
            self.readout.setText(text)

    def _second_text(self, window: RateWindow, index: int) -> str:
        second = window.first + index
        wall = time.strftime("%H:%M:%S", time.localtime(second + window.wall_offset))
        age = window.end - second - 1
        parts = [f"<b>{wall}</b> ({ago(age) if age else 'last second'})"]
        if second + 1 <= (window.since or 0):
            parts.append("before the stream started")
        else:
            parts.append(f"<b>{events_rate(window.events[index])}</b>")
            parts.append(f"<b>{bytes_rate(window.bytes[index])}</b>")
            pings = window.comments[index]
            if pings:
                parts.append(f"{pings} keep-alive{'s' if pings > 1 else ''}")
        if any(
            gap.start < second + 1 and (gap.end is None or gap.end > second)
            for gap in window.gaps
        ):
            parts.append("disconnected")
        return " · ".join(parts)

    def _summary_text(self, window: RateWindow) -> str:
        """The last second, then peaks, keep-alives and gaps over the span in view."""
        v = self.visible_s
        comments = window.comments[-v:]
        parts = [
            f"Last second <b>{events_rate(window.events[-1])}</b>"
            f" · <b>{bytes_rate(window.bytes[-1])}</b>",
            f"peak {events_rate(max(window.events[-v:]))}"
            f" · {bytes_rate(max(window.bytes[-v:]))}",
        ]
        pings = [i for i, count in enumerate(comments) if count]
        if pings:
            age = v - 1 - pings[-1]
            parts.append(
                f"{sum(comments)} keep-alives, last {ago(age) if age else 'now'}"
            )
        left = window.end - v
        gaps = sum(1 for gap in window.gaps if gap.end is None or gap.end >= left)
        if gaps:
            parts.append(f"{gaps} gap{'s' if gaps > 1 else ''}")
        return " · ".join(parts)

    def _mouse_moved(self, pos: QPointF) -> None:
        for plot in (self.events_plot, self.bytes_plot):
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(pos):
                x = box.mapSceneToView(pos).x()
                self.hover(math.floor(x) + self.seconds)
                return
        self.hover(None)

    def hover(self, index: int | None) -> None:
        """Show the figures of bin ``index`` (0 = oldest), or the summary (None)."""
        if index is not None and not 0 <= index < self.seconds:
            index = None
        self._hover = index
        for cursor in (self.events_cursor, self.bytes_cursor):
            if index is None:
                cursor.hide()
            else:
                cursor.setValue(index - self.seconds + 0.5)
                cursor.show()
        self._show_readout()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Leave and self._hover is not None:
            self.hover(None)
        return super().eventFilter(watched, event)


def _gap_shapes(
    window: RateWindow, n: int, top: float
) -> tuple[np.ndarray, np.ndarray]:
    """One filled outline for every gap: x = s s e e, y = 0 top top 0 per gap.

    A gap narrower than half a second (an instant reconnect) is widened to that,
    so that every reconnect stays visible at a few pixels a second.
    """
    edge = window.end
    x = np.empty(4 * len(window.gaps))
    for i, gap in enumerate(window.gaps):
        start = max(gap.start - edge, -n)
        end = 0.0 if gap.end is None else min(gap.end - edge, 0.0)
        end = min(max(end, start + 0.5), 0.0)
        start = min(start, end - 0.5)
        x[4 * i : 4 * i + 4] = (start, start, end, end)
    y = np.tile([0.0, top, top, 0.0], len(window.gaps))
    return x, y
