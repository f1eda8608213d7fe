"""The connection bar's "Reconnect & limits" tab: how it reconnects, when it stops.

Every field is text and empty by default (the engine's default: no read
timeout, unlimited attempts, no backoff, ...), so what the user types is kept
as typed until Connect checks it (:func:`desktop.ui.limits.parse_limits`).
The two options a browser's EventSource does not have say "beyond the spec".
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop.ui.limits import LimitsForm
from desktop.ui.theme import named

# field name → label, placeholder, tooltip, beyond the spec
_FIELDS: tuple[tuple[str, str, str, str, bool], ...] = (
    (
        "read_timeout",
        "Read timeout (s)",
        "none",
        "Seconds without a byte after which a silent connection counts as "
        "stalled and is reconnected. Empty: wait for ever (the spec's default; "
        "server pings keep a healthy stream under it).",
        False,
    ),
    (
        "headers_timeout",
        "Headers timeout (s)",
        "30",
        "Seconds an attempt may wait for the response headers (connecting and "
        "redirects included) before it counts as a network error and the "
        "stream reconnects, so a server that accepts and never answers cannot "
        "leave it connecting for ever. Empty: 30. 0: wait for ever.",
        False,
    ),
    (
        "max_attempts",
        "Max attempts",
        "unlimited",
        "Give up after this many consecutive failed reconnection attempts "
        "(0: never reconnect after a failure). Empty: keep trying, as a browser "
        "does. A successful open starts the count again.",
        False,
    ),
    (
        "max_backoff_ms",
        "Backoff cap (ms)",
        "off",
        "Beyond the spec: double the wait after each failed attempt, with "
        "jitter, from the reconnection time (at least 250 ms) up to this many "
        "ms; a connection that brought no event counts as failed. Empty: wait "
        "the reconnection time every time, as the spec says.",
        True,
    ),
    (
        "reconnect_on_status",
        "Reconnect on status",
        "e.g. 502,503,504",
        "Beyond the spec: HTTP statuses to treat like a network error and "
        "reconnect after (e.g. a proxy's 502/503/504). The spec fails the "
        "stream for good on any status but 200.",
        True,
    ),
    (
        "close_on",
        "Close on event types",
        "e.g. end",
        "Close the stream for good when an event of one of these types "
        "(comma-separated) arrives, so a finished job is not reconnected.",
        False,
    ),
    (
        "count",
        "Stop after (events)",
        "no limit",
        "Close the stream after this many events.",
        False,
    ),
    (
        "max_event_size",
        "Max event size",
        "64 MB",
        "Largest event kept, in bytes or e.g. 512 KB, 8 MB (KB = 1024 bytes); "
        "a larger one is skipped and noted. Empty: 64 MB.",
        False,
    ),
)


class LimitsPanel(QWidget):
    """Edits a :class:`LimitsForm`; ``changed`` when anything is edited."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("limitsPanel")
        self.edits: dict[str, QLineEdit] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 6, 4, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        for i, (name, label, placeholder, tip, beyond) in enumerate(_FIELDS):
            edit = named(QLineEdit(), f"limit_{name}")
            edit.setPlaceholderText(placeholder)
            edit.setToolTip(tip)
            edit.setClearButtonEnabled(True)
            edit.setMinimumWidth(110)
            edit.setMaximumWidth(190)
            edit.textChanged.connect(self.changed)
            caption = QLabel(label)
            caption.setToolTip(tip)
            caption.setBuddy(edit)
            row, col = divmod(i, 2)
            grid.addWidget(caption, row, col * 3)
            grid.addWidget(edit, row, col * 3 + 1)
            if beyond:
                tag = named(QLabel("beyond the spec"), "beyondSpec")
                tag.setToolTip(tip)
                grid.addWidget(tag, row, col * 3 + 2)
            self.edits[name] = edit
        self.send_last_event_id = named(
            QCheckBox("Send Last-Event-ID on reconnect"), "sendLastEventId"
        )
        self.send_last_event_id.setChecked(True)
        self.send_last_event_id.setToolTip(
            "On (the spec): a reconnect sends the last event's id, so the server "
            "can resume after it. Off: the naive client, which reconnects from "
            "now and loses what was sent while it was away."
        )
        self.send_last_event_id.toggled.connect(self.changed)
        last = len(_FIELDS)
        row, col = divmod(last, 2)
        grid.addWidget(self.send_last_event_id, row, col * 3, 1, 3)
        grid.setColumnMinimumWidth(2, 90)  # "beyond the spec", or a gap
        grid.setColumnStretch(6, 1)  # the fields stay compact on a wide window
        grid.setRowStretch(row + 1, 1)

    def form(self) -> LimitsForm:
        texts = {name: edit.text() for name, edit in self.edits.items()}
        return LimitsForm(
            **texts,
            send_last_event_id=self.send_last_event_id.isChecked(),
        )

    def set_form(self, form: LimitsForm) -> None:
        for name, edit in self.edits.items():
            edit.setText(getattr(form, name))
        self.send_last_event_id.setChecked(form.send_last_event_id)

    def focus_field(self, name: str) -> bool:
        """Select the field named by a ``RequestError``; False if not one of ours."""
        edit = self.edits.get(name)
        if edit is None:
            return False
        edit.setFocus()
        edit.selectAll()
        return True
