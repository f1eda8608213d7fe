"""The connection state panel: state, attempt, countdown, retry in force, counters.

For https it also shows the TLS session (version, cipher, the certificate's
subject and expiry), and after a refused certificate offers to trust it: the
panel only asks (``trustRequested``); the stream view changes the settings.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.engine.certificate import TLSProblem, out_of_dates
from desktop.core.engine.records import DelaySource
from desktop.core.engine.state import State
from desktop.core.files.redact import is_secret, redact_url
from desktop.ui import row_text, theme
from desktop.ui.request import mask
from desktop.ui.theme import named

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent

    from desktop.core.engine.certificate import TLSFailure, TLSInfo
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
    ("route", "Connection"),
    ("tls", "TLS"),
    ("redirects", "Redirects"),
    ("bytes", "Bytes"),
    ("events", "Events"),
    ("rate", "Events/s"),
    ("idle", "Since last byte"),
    ("other", "Pings · errors"),
)


class ElidedLabel(QLabel):
    """A value that never widens the panel: an id has no space to wrap at, and
    a 48-character Last-Event-ID put a horizontal scroll bar under the panel.
    Drawn elided in the middle (both ends tell ids apart); ``text()`` and the
    tooltip keep it whole."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(
            min(hint.width(), 12 * self.fontMetrics().averageCharWidth()), hint.height()
        )

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(text)
        self.setToolTip(
            text if self.fontMetrics().horizontalAdvance(text) > self.width() else ""
        )

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        room = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideMiddle, room.width()
        )
        self.style().drawItemText(
            QPainter(self),
            room,
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )


