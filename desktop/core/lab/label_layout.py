"""Where the exported lanes' labels go: left to right in a row, none over another.

Reconnects a few pixels apart put their "⟲ id" and "asked · waited" labels over
each other in the exported SVG.  :func:`place` keeps a label where it starts
unless it would run into the one shown before it; then it is folded into that
one, which says how many it stands for ("⟲ a-12 +3") and keeps every folded
text for its hover (the SVG's ``<title>``).  The live view hides such labels
instead (desktop/ui/lab/lanes_view.py), where zooming in shows them again.

A page has no font metrics to ask, so widths are estimated per character, on
the wide side of common sans-serif faces (DejaVu Sans' digits are 0.64 em,
Arial's 0.56): an estimate that errs wide leaves a gap, never an overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

FONT_PX = 11.0
GAP_PX = 6.0  # between two labels of a row
ASCENT, DESCENT = 0.8, 0.25  # of the font size, above and below the baseline
BOLD = 1.1  # a bold face is this much wider

_NARROW = frozenset("il.,:;'|!ijI ")
_SMALL = frozenset("frt()[]-/")
_WIDE = frozenset("mwMW@%")


def _em(char: str) -> float:
    if not char.isascii():
        return 1.0  # ⟲, ·, ellipses and letters of other scripts: a full em
    if char in _NARROW:
        return 0.34
    if char in _SMALL:
        return 0.45
    if char in _WIDE:
        return 0.95
    if char.isupper():
        return 0.76
    return 0.66


def text_width(text: str, font_px: float = FONT_PX, *, bold: bool = False) -> float:
    """The estimated advance of ``text`` in a sans-serif face at ``font_px``."""
    width = sum(_em(char) for char in text) * font_px
    return width * BOLD if bold else width


@dataclass(frozen=True, slots=True)
class Box:
    """A label's extent on the page: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )


def box(
    x: float,
    baseline: float,
    text: str,
    font_px: float = FONT_PX,
    *,
    bold: bool = False,
) -> Box:
    """Where ``text`` drawn at ``x`` on ``baseline`` (SVG's text position) lies."""
    return Box(
        x,
        baseline - ASCENT * font_px,
        x + text_width(text, font_px, bold=bold),
        baseline + DESCENT * font_px,
    )


@dataclass(frozen=True, slots=True)
class Label:
    """A label that wants to start at ``x``; ``title`` is its hover text."""

    x: float
    text: str
    title: str


@dataclass(frozen=True, slots=True)
class Placed:
    """A label as drawn: ``titles`` of itself and every label folded into it."""

    x: float
    text: str
    titles: tuple[str, ...]


def place(
    labels: Iterable[Label],
    *,
    left: float = 0.0,
    right: float = float("inf"),
    font_px: float = FONT_PX,
) -> list[Placed]:
    """One row's labels, none overlapping another and all within
    [``left``, ``right``]; see the module docstring."""
    placed: list[Placed] = []
    first: Label | None = None
    folded: list[Label] = []
    x = end = 0.0
    floor = left  # where the next label may start: after the last one placed

    def text() -> str:
        assert first is not None
        return f"{first.text} +{len(folded)}" if folded else first.text

    def close() -> None:
        if first is not None:
            titles = (first.title, *(label.title for label in folded))
            placed.append(Placed(x, text(), titles))

    for label in sorted(labels, key=lambda label: label.x):
        width = text_width(label.text, font_px)
        start = max(left, min(label.x, right - width))
        if first is not None and start < end + GAP_PX:
            folded.append(label)  # would run into the label shown before it
            grown = text_width(text(), font_px)
            x = max(floor, min(x, right - grown))  # "+N" kept inside, if it fits
            end = x + grown
            continue
        close()
        floor = end + GAP_PX if first is not None else left
        start = max(start, floor)
        first, folded = label, []
        x, end = start, start + width
    close()
    return placed
