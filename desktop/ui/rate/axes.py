"""The rate plot's numbers and axes: figures as people read them, round ticks.

Kept apart from the widget (:mod:`desktop.ui.rate.plot`) so that each stays one
thing: this module says how a rate, a size or a time before now is written and
where the ticks fall; the plot decides what to draw and when.  Imports
pyqtgraph, so like the plot it is only loaded when the Rate tab is first shown.
"""

from __future__ import annotations

import math

import pyqtgraph as pg  # type: ignore[import-untyped]  # no stubs

AXIS_WIDTH = 64  # both left axes equally wide, so the two plots line up


# -- numbers as people read them ----------


def _figure(value: float) -> str:
    """Three significant figures, never in exponent form (999.5 -> "1000")."""
    return f"{value:.3g}" if abs(value) < 999.5 else f"{value:.0f}"


def _compact(value: float) -> str:
    """3, 250, 1.2 k, 34 k, 1.5 M: two or three significant figures."""
    for factor, prefix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= factor:
            return f"{_figure(value / factor)}{prefix}"
    return _figure(value) if value % 1 else f"{value:.0f}"


def events_rate(value: float) -> str:
    return f"{_compact(value)} ev/s"


def bytes_size(value: float) -> str:
    """Bytes with binary prefixes, as the rest of the app (row_text.human_bytes)."""
    for factor, unit in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if abs(value) >= factor:
            return f"{_figure(value / factor)} {unit}"
    return f"{value:.0f} B"


def bytes_rate(value: float) -> str:
    return f"{bytes_size(value)}/s"


def nice_step(value: float, steps: tuple[float, ...] = (1, 2, 2.5, 5)) -> float:
    """``value`` rounded up to one of ``steps`` x 10^n."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in steps:
        if step * power >= value:
            return step * power
    return 10 * power


def byte_unit(value: float) -> float:
    """1, 1 KB, 1 MB or 1 GB: the binary unit ``value`` is best written in."""
    unit = 1.0
    for candidate in (1024.0, 1024.0**2, 1024.0**3):
        if value >= candidate:
            unit = candidate
    return unit


def nice_top(value: float, floor: float, *, binary: bool = False) -> float:
    """The y range's top: ``value`` plus headroom, rounded up to a round number
    (of KB, MB … for bytes, so that the ticks fall on round byte figures)."""
    value = max(value * 1.15, floor)
    unit = byte_unit(value) if binary else 1.0
    return nice_step(value / unit, (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)) * unit


def ago(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}:{rest:02d} ago" if minutes else f"{rest} s ago"


# -- axes ----------


class RateAxis(pg.AxisItem):  # type: ignore[misc]
    """A left axis whose labels carry the unit ("1.2 k", "34 KB")."""

    def __init__(self, bytes_axis: bool) -> None:
        super().__init__("left")
        self._bytes = bytes_axis
        self.enableAutoSIPrefix(False)
        self.setWidth(AXIS_WIDTH)

    def tickStrings(  # noqa: N802
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        if self._bytes:
            return [bytes_size(v) for v in values]
        return [_compact(v) for v in values]

    def tickValues(  # noqa: N802
        self, low: float, high: float, size: float
    ) -> list[tuple[float, list[float]]]:
        """Bytes tick at round KB/MB figures (20 KB, not 19.5 KB); events as usual."""
        if not self._bytes or high <= low:
            return super().tickValues(low, high, size)  # type: ignore[no-any-return]
        unit = byte_unit(high)
        major = nice_step((high - low) / unit / 4) * unit
        return [
            (major, _multiples(major, low, high)),
            (major / 2, _multiples(major / 2, low, high)),
        ]


class TimeAxis(pg.AxisItem):  # type: ignore[misc]
    """Seconds before the right edge: "-4 min" … "now" (or "end" once stopped)."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.enableAutoSIPrefix(False)
        self.setStyle(hideOverlappingLabels=24)  # "now" may reach into the margin
        self.edge = "now"

    def tickStrings(  # noqa: N802
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        out = []
        for value in values:
            seconds = round(-value)
            if seconds == 0:
                out.append(self.edge)
            elif seconds < 60:
                out.append(f"-{seconds} s")
            elif seconds % 60 == 0:
                out.append(f"-{seconds // 60} min")
            else:
                out.append(f"-{seconds // 60}:{seconds % 60:02d}")
        return out

    def tickValues(  # noqa: N802
        self,
        low: float,
        high: float,
        size: float,
    ) -> list[tuple[float, list[float]]]:
        span = high - low
        major = 60.0 if span > 150 else 30.0 if span > 60 else 10.0
        minor = major / 4 if major == 60 else major / 3
        ticks = [(major, _multiples(major, low, high))]
        ticks.append((minor, _multiples(minor, low, high)))
        return ticks


def _multiples(step: float, low: float, high: float) -> list[float]:
    first = math.ceil(low / step)
    return [k * step for k in range(first, math.floor(high / step) + 1)]
