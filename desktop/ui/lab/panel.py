"""The Lab dock's widgets: fault bar, sent-versus-received badges, lanes, lessons.

Laid out for a newcomer: the lanes take the middle and most of the space; what
to break sits in a compact bar above them, the two badges (our client against
the naive one) beside it in large type, the guided lessons on the right.
Widgets only: every control emits an intent; the lab controller
(desktop/ui/lab/controller.py) talks to the server and calls the ``show_*``
methods.  The lessons panel is the LESSONS module's, placed by ``place_lessons``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.lab.fault_bar import FaultBar, FaultRequest
from desktop.ui.lab.lanes_view import LanesView
from desktop.ui.lab.legend import LanesLegend
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.core.lab.continuity import Continuity

__all__ = ["FaultRequest", "LabPanel", "badge_text"]

BADGE_HELP = (
    "Counted against the server's publish log from this client's own first "
    "connection: nothing published before it could reach it (a first connect "
    "carries no Last-Event-ID, so the server starts it live)."
)

GUIDE = (
    "<b>How to read the lanes</b><ul style='margin-left: -20px'>"
    "<li>One row per client. Each bar is one connection, coloured by how it "
    "ended; the thin line before a bar is the request waiting for its answer.</li>"
    "<li>Hatched: the wait before reconnecting, the delay asked (<code>retry:</code>)"
    " against the delay actually waited.</li>"
    "<li>⟲ <i>id</i>: the Last-Event-ID a reconnect carried. The server resumes "
    "right after it and re-sends what was published meanwhile (ticks in the "
    "replayed colour).</li>"
    "<li>The naive client reconnects with no id (⟲ no id): what was published "
    "during its gaps never reaches it. Its red count is checked against the "
    "server's publish log, not assumed.</li>"
    "<li>Break something with the buttons above, or run a guided lesson on the "
    "right.</li></ul>"
)


def badge_text(result: Continuity | None, note: str = "") -> str:
    """ "lost 0 · repeated 0" (and reordered when there are any)."""
    if result is None:
        return note or "—"
    text = f"lost {len(result.lost)} · repeated {len(result.repeated)}"
    if result.reordered:
        text += f" · reordered {len(result.reordered)}"
    return text


def _two_lines(label: QLabel) -> None:
    """Room for two lines, always: a label that wraps moves nothing below it."""
    label.setFixedHeight(2 * label.fontMetrics().lineSpacing() + 4)


def _repolish(widget: QWidget, name: str, value: object) -> None:
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class LabPanel(QWidget):
    faultRequested = Signal(object)  # noqa: N815  (FaultRequest)
    naiveToggled = Signal(bool)  # noqa: N815
    pulseToggled = Signal(bool)  # noqa: N815
    browserRequested = Signal()  # noqa: N815
    exportRequested = Signal()  # noqa: N815
    backRequested = Signal()  # noqa: N815  (show the stream in front again)
    focusToggled = Signal(bool)  # noqa: N815  (the lab takes the whole window)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labPanel")
        self.status = named(QLabel("Lab: waiting for a stream"), "labStatus")
        self.status.setWordWrap(True)
        _two_lines(self.status)  # wrapping must not push the fault rows down
        self.focus = named(QPushButton("Lab only"), "labFocus")
        self.focus.setCheckable(True)
        self.focus.setToolTip(
            "Give the whole window to the lab (the stream tabs come back with "
            "a second click)"
        )
        self.focus.toggled.connect(self.focusToggled)
        self.export = QPushButton("Export lab run…")
        self.export.setToolTip(
            "One HTML page (lanes as SVG, sent vs received, checklist) and the "
            "raw records as NDJSON, to hand out"
        )
        self.export.clicked.connect(self.exportRequested)
        self.pulse = QCheckBox("Publish a pulse every 100 ms")
        self.pulse.setToolTip(
            "A steady, logged event on /api/events, so losses during a gap show."
        )
        self.pulse.toggled.connect(self.pulseToggled)
        self.browser = QPushButton("Open the browser page")
        self.browser.setToolTip(
            "The server's page runs a browser EventSource; its attempts get a lane."
        )
        self.browser.clicked.connect(self.browserRequested)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.pulse)
        top.addWidget(self.browser)
        top.addWidget(self.export)
        top.addWidget(self.focus)

        self.fault_bar = FaultBar()
        self.fault_bar.faultRequested.connect(self.faultRequested)
        self.compare = self._compare()
        self.faults = QWidget()  # what only works with the lab on
        controls = QHBoxLayout(self.faults)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.fault_bar, 3)
        controls.addWidget(self.compare, 2)

        self.lanes = LanesView()
        self.legend = LanesLegend()
        self.hover = named(
            QLabel("Hover a bar, gap or tick to have it explained."), "labHover"
        )
        self.hover.setWordWrap(True)
        _two_lines(self.hover)  # a long explanation must not move the guide
        self.hover.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.lanes.hovered.connect(self.hover.setText)
        self.lanes_title = named(QLabel("Lanes: the stream in front"), "labLanesTitle")
        self.back = QPushButton("Back to the stream in front")
        self.back.hide()
        self.back.clicked.connect(self.backRequested)
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole run (F)")
        fit.clicked.connect(lambda: self.lanes.fit())
        follow = QPushButton("Follow")
        follow.setToolTip("Keep the last minute in view as it grows (End)")
        follow.clicked.connect(lambda: self.lanes.follow_now())
        zoom_in, zoom_out = QPushButton("+"), QPushButton("-")
        for button, tip in ((zoom_in, "Zoom in (+)"), (zoom_out, "Zoom out (-)")):
            button.setFixedWidth(30)
            button.setToolTip(tip)
        zoom_in.clicked.connect(lambda: self.lanes.zoom(1.5))
        zoom_out.clicked.connect(lambda: self.lanes.zoom(1 / 1.5))
        head = QHBoxLayout()
        head.addWidget(self.lanes_title, 1)
        head.addWidget(self.back)
        head.addWidget(zoom_out)
        head.addWidget(zoom_in)
        head.addWidget(fit)
        head.addWidget(follow)
        middle = QWidget()
        lanes_box = QVBoxLayout(middle)
        lanes_box.setContentsMargins(0, 0, 0, 0)
        lanes_box.addLayout(head)
        lanes_box.addWidget(self.lanes, 100)  # capped at its lanes: the rest below
        lanes_box.addWidget(self.legend)
        lanes_box.addWidget(self.hover)
        self.guide = named(QLabel(GUIDE), "labGuide")
        self.guide.setWordWrap(True)
        self.guide.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.guide.setVisible(False)  # shown when the lab has the window
        self.focus.toggled.connect(self.guide.setVisible)
        lanes_box.addWidget(self.guide)
        lanes_box.addStretch(1)

        self.lessons_slot = named(QWidget(), "lessonsSlot")
        self.lessons_layout = QVBoxLayout(self.lessons_slot)
        self.lessons_layout.setContentsMargins(0, 0, 0, 0)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.lessons_slot)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([860, 560])
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.faults)
        layout.addWidget(self.splitter, 1)

    # -- building ----------

    def _compare(self) -> QFrame:
        box = named(QFrame(), "labCompare")
        grid = QGridLayout(box)
        grid.setContentsMargins(8, 2, 8, 2)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(0)
        ours = named(QLabel("Our client"), "labBadgeTitle")
        ours.setToolTip(BADGE_HELP)
        self.naive = named(QCheckBox("Naive client"), "labBadgeTitle")
        self.naive.setToolTip(
            "Run a second client on the same URL that never sends Last-Event-ID. "
            + BADGE_HELP
        )
        self.naive.toggled.connect(self.naiveToggled)
        self.app_badge = named(QLabel("—"), "labBadge")
        self.naive_badge = named(QLabel("off"), "labBadge")
        for badge in (self.app_badge, self.naive_badge):
            badge.setToolTip(BADGE_HELP)
        grid.addWidget(ours, 0, 0)
        grid.addWidget(self.naive, 0, 1)
        grid.addWidget(self.app_badge, 1, 0)
        grid.addWidget(self.naive_badge, 1, 1)
        self.compare_note = named(QLabel(""), "labNote")
        self.compare_note.setWordWrap(True)
        grid.addWidget(self.compare_note, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        return box

    # -- what the controller shows ----------

    def set_available(self, available: bool, message: str) -> None:
        """Faults and comparison work only against a server with the lab on."""
        self.status.setText(message)
        _repolish(self.status, "problem", not available)
        for widget in (self.faults, self.pulse, self.browser):
            widget.setEnabled(available)

    def show_badges(
        self,
        app: Continuity | None,
        naive: Continuity | None,
        note: str = "",
        *,
        no_log: bool = False,
        opened: tuple[float | None, float | None] = (None, None),
    ) -> None:
        naive_on = self.naive.isChecked()
        for label, result, empty, first in (
            (self.app_badge, app, "waiting for a connection", opened[0]),
            (
                self.naive_badge,
                naive,
                "waiting for a connection" if naive_on else "off",
                opened[1],
            ),
        ):
            if no_log and (label is self.app_badge or naive_on):
                label.setText("no publish log")
                _repolish(label, "verdict", "none")
                label.setToolTip(note)
                continue
            label.setText(badge_text(result, empty))
            verdict = "none" if result is None else "ok" if result.ok else "bad"
            _repolish(label, "verdict", verdict)
            if result is not None:
                since = (
                    time.strftime("%H:%M:%S", time.localtime(first))
                    if first is not None
                    else "?"
                )
                label.setToolTip(
                    f"{result.received} received of {result.published} published "
                    f"since this client first connected ({since}); "
                    + (
                        f"lost ids: {', '.join(result.lost[:8])}"
                        if result.lost
                        else "none lost"
                    )
                    + ". "
                    + BADGE_HELP
                )
        self.compare_note.setText(note)
        _repolish(self.compare_note, "problem", no_log)

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        """Its minimum: in the dock's scroll area the wrapped labels made it as
        tall as every part's preferred height (477 px in a 151 px dock), so the
        lanes and lessons scrolled out of sight instead of shrinking."""
        del width
        return self.minimumSizeHint().height()

    def docked_px(self) -> int:
        """The height that shows the top row, the fault bar and the lessons'
        buttons (under them, the lanes and the lessons scroll)."""
        layout = self.layout()
        assert layout is not None
        margins, spacing = layout.contentsMargins(), layout.spacing()
        controls = self.lessons_slot.findChild(QWidget, "lessonControls")
        pinned = controls.sizeHint().height() if controls is not None else 0
        return (
            margins.top()
            + self.status.height()
            + spacing
            + self.faults.sizeHint().height()
            + spacing
            + pinned
            + margins.bottom()
        )

    def show_message(self, text: str) -> None:
        self.hover.setText(text)

    def place_lessons(self, panel: QWidget) -> None:
        """Put the LESSONS helper's panel into the slot, list above the checklist.

        The panel lays its list beside the checklist; in this side column the
        list goes on top so the checklist keeps the column's width.
        """
        inner = panel.findChild(QSplitter)
        if inner is not None:
            inner.setOrientation(Qt.Orientation.Vertical)
            inner.setSizes([170, 430])
        # Run lesson stays in view above the column, however short the dock.
        controls = panel.findChild(QWidget, "lessonControls")
        if controls is not None:
            holder = controls.parentWidget()
            layout = holder.layout() if holder is not None else None
            if layout is not None:
                layout.removeWidget(controls)
            self.lessons_layout.addWidget(controls)
        scroll = QScrollArea()  # its wrapped texts must not set the window's height
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(panel)
        self.lessons_layout.addWidget(scroll)
