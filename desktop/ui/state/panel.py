"""The connection state panel: state, attempt, countdown, retry in force, counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.core.engine.records import DelaySource
from desktop.core.engine.state import State
from desktop.core.files.redact import is_secret
from desktop.ui import row_text, theme
from desktop.ui.request import mask
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.ui.session import StreamSession

_SOURCES = {
    DelaySource.DEFAULT: "engine default",
    DelaySource.OPTION: "your initial retry",
    DelaySource.SERVER: "server retry: field",
    DelaySource.BACKOFF: "backoff",
}
_FIELDS = (
    ("attempt", "Attempt"),
    ("countdown", "Next attempt in"),
    ("retry", "Reconnection time"),
    ("last_id", "Last-Event-ID to send"),
    ("status", "HTTP status"),
    ("bytes", "Bytes"),
    ("events", "Events"),
    ("rate", "Events/s"),
    ("idle", "Since last byte"),
    ("other", "Pings · errors"),
)


class StatePanel(QFrame):
    """Renders a :class:`StreamSession`; the stream view calls :meth:`show_session`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statePanel")
        self.icon = named(QLabel(), "stateIcon")
        self.badge = named(QLabel(), "stateBadge")
        self.message = named(QLabel(), "stateMessage")
        self.message.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.icon)
        head.addWidget(self.badge, 1)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        for key, title in _FIELDS:
            value = named(QLabel(), "stateValue")
            value.setTextInteractionFlags(
                value.textInteractionFlags().TextSelectableByMouse
            )
            self.values[key] = value
            form.addRow(named(QLabel(title), "stateKey"), value)
        self.headers = named(QPlainTextEdit(), "responseHeaders")
        self.headers.setReadOnly(True)
        self.headers.setPlaceholderText("Response headers of the current connection")
        self.headers.setMaximumHeight(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(named(QLabel("Response headers"), "stateKey"))
        layout.addWidget(self.headers)
        layout.addStretch(1)
        self._shown: tuple[object, ...] = ()
        self._headers_shown: tuple[tuple[str, str], ...] | None = None

    def show_session(
        self, session: StreamSession, now: float, rate: float, *, saved: bool = False
    ) -> None:
        """``saved``: a recording's session, whose state is the one at save time."""
        state = theme.state_key(session.state, failed=session.failed)
        countdown = session.countdown(now)
        badge = _badge(session, countdown)
        if saved and session.state not in (None, State.CLOSED):
            badge += " (at save)"  # nothing is live in a recording
        if (state, badge, session.message) != self._shown:
            self._shown = (state, badge, session.message)
            self.icon.setPixmap(
                theme.state_icon(session.state, failed=session.failed).pixmap(
                    QSize(22, 22)
                )
            )
            self.badge.setText(badge)
            self.badge.setProperty("state", state)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)
            self.message.setText(session.message)
            self.message.setVisible(bool(session.message))
        idle = None if session.last_byte_at is None else now - session.last_byte_at
        values = {
            "attempt": str(session.attempt) if session.attempt else "—",
            "countdown": "—" if countdown is None else row_text.seconds(countdown),
            "retry": f"{session.retry_ms:,} ms · {_SOURCES[session.retry_source]}",
            "last_id": session.last_event_id or "(none: header not sent)"
            if session.options.send_last_event_id  # off: the naive client
            else f"not sent (option off; last id: {session.last_event_id or 'none'})",
            "status": "—" if session.status is None else str(session.status),
            "bytes": row_text.human_bytes(session.received_bytes),
            "events": f"{session.events:,}",
            "rate": f"{rate:,.0f}" if session.state is State.OPEN else "—",
            "idle": "—" if idle is None else row_text.seconds(idle),
            "other": f"{session.comments:,} · {session.errors:,}",
        }
        for key, text in values.items():
            label = self.values[key]
            if label.text() != text:
                label.setText(text)
        if session.headers != self._headers_shown:
            self._headers_shown = session.headers
            self.headers.setPlainText(
                "\n".join(
                    f"{name}: {mask(value) if is_secret(name) else value}"
                    for name, value in session.headers
                )
            )


def _badge(session: StreamSession, countdown: float | None) -> str:
    state = session.state
    if state is State.RECONNECTING and countdown is not None:
        return f"Reconnecting in {row_text.seconds(countdown)}"
    if state is State.CLOSED:
        return "Closed — failed" if session.failed else "Closed"
    if state is None:
        return "Not connected"
    return str(state.value).capitalize()
