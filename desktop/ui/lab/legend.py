"""What the lanes' colours and marks mean: the palette by ending and the legend.

`colour`, `ink_colour` and `replayed_colour` are shared by the lanes view (which paints
them) and `LanesLegend` (which names them), so the two cannot drift apart; the
colours and legend words themselves are desktop/core/lab/lane_style.py's, which the HTML
export reads too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.core.lab.lane_style import (
    ENDING_COLOURS,
    INK_COLOURS,
    LEGEND,
    REPLAYED_COLOURS,
)
from desktop.ui import theme

if TYPE_CHECKING:
    from desktop.core.lab.lanes import ConnectionEnd


def colour(ending: ConnectionEnd) -> QColor:
    return _themed(ENDING_COLOURS[ending])


def ink_colour() -> QColor:
    return _themed(INK_COLOURS)


def replayed_colour() -> QColor:
    return _themed(REPLAYED_COLOURS)


def _themed(colours: tuple[str, str]) -> QColor:
    light, dark = colours
    return QColor(dark if theme.palette().dark else light)


class LanesLegend(QWidget):
    """What the colours and marks mean, in one row under the lanes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lanesLegend")
        # Two rows of six: one long row would set the dock's (and window's) width.
        items: list[QWidget] = [_swatch(colour(e), t, e.value) for e, t in LEGEND]
        gap = QPixmap(18, 10)
        gap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(gap)
        painter.fillRect(
            gap.rect(), QBrush(theme.palette().muted, Qt.BrushStyle.BDiagPattern)
        )
        painter.end()
        items.append(_pixmap_label(gap, "gap: asked · waited", "gap"))
        items.append(_pixmap_label(_tick_pixmap(ink_colour(), 1), "event", "tick"))
        items.append(
            _pixmap_label(
                _tick_pixmap(replayed_colour(), 2), "replayed from log", "replayed"
            )
        )
        hint = QLabel(
            "⟲ Last-Event-ID sent on reconnect · wheel or +/- zooms · drag pans · "
            "F fits, End follows now"
        )
        hint.setObjectName("mutedLabel")
        # Rows that flow left to right: a grid would stretch short words to the
        # width of the longest one in their column.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(2)
        for chunk in (items[: len(LEGEND)], [*items[len(LEGEND) :], hint]):
            row = QHBoxLayout()
            row.setSpacing(14)
            for item in chunk:
                row.addWidget(item)
            row.addStretch(1)
            layout.addLayout(row)


def _tick_pixmap(ink: QColor, width: int) -> QPixmap:
    pixmap = QPixmap(8, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QPen(ink, width))
    painter.drawLine(4, 0, 4, 14)
    painter.end()
    return pixmap


def _swatch(fill: QColor, text: str, name: str) -> QWidget:
    pixmap = QPixmap(18, 10)
    pixmap.fill(fill)
    return _pixmap_label(pixmap, text, name)


def _pixmap_label(pixmap: QPixmap, text: str, name: str) -> QWidget:
    box = QWidget()
    box.setObjectName(f"legend-{name}")
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(5)
    icon = QLabel()
    icon.setPixmap(pixmap)
    icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
    layout.addWidget(QLabel(text), 0, Qt.AlignmentFlag.AlignVCenter)
    return box
