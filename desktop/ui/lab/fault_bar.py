"""The Lab's fault bar: what to break now, and how to answer the next connects.

Two compact rows of grouped buttons over the lanes (widgets only: every button
emits ``faultRequested(FaultRequest)``; the lab controller talks to the server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import named

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class FaultRequest:
    """One press of a fault button: the lab action and its argument."""

    action: str  # drop, cut, stall, refuse, retry, forget, omit-end, encoding, restart
    number: float = 0.0  # seconds, count or ms, as the action needs
    choice: str = ""  # refuse status, encoding mode


REFUSALS = ("503", "204", "401", "html")
ENCODINGS = ("identity", "gzip", "buffer")


class FaultBar(QFrame):
    """Buttons named after what they do to the server, with one-line tooltips."""

    faultRequested = Signal(object)  # noqa: N815  (FaultRequest)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labFaults")
        self.buttons: dict[str, QPushButton] = {}
        self._rows: list[QHBoxLayout] = []
        self._titles: list[QLabel] = []
        self.stall_s = QDoubleSpinBox()
        self.stall_s.setRange(0.5, 600)
        self.stall_s.setValue(5)
        self.stall_s.setDecimals(1)
        self.stall_s.setSuffix(" s")
        self.refuse_count = QSpinBox()
        self.refuse_count.setRange(1, 1000)
        self.refuse_count.setPrefix("next ")
        self.refuse_with = QComboBox()
        self.refuse_with.addItems(REFUSALS)
        self.refuse_with.setToolTip("html: a 200 that is not text/event-stream")
        self.retry_ms = QSpinBox()
        self.retry_ms.setRange(0, 3_600_000)
        self.retry_ms.setSingleStep(100)
        self.retry_ms.setValue(1000)
        self.retry_ms.setSuffix(" ms")
        self.encoding = QComboBox()
        self.encoding.addItems(ENCODINGS)
        self.encoding.setToolTip(
            "gzip: compressed; buffer: a proxy that holds events and lets them go "
            "in batches"
        )

        # Size to the values people type, not to the largest allowed.
        for box, width in (
            (self.stall_s, 78),
            (self.refuse_count, 82),
            (self.retry_ms, 96),
        ):
            box.setMaximumWidth(width)

        now = self._row("Break now")
        self._button(now, "drop", "Drop", "The server ends every stream cleanly (EOF).")
        self._button(
            now,
            "cut",
            "Cut mid-event",
            "The server sends half an event, then closes: the half is discarded.",
        )
        self._button(
            now,
            "stall",
            "Stall for",
            "Open streams send nothing, pings included, for this long.",
            lambda: FaultRequest("stall", self.stall_s.value()),
        )
        now.addWidget(self.stall_s)
        self._button(
            now,
            "restart",
            "Restart server",
            "Restart the bundled server on the same port: its in-memory log is gone.",
        )
        self._button(
            now,
            "forget",
            "Forget log",
            "The server forgets its replay log: a resume gets `replay-gap`.",
        )
        now.addStretch(1)

        later = self._row("Next connects")
        self._button(
            later,
            "refuse",
            "Refuse",
            "Answer the next connects with this status instead of a stream.",
            lambda: FaultRequest(
                "refuse", self.refuse_count.value(), self.refuse_with.currentText()
            ),
        )
        later.addWidget(self.refuse_count)
        later.addWidget(self.refuse_with)
        later.addSpacing(6)
        self._button(
            later,
            "retry",
            "Set retry:",
            "Announce this reconnection time to open streams and new ones.",
            lambda: FaultRequest("retry", self.retry_ms.value()),
        )
        later.addWidget(self.retry_ms)
        later.addSpacing(6)
        self._button(
            later,
            "encoding",
            "Send as",
            "How the next streams are sent: plain, gzipped, or through a "
            "buffering proxy.",
            lambda: FaultRequest("encoding", 0, self.encoding.currentText()),
        )
        later.addWidget(self.encoding)
        later.addSpacing(6)
        self._button(
            later,
            "omit-end",
            "Omit end",
            "The next job finishes without its `end` event.",
            lambda: FaultRequest("omit-end", 1),
        )
        later.addStretch(1)
        self._button(later, "reset", "Reset all", "Every switch back to normal.")

        width = max(label.sizeHint().width() for label in self._titles)
        for label in self._titles:
            label.setFixedWidth(width + 6)  # the two rows' buttons line up
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(self._rows[0])
        layout.addLayout(self._rows[1])

    def _row(self, title: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(4)
        label = named(QLabel(title), "labRowTitle")
        self._titles.append(label)
        row.addWidget(label)
        self._rows.append(row)
        return row

    def _button(
        self,
        row: QHBoxLayout,
        action: str,
        text: str,
        tip: str,
        request: Callable[[], FaultRequest] | None = None,
    ) -> None:
        make = request or (lambda: FaultRequest(action))
        button = named(QPushButton(text), "labFault")
        button.setToolTip(tip)
        button.clicked.connect(lambda: self.faultRequested.emit(make()))
        self.buttons[action] = button
        row.addWidget(button)