class StatePanel(QFrame):
    """Renders a :class:`StreamSession`; the stream view calls :meth:`show_session`."""

    # The certificate a TLS failure refused, to trust for its host (a TLSFailure).
    trustRequested = Signal(object)  # noqa: N815
    caFileRequested = Signal()  # noqa: N815

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
        self.certificate = named(QLabel(), "tlsCertificate")
        self.certificate.setWordWrap(True)
        self.certificate.setTextInteractionFlags(
            self.certificate.textInteractionFlags().TextSelectableByMouse
        )
        self.trust_button = named(
            QPushButton("Trust this certificate for this host"), "trustCertificate"
        )
        self.trust_button.setToolTip(
            "Accept exactly this certificate (by its SHA-256 fingerprint) for this "
            "host and port from now on; revoke it in the TLS tab"
        )
        self.ca_button = named(QPushButton("Use CA file…"), "useCaFile")
        self.ca_button.setToolTip("Trust the CA certificates of a PEM file")
        actions = QHBoxLayout()
        actions.addWidget(self.trust_button)
        actions.addWidget(self.ca_button)
        actions.addStretch(1)
        self.tls_actions = QWidget()
        self.tls_actions.setLayout(actions)
        actions.setContentsMargins(0, 0, 0, 0)
        self.trust_button.clicked.connect(self._trust)
        self.ca_button.clicked.connect(self.caFileRequested)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        for key, title in _FIELDS:
            value = named(ElidedLabel() if key == "last_id" else QLabel(), "stateValue")
            value.setTextInteractionFlags(
                value.textInteractionFlags().TextSelectableByMouse
            )
            self.values[key] = value
            if key == "tls":  # a certificate's subject: let it wrap, not widen
                value.setWordWrap(True)
            form.addRow(named(QLabel(title), "stateKey"), value)
        self.values["route"].setWordWrap(True)  # a proxy URL is long
        self.headers = named(QPlainTextEdit(), "responseHeaders")
        self.headers.setReadOnly(True)
        self.headers.setPlaceholderText("Response headers of the current connection")
        self.headers.setMaximumHeight(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.certificate)
        layout.addWidget(self.tls_actions)
        layout.addLayout(form)
        layout.addWidget(named(QLabel("Response headers"), "stateKey"))
        layout.addWidget(self.headers)
        layout.addStretch(1)
        self._shown: tuple[object, ...] = ()
        self._headers_shown: tuple[tuple[str, str], ...] | None = None
        self._failure: TLSFailure | None = None
        self._show_failure(None)

    def _trust(self) -> None:
        if self._failure is not None:
            self.trustRequested.emit(self._failure)

    def _show_failure(self, failure: TLSFailure | None) -> None:
        """The refused certificate, and what the user can do about it."""
        self._failure = failure
        cert = failure.certificate if failure is not None else None
        self.certificate.setVisible(cert is not None)
        self.tls_actions.setVisible(failure is not None)
        self.trust_button.setVisible(cert is not None)
        if cert is not None:
            names = ", ".join(cert.names) or "none"
            half = len(cert.fingerprint) // 2 + 1  # 16 of the 32 bytes a line
            self.certificate.setText(
                f"Certificate: {_breakable(cert.subject)}\n"
                f"Issuer: {_breakable(cert.issuer)}\n"
                f"Valid: {cert.not_before[:10]} to {cert.not_after[:10]}\n"
                f"Names: {names}\nSHA-256: {cert.fingerprint[:half]}\n"
                f"{cert.fingerprint[half:]}"
            )

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
            failure = session.tls_failure
            # The certificate's details have their own lines below.
            message = failure.headline() if failure is not None else session.message
            self.message.setText(message)
            self.message.setVisible(bool(message))
        idle = None if session.last_byte_at is None else now - session.last_byte_at
        values = {
            "attempt": str(session.attempt) if session.attempt else "—",
            "countdown": "—" if countdown is None else row_text.seconds(countdown),
            "retry": f"{session.retry_ms:,} ms · {_SOURCES[session.retry_source]}",
            "last_id": session.last_event_id or "(none: header not sent)"
            if session.options.send_last_event_id  # off: the naive client
            else f"not sent (option off; last id: {session.last_event_id or 'none'})",
            "status": "—" if session.status is None else str(session.status),
            "route": _route(session),
            "tls": _tls_text(session.tls),
            "redirects": _redirects(session),
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
        if session.tls_failure is not self._failure:
            self._show_failure(session.tls_failure)
        if session.headers != self._headers_shown:
            self._headers_shown = session.headers
            self.headers.setPlainText(
                "\n".join(
                    f"{name}: {mask(value) if is_secret(name) else value}"
                    for name, value in session.headers
                )
            )


def _route(session: StreamSession) -> str:
    """ "HTTP/2 · via proxy http://…" or "… · direct"; the proxy's password masked."""
    via = f"via proxy {session.proxy}" if session.proxy else "direct"
    if session.state is None:
        return "—"
    return f"{session.http_version} · {via}" if session.http_version else via


def _breakable(name: str) -> str:
    """Let word wrap break a distinguished name (it has no spaces) after its
    commas, so the panel keeps its width; fingerprints get lines of their own."""
    return name.replace(",", ",\u200b")


def _tls_text(tls: TLSInfo | None) -> str:
    if tls is None:
        return "—"
    text = f"{tls.version} · {tls.cipher}"
    if tls.certificate is not None:
        cert = tls.certificate
        # Only a pin lets an out-of-date certificate open (the notices bar says so).
        problem = out_of_dates(cert, time.time())
        if problem is TLSProblem.EXPIRED:
            when = f"EXPIRED {cert.not_after[:10]}"
        elif problem is TLSProblem.NOT_YET_VALID:
            when = f"NOT VALID before {cert.not_before[:10]}"
        else:
            when = f"expires {cert.not_after[:10]}"
        text += f"\n{_breakable(cert.subject)}, {when}"
    return text


def _redirects(session: StreamSession) -> str:
    """The current attempt's redirects: status and Location of each hop, and
    the credentials a hop to another origin did not send on."""
    if not session.attempts or not session.attempts[-1].redirects:
        return "—"
    hops = []
    for hop in session.attempts[-1].redirects:
        text = f"{hop.status} → {redact_url(hop.location)}"
        if hop.dropped:
            text += f" (not sent on: {', '.join(hop.dropped)})"
        hops.append(text)
    return "\n".join(hops)


def _badge(session: StreamSession, countdown: float | None) -> str:
    state = session.state
    if state is State.RECONNECTING and countdown is not None:
        return f"Reconnecting in {row_text.seconds(countdown)}"
    if state is State.CLOSED:
        return "Closed — failed" if session.failed else "Closed"
    if state is None:
        return "Not connected"
    return str(state.value).capitalize()
