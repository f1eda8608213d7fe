"""The lanes view: every connection of each client side by side in time.

A QGraphicsView over a scene in seconds (``PX_PER_S`` scene units a second):
connection bars coloured by how they ended, hatched gaps labelled with the delay
asked and waited, event ticks (replayed ones drawn apart), the Last-Event-ID each
reconnect carried.  Zoom is a horizontal scale of the view (wheel, + and -), pan a
drag; text ignores the scale so it stays readable.  ``set_lanes`` at the 4 Hz
refresh rebuilds only segments that changed and appends only new ticks.
Hovering any mark emits ``hovered`` with one sentence (also its tooltip).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from desktop.core.lab.lane_text import (
    gap_label,
    gap_text,
    lane_label,
    segment_label,
    segment_text,
    tick_text,
)
from desktop.ui import theme
from desktop.ui.lab.legend import colour, ink_colour, replayed_colour

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.lab.lanes import Lane, Segment, Tick

PX_PER_S = 100.0
FOLLOW_S = 60.0  # seconds in view while following "now"
RULER = 22  # px of time ruler at the top
BAND = 62  # px per lane: title, Last-Event-ID labels, bar, gap labels
BAR_Y = 31  # bar top within a band
BAR_H = 14
MIN_SCALE, MAX_SCALE = 0.002, 400.0
KIND = 0  # QGraphicsItem.data key: "segment", "gap", "tick", "replayed", "id"
TEXT = 1  # QGraphicsItem.data key: the hover sentence


@dataclass(eq=False)
class _Drawn:
    """What is on the scene for one segment."""

    key: tuple[object, ...]
    items: list[QGraphicsItem] = field(default_factory=list)
    bar: QGraphicsRectItem | None = None
    ticks: int = 0  # ticks drawn so far


class _TickItem(QGraphicsPathItem):
    """A run of ticks as one path; the hover finds the nearest tick by x."""

    def __init__(self, ticks: list[Tick], x0: float, path: QPainterPath) -> None:
        super().__init__(path)
        self.ticks = ticks
        self.x0 = x0

    def text_at(self, scene_x: float) -> str:
        best = min(self.ticks, key=lambda t: abs((t.at - self.x0) * PX_PER_S - scene_x))
        return tick_text(best)


class LanesView(QGraphicsView):
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lanesView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(
            QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate
        )
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMouseTracking(True)
        self.setMinimumHeight(BAND + RULER)
        self.t0: float | None = None
        # Follow "now" as a terminal scrolls (the last FOLLOW_S at the right
        # edge) until the user zooms or pans; End follows again, 0 or F fits.
        self.follow = True
        self.horizontalScrollBar().actionTriggered.connect(self._panned)
        self._lanes: list[Lane] = []
        self._drawn: dict[tuple[int, int], _Drawn] = {}  # (lane row, segment index)
        self._labels: list[tuple[QGraphicsSimpleTextItem, float]] = []
        self._ids: list[tuple[int, QGraphicsSimpleTextItem]] = []  # (lane row, label)
        self._end = 0.0

    # -- data ----------

    def set_lanes(self, lanes: Sequence[Lane], now: float | None = None) -> None:
        """Draw ``lanes``; segments already drawn and unchanged stay as they are."""
        starts = [lane.segments[0].started for lane in lanes if lane.segments]
        if not starts:
            self.clear()
            return
        t0 = min(starts)
        keys = [lane.key for lane in lanes]
        if self.t0 is None or t0 < self.t0 or keys != [x.key for x in self._lanes]:
            self.clear()
            self.t0 = t0
        self._lanes = list(lanes)
        end = now if now is not None else t0
        for row, lane in enumerate(lanes):
            for index, segment in enumerate(lane.segments):
                end = max(end, segment.ended or segment.started)
                if segment.ticks:
                    end = max(end, segment.ticks[-1].at)
                self._draw(row, lane, index, segment, now)
        self._end = end
        width = max(1.0, (end - t0) * PX_PER_S)
        self.scene().setSceneRect(
            QRectF(-8, -RULER, width + 16, RULER + BAND * len(lanes))
        )
        # No taller than the lanes (and a scroll bar): the legend sits under them.
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setMaximumHeight(RULER + BAND * len(lanes) + 2 * self.frameWidth() + bar)
        if self.follow:
            self.follow_now()
        self._relabel()
        self.viewport().update()

    def clear(self) -> None:
        self.scene().clear()
        self._drawn.clear()
        self._labels.clear()
        self._ids.clear()
        self._lanes = []
        self.t0 = None

    def lanes(self) -> list[Lane]:
        return list(self._lanes)

    def _x(self, wall: float) -> float:
        assert self.t0 is not None
        return (wall - self.t0) * PX_PER_S

    def _draw(
        self, row: int, lane: Lane, index: int, segment: Segment, now: float | None
    ) -> None:
        key = (
            segment.opened,
            segment.ended,
            segment.ending,
            segment.status,
            segment.final,
            segment_label(lane, index),  # a later worker can name this one's
        )
        drawn = self._drawn.get((row, index))
        if drawn is not None and drawn.key != key:
            for item in drawn.items:
                self.scene().removeItem(item)
            self._labels = [(t, w) for t, w in self._labels if t not in drawn.items]
            self._ids = [(r, t) for r, t in self._ids if t not in drawn.items]
            drawn = None
        top = row * BAND
        if drawn is None:
            drawn = _Drawn(key)
            self._drawn[(row, index)] = drawn
            self._draw_segment(drawn, row, lane, index, segment)
        if drawn.bar is not None and segment.ended is None:  # open: reaches now
            end = max(now or segment.started, segment.started)
            if segment.ticks:
                end = max(end, segment.ticks[-1].at)
            rect = drawn.bar.rect()
            rect.setRight(self._x(end))
            drawn.bar.setRect(rect)
            drawn.bar.setData(TEXT, segment_text(lane, segment))
            drawn.bar.setToolTip(segment_text(lane, segment))
        if len(segment.ticks) > drawn.ticks:
            self._draw_ticks(drawn, top, segment)

    def _draw_segment(
        self, drawn: _Drawn, row: int, lane: Lane, index: int, segment: Segment
    ) -> None:
        scene = self.scene()
        top = row * BAND
        x = self._x(segment.started)
        end = segment.ended if segment.ended is not None else segment.started
        ink = ink_colour()
        # the request: a thin line from the request to the response
        opened_x = self._x(segment.opened) if segment.opened is not None else None
        bar_start = opened_x if opened_x is not None else x
        width = max(3.0 / max(self.transform().m11(), 1e-9), self._x(end) - bar_start)
        bar = QGraphicsRectItem(QRectF(bar_start, top + BAR_Y, width, BAR_H))
        fill = colour(segment.ending)
        if segment.opened is None:
            fill.setAlpha(110)  # never opened: a refused or failed request
        bar.setBrush(QBrush(fill))
        pen = QPen(fill.darker(130) if not theme.palette().dark else fill.lighter(130))
        pen.setCosmetic(True)
        bar.setPen(pen)
        text = segment_text(lane, segment)
        self._mark(bar, "segment", text)
        scene.addItem(bar)
        drawn.items.append(bar)
        drawn.bar = bar
        if opened_x is not None and opened_x > x:
            wait = QGraphicsRectItem(
                QRectF(x, top + BAR_Y + BAR_H / 2 - 1, opened_x - x, 2)
            )
            wait.setBrush(QBrush(ink))
            wait.setPen(QPen(Qt.PenStyle.NoPen))
            self._mark(wait, "segment", text)
            scene.addItem(wait)
            drawn.items.append(wait)
        if segment.final and segment.ended is not None:
            stop = self._text("■ stopped for good", top + BAR_Y + BAR_H + 3, ink)
            stop.setPos(self._x(segment.ended) + 1, top + BAR_Y + BAR_H + 3)
            stop.setData(TEXT, text)
            drawn.items.append(stop)
        if index > 0:
            previous = lane.segments[index - 1]
            if previous.ended is not None and previous.ended < segment.started:
                self._draw_gap(drawn, top, previous.ended, segment)
        label = segment_label(lane, index)
        if label:
            item = self._text(label, top + 15, ink)
            item.setPos(x, top + 15)
            self._mark(
                item,
                "id",
                f"Attempt {segment.attempt} sent Last-Event-ID "
                f"{segment.last_event_id!r}: the server resumes right after it."
                if segment.last_event_id
                else f"Attempt {segment.attempt} sent no Last-Event-ID: the server "
                "starts from now, so what was published in the gap is never sent.",
            )
            drawn.items.append(item)
            self._ids.append((row, item))

    def _draw_gap(
        self, drawn: _Drawn, top: float, ended: float, segment: Segment
    ) -> None:
        x0, x1 = self._x(ended), self._x(segment.started)
        gap = QGraphicsRectItem(QRectF(x0, top + BAR_Y, x1 - x0, BAR_H))
        ink = QColor(theme.palette().muted)
        gap.setBrush(QBrush(ink, Qt.BrushStyle.BDiagPattern))
        pen = QPen(ink, 1, Qt.PenStyle.DotLine)
        pen.setCosmetic(True)
        gap.setPen(pen)
        self._mark(gap, "gap", gap_text(segment))
        self.scene().addItem(gap)
        drawn.items.append(gap)
        text = gap_label(segment)
        if text:
            label = self._text(text, top + BAR_Y + BAR_H + 3, ink)
            label.setPos(x0, top + BAR_Y + BAR_H + 3)
            self._mark(label, "gap", gap_text(segment))
            drawn.items.append(label)
            self._labels.append((label, (segment.started - ended) * PX_PER_S))

    def _draw_ticks(self, drawn: _Drawn, top: float, segment: Segment) -> None:
        assert self.t0 is not None
        new = segment.ticks[drawn.ticks :]
        drawn.ticks = len(segment.ticks)
        for replayed in (False, True):
            run = [t for t in new if t.replayed is replayed]
            if not run:
                continue
            path = QPainterPath()
            y0 = top + BAR_Y - (6 if replayed else 3)
            y1 = top + BAR_Y + BAR_H + (0 if replayed else 3)
            for tick in run:
                x = (tick.at - self.t0) * PX_PER_S
                path.moveTo(x, y0)
                path.lineTo(x, y1)
            item = _TickItem(run, self.t0, path)
            pen = QPen(
                replayed_colour() if replayed else ink_colour(), 2 if replayed else 1
            )
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setData(KIND, "replayed" if replayed else "tick")
            item.setZValue(2)
            self.scene().addItem(item)
            drawn.items.append(item)

    def _text(self, text: str, y: float, ink: QColor) -> QGraphicsSimpleTextItem:
        item = QGraphicsSimpleTextItem(text)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        item.setFont(font)
        item.setBrush(QBrush(ink))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        item.setZValue(3)
        self.scene().addItem(item)
        return item

    @staticmethod
    def _mark(item: QGraphicsItem, kind: str, text: str) -> None:
        item.setData(KIND, kind)
        item.setData(TEXT, text)
        item.setToolTip(text)

    # -- hover ----------

    def hover_text(self, item: QGraphicsItem, scene_x: float) -> str:
        if isinstance(item, _TickItem):
            return item.text_at(scene_x)
        text = item.data(TEXT)
        return text if isinstance(text, str) else ""

    def marks(self) -> dict[str, list[str]]:
        """Hover sentences by kind of mark (for tests and the export check)."""
        found: dict[str, list[str]] = {}
        for item in self.scene().items():
            kind = item.data(KIND)
            if isinstance(kind, str):
                if isinstance(item, _TickItem):
                    text = tick_text(item.ticks[0])
                else:
                    text = self.hover_text(item, 0.0)
                found.setdefault(kind, []).append(text)
        return found

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseMoveEvent(event)
        pos = event.position().toPoint()
        scene_x = self.mapToScene(pos).x()
        for item in self.items(pos):
            text = self.hover_text(item, scene_x)
            if text:
                if isinstance(item, _TickItem):
                    self.setToolTip(text)
                self.hovered.emit(text)
                return
        self.setToolTip("")

    # -- zoom and pan ----------

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11()
        factor = min(MAX_SCALE / scale, max(MIN_SCALE / scale, factor))
        self.follow = False
        self.scale(factor, 1.0)
        self._relabel()

    def fit(self, *, keep_follow: bool = False) -> None:
        """The whole run across the width (a still picture: following stops)."""
        self.follow = self.follow if keep_follow else False
        self._show_span(self.scene().sceneRect().width(), at_end=False)

    def follow_now(self) -> None:
        """The last :data:`FOLLOW_S` seconds (or the whole run, if shorter),
        "now" at the right edge; kept there as the run grows."""
        self.follow = True
        span = min(self.scene().sceneRect().width(), FOLLOW_S * PX_PER_S)
        self._show_span(span, at_end=True)

    def _show_span(self, span_px: float, *, at_end: bool) -> None:
        available = max(50, self.viewport().width() - 20)
        scale = min(MAX_SCALE, max(MIN_SCALE, available / max(span_px, 1.0)))
        if abs(self.transform().m11() - scale) > 1e-9:
            self.resetTransform()
            self.scale(scale, 1.0)
        bar = self.horizontalScrollBar()
        bar.setValue(bar.maximum() if at_end else bar.minimum())
        self._relabel()

    def _panned(self, _action: int) -> None:
        self.follow = False  # the user moved the scroll bar: leave the view there

    def _relabel(self) -> None:
        """Hide labels that would collide at this zoom; hover still explains.

        A gap label wider than its gap would run into the next bar.  Last-Event-ID
        labels of attempts close together would print over each other: left to
        right in each lane, a label shows only where the previous shown one ends.
        """
        scale = self.transform().m11()
        for label, gap_px in self._labels:
            if gap_px:
                label.setVisible(gap_px * scale >= label.boundingRect().width() - 4)
        right: dict[int, float] = {}
        for row, label in sorted(self._ids, key=lambda pair: (pair[0], pair[1].x())):
            x = label.x() * scale
            shown = x >= right.get(row, -1e9)
            label.setVisible(shown)
            if shown:
                right[row] = x + label.boundingRect().width() + 6

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.angleDelta().y() == 0:
            super().wheelEvent(event)
            return
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.8)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F):
            self.fit()
        elif key == Qt.Key.Key_End:
            self.follow_now()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.follow = False  # a drag pans: stop following the live end
        super().mousePressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.follow:
            self.follow_now()

    # -- fixed overlays: lane titles and the time ruler ----------

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802
        if self.t0 is None:
            return
        painter.save()
        painter.resetTransform()
        ink = ink_colour()
        back = self.palette().base().color()
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        for row, lane in enumerate(self._lanes):
            point = self.mapFromScene(QPointF(0, row * BAND))
            text = lane_label(lane)
            box = metrics.boundingRect(text).adjusted(-4, -1, 4, 1)
            box.moveTo(4, max(RULER - 2, point.y() + 2))
            painter.fillRect(box, back)
            painter.setPen(ink)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            if row:
                painter.setPen(
                    QPen(QColor(theme.palette().muted), 1, Qt.PenStyle.DotLine)
                )
                painter.drawLine(0, point.y(), self.viewport().width(), point.y())
        self._draw_ruler(painter, back, ink)
        painter.restore()

    def _draw_ruler(self, painter: QPainter, back: QColor, ink: QColor) -> None:
        width = self.viewport().width()
        painter.fillRect(0, 0, width, RULER - 4, back)
        painter.setFont(self.font())
        scale = self.transform().m11() * PX_PER_S  # px per second
        step = _nice_step(90 / max(scale, 1e-9))
        left = self.mapToScene(0, 0).x() / PX_PER_S
        right = self.mapToScene(width, 0).x() / PX_PER_S
        value = (left // step) * step
        painter.setPen(QColor(theme.palette().muted))
        while value <= right:
            if value < 0:
                value += step
                continue
            x = self.mapFromScene(QPointF(value * PX_PER_S, 0)).x()
            painter.drawLine(x, RULER - 8, x, RULER - 4)
            painter.drawText(x + 3, RULER - 8, _offset(value, step))
            value += step
        painter.setPen(ink)


_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)


def _nice_step(seconds: float) -> float:
    return next((float(step) for step in _STEPS if step >= seconds), 1800.0)


def _offset(value: float, step: float) -> str:
    if step < 1:
        return f"+{value:.2f} s".replace(".00 s", " s")
    return f"+{value:.0f} s"
