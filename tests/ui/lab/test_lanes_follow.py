"""The lanes follow "now" as a terminal scrolls, stop when the user pans, and a
finished lesson's lanes stop growing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QAbstractSlider

from desktop.core.lab.lanes import Lane, Segment
from desktop.ui.lab.lanes_view import FOLLOW_S, LanesView

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

T0 = 1_000_000.0


def _lanes(end: float) -> list[Lane]:
    """One client: a connection from T0 still open at ``end``, one at T0 + 880 s."""
    return [
        Lane(
            "app",
            "app (our client)",
            [
                Segment(1, T0, T0 + 0.1, T0 + 880),
                Segment(2, T0 + 880.5, T0 + 880.6),
            ],
        )
    ]


def _visible_seconds(view: LanesView) -> tuple[float, float]:
    """The time span (since T0) the viewport shows."""
    left = view.mapToScene(0, 0).x()
    right = view.mapToScene(view.viewport().width(), 0).x()
    return left / 100.0, right / 100.0


def test_a_long_run_shows_the_last_minute_at_the_right_edge(qtbot: QtBot) -> None:
    view = LanesView()
    qtbot.addWidget(view)
    view.resize(900, 200)
    view.show()
    view.set_lanes(_lanes(T0 + 900), T0 + 900)
    left, right = _visible_seconds(view)
    # A fault at 880 s is in the middle of the view, not in its last pixels.
    assert right >= 899, (left, right)
    assert right - left <= FOLLOW_S + 5, (left, right)
    view.set_lanes(_lanes(T0 + 930), T0 + 930)  # time goes on: the view follows
    left, right = _visible_seconds(view)
    assert right >= 929, (left, right)


def test_panning_stops_following(qtbot: QtBot) -> None:
    view = LanesView()
    qtbot.addWidget(view)
    view.resize(900, 200)
    view.show()
    view.set_lanes(_lanes(T0 + 900), T0 + 900)
    bar = view.horizontalScrollBar()
    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)  # the user pans
    before = _visible_seconds(view)
    view.set_lanes(_lanes(T0 + 960), T0 + 960)
    assert not view.follow
    assert abs(_visible_seconds(view)[0] - before[0]) < 1
    view.follow_now()  # End
    assert _visible_seconds(view)[1] >= 959
    assert view.mapToScene(0, 0) != QPointF(0, 0)
