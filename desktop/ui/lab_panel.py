"""The Lab dock's widgets: fault buttons, lost/repeated badges, lanes, lessons.

Widgets only (STYLE.md §7): every button emits an intent, the lab controller
(desktop/ui/lab_controller.py) talks to the server and calls back the ``show_*``
methods.  The lessons panel is the LESSONS module's; it is placed in the slot on
the right when that module exists.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.lanes_view import LanesLegend, LanesView
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.core.continuity import Continuity


@dataclass(frozen=True, slots=True)
class FaultRequest:
    """One press of a fault button: the lab action and its argument."""

    action: str  # drop, cut, stall, refuse, retry, forget, omit-end, encoding, restart
    number: float = 0.0  # seconds, count or ms, as the action needs
    choice: str = ""  # refuse status, encoding mode


REFUSALS = ("503", "204", "401", "html")
ENCODINGS = ("identity", "gzip", "buffer")


def badge_text(result: Continuity | None, note: str = "") -> str:
    """ "lost 0 · repeated 0" (and reordered when there are any)."""
    if result is None:
        return note or "—"
    text = f"lost {len(result.lost)} · repeated {len(result.repeated)}"
    if result.reordered:
        text += f" · reordered {len(result.reordered)}"
    return text


class LabPanel(QWidget):
    faultRequested = Signal(object)  # noqa: N815  (FaultRequest)
    naiveToggled = Signal(bool)  # noqa: N815
    pulseToggled = Signal(bool)  # noqa: N815
    browserRequested = Signal()  # noqa: N815
    exportRequested = Signal()  # noqa: N815
    backRequested = Signal()  # noqa: N815  (show the stream in front again)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labPanel")
        self.status = named(QLabel("Lab: waiting for a stream"), "labStatus")
        self.status.setWordWrap(True)
        self.faults = self._faults()
        self.compare = self._compare()
        controls = QWidget()
        column = QVBoxLayout(controls)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.status)
        column.addWidget(self.faults)
        column.addWidget(self.compare)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setMinimumWidth(300)

        self.lanes = LanesView()
        self.legend = LanesLegend()
        self.hover = named(
            QLabel("Hover a bar, gap or tick to have it explained."), "labHover"
        )
        self.hover.setWordWrap(True)
        self.hover.setMinimumHeight(34)
        self.lanes.hovered.connect(self.hover.setText)
        self.lanes_title = named(QLabel("Lanes: the stream in front"), "labLanesTitle")
        self.back = QPushButton("Back to the stream in front")
        self.back.hide()
        self.back.clicked.connect(self.backRequested)
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole run (F)")
        fit.clicked.connect(lambda: self.lanes.fit())
        zoom_in, zoom_out = QPushButton("+"), QPushButton("-")
        for button in (zoom_in, zoom_out):
            button.setFixedWidth(30)
        zoom_in.clicked.connect(lambda: self.lanes.zoom(1.5))
        zoom_out.clicked.connect(lambda: self.lanes.zoom(1 / 1.5))
        head = QHBoxLayout()
        head.addWidget(self.lanes_title, 1)
        head.addWidget(self.back)
        head.addWidget(zoom_out)
        head.addWidget(zoom_in)
        head.addWidget(fit)
        middle = QWidget()
        lanes_box = QVBoxLayout(middle)
        lanes_box.setContentsMargins(0, 0, 0, 0)
        lanes_box.addLayout(head)
        lanes_box.addWidget(self.lanes, 1)
        lanes_box.addWidget(self.legend)
        lanes_box.addWidget(self.hover)

        self.lessons_slot = QWidget()
        self.lessons_slot.setObjectName("lessonsSlot")
        self.lessons_layout = QVBoxLayout(self.lessons_slot)
        self.lessons_layout.setContentsMargins(0, 0, 0, 0)
        self.lessons_placeholder: QLabel | None = None
        if importlib.util.find_spec("desktop.ui.lessons_panel") is None:
            self.lessons_placeholder = named(
                QLabel(
                    "Guided lessons appear here once the lessons module is "
                    "installed (desktop/ui/lessons_panel.py)."
                ),
                "mutedLabel",
            )
            self.lessons_placeholder.setWordWrap(True)
            self.lessons_layout.addWidget(self.lessons_placeholder)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.lessons_slot)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 800, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.splitter)

    # -- building ----------

    def _faults(self) -> QGroupBox:
        box = QGroupBox("Break the server")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)

        def button(text: str, tip: str, request: object) -> QPushButton:
            widget = QPushButton(text)
            widget.setToolTip(tip)
            widget.clicked.connect(lambda: self.faultRequested.emit(request()))  # type: ignore[operator]
            return widget

        grid.addWidget(
            button(
                "Drop",
                "The server ends every stream cleanly (EOF).",
                lambda: FaultRequest("drop"),
            ),
            0,
            0,
        )
        grid.addWidget(
            button(
                "Cut mid-event",
                "The server sends half an event, then closes: the half is discarded.",
                lambda: FaultRequest("cut"),
            ),
            0,
            1,
        )
        grid.addWidget(
            button(
                "Restart server",
                "Restart the bundled server on the same port: its in-memory log "
                "is gone.",
                lambda: FaultRequest("restart"),
            ),
            0,
            2,
        )
        self.stall_s = QDoubleSpinBox()
        self.stall_s.setRange(0.5, 600)
        self.stall_s.setValue(5)
        self.stall_s.setSuffix(" s")
        grid.addWidget(
            button(
                "Stall",
                "Open streams send nothing, pings included, for this long.",
                lambda: FaultRequest("stall", self.stall_s.value()),
            ),
            1,
            0,
        )
        grid.addWidget(self.stall_s, 1, 1)

        self.refuse_count = QSpinBox()
        self.refuse_count.setRange(1, 1000)
        self.refuse_count.setPrefix("next ")
        self.refuse_with = QComboBox()
        self.refuse_with.addItems(REFUSALS)
        self.refuse_with.setToolTip("html: a 200 that is not text/event-stream")
        grid.addWidget(
            button(
                "Refuse",
                "Answer the next connects with this status instead of a stream.",
                lambda: FaultRequest(
                    "refuse", self.refuse_count.value(), self.refuse_with.currentText()
                ),
            ),
            2,
            0,
        )
        grid.addWidget(self.refuse_count, 2, 1)
        grid.addWidget(self.refuse_with, 2, 2)

        self.retry_ms = QSpinBox()
        self.retry_ms.setRange(0, 3_600_000)
        self.retry_ms.setSingleStep(100)
        self.retry_ms.setValue(1000)
        self.retry_ms.setSuffix(" ms")
        grid.addWidget(
            button(
                "Set retry:",
                "Announce this reconnection time to open streams and new ones.",
                lambda: FaultRequest("retry", self.retry_ms.value()),
            ),
            3,
            0,
        )
        grid.addWidget(self.retry_ms, 3, 1)

        self.encoding = QComboBox()
        self.encoding.addItems(ENCODINGS)
        self.encoding.setToolTip(
            "buffer: a proxy that holds events and lets them go in batches"
        )
        grid.addWidget(
            button(
                "Encoding",
                "How the next streams are sent: plain, gzipped, or through a "
                "buffering proxy.",
                lambda: FaultRequest("encoding", 0, self.encoding.currentText()),
            ),
            4,
            0,
        )
        grid.addWidget(self.encoding, 4, 1, 1, 2)
        grid.addWidget(
            button(
                "Forget log",
                "The server forgets its replay log: a resume gets `replay-gap`.",
                lambda: FaultRequest("forget"),
            ),
            5,
            0,
        )
        grid.addWidget(
            button(
                "Omit end",
                "The next job finishes without its `end` event.",
                lambda: FaultRequest("omit-end", 1),
            ),
            5,
            1,
        )
        grid.addWidget(
            button(
                "Reset", "Every switch back to normal.", lambda: FaultRequest("reset")
            ),
            5,
            2,
        )
        return box

    def _compare(self) -> QGroupBox:
        box = QGroupBox("Sent versus received")
        grid = QGridLayout(box)
        self.pulse = QCheckBox("Publish a pulse every 100 ms")
        self.pulse.setToolTip(
            "A steady, logged event on /api/events, so losses during a gap show."
        )
        self.pulse.toggled.connect(self.pulseToggled)
        grid.addWidget(self.pulse, 0, 0, 1, 2)
        grid.addWidget(QLabel("Our client:"), 1, 0)
        self.app_badge = named(QLabel("—"), "labBadge")
        grid.addWidget(self.app_badge, 1, 1)
        self.naive = QCheckBox("Naive client:")
        self.naive.setToolTip(
            "A second client on the same URL that never sends Last-Event-ID."
        )
        self.naive.toggled.connect(self.naiveToggled)
        grid.addWidget(self.naive, 2, 0)
        self.naive_badge = named(QLabel("off"), "labBadge")
        grid.addWidget(self.naive_badge, 2, 1)
        self.compare_note = named(QLabel(""), "mutedLabel")
        self.compare_note.setWordWrap(True)
        grid.addWidget(self.compare_note, 3, 0, 1, 2)
        self.browser = QPushButton("Open the browser page")
        self.browser.setToolTip(
            "The server's page runs a browser EventSource; its lane appears here."
        )
        self.browser.clicked.connect(self.browserRequested)
        self.export = QPushButton("Export lab run…")
        self.export.clicked.connect(self.exportRequested)
        grid.addWidget(self.browser, 4, 0)
        grid.addWidget(self.export, 4, 1)
        grid.setColumnStretch(1, 1)
        return box

    # -- what the controller shows ----------

    def set_available(self, available: bool, message: str) -> None:
        """Faults and comparison work only against a server with the lab on."""
        self.status.setText(message)
        self.status.setProperty("problem", not available)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        for widget in (self.faults, self.compare):
            widget.setEnabled(available)

    def show_badges(
        self,
        app: Continuity | None,
        naive: Continuity | None,
        note: str = "",
    ) -> None:
        for label, result, off in (
            (self.app_badge, app, ""),
            (self.naive_badge, naive, "" if self.naive.isChecked() else "off"),
        ):
            label.setText(badge_text(result, off))
            bad = result is not None and not result.ok
            if label.property("bad") != bad:
                label.setProperty("bad", bad)
                label.style().unpolish(label)
                label.style().polish(label)
            if result is not None:
                label.setToolTip(
                    f"{result.received} received of {result.published} published; "
                    + (
                        f"lost ids: {', '.join(result.lost[:8])}"
                        if result.lost
                        else "none lost"
                    )
                )
        self.compare_note.setText(note)

    def show_message(self, text: str) -> None:
        self.hover.setText(text)

    def place_lessons(self, panel: QWidget) -> None:
        """Put the LESSONS helper's panel into the slot."""
        if self.lessons_placeholder is not None:
            self.lessons_placeholder.deleteLater()
            self.lessons_placeholder = None
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(panel)
        scroll.setMinimumWidth(260)  # the panel's own minimum would widen the window
        self.lessons_layout.addWidget(scroll)
