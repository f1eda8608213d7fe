"""The notices bar: one stream's warnings, one short dismissible row each.

Renders what ``desktop.core.insight.advice.Advisor`` says; decides nothing.  A row shows
an icon, the title, why it matters and what to do on one elided line (all of it,
and the latest case, in the tooltip), how many times, and a dismiss button.  A
dismissed warning stays hidden for that stream until Clear or a new connect
(:meth:`NoticesBar.clear`), even when it happens again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import row_text
from desktop.ui.theme import named

if TYPE_CHECKING:
    from PySide6.QtGui import QResizeEvent

    from desktop.core.insight.advice import Advice

# Warnings about the network path (and the server's certificate); the others are
# about the stream's own bytes.
_NETWORK = frozenset({"compressed", "bursts", "idle", "pinned-out-of-dates"})
_ICON_PX = 16


class ElidedLabel(QLabel):
    """A one-line label that ends in … when narrower than its text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        self.setText(
            metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, self.width())
        )


class NoticeRow(QFrame):
    """One warning: icon, title, why and what on one line, count, dismiss."""

    dismissed = Signal(str)  # the advice key

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeRow")
        self.key = key
        self.setProperty("network", key in _NETWORK)
        pixmap = (
            QStyle.StandardPixmap.SP_MessageBoxWarning
            if key in _NETWORK
            else QStyle.StandardPixmap.SP_MessageBoxInformation
        )
        self.icon = named(QLabel(), "noticeIcon")
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(_ICON_PX))
        self.title = named(QLabel(), "noticeTitle")
        self.text = ElidedLabel()
        self.text.setObjectName("noticeText")
        self.count = named(QLabel(), "noticeCount")
        self.close_button = named(QToolButton(), "noticeDismiss")
        self.close_button.setText("\N{MULTIPLICATION SIGN}")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss until Clear or a new connect")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 2, 4, 2)
        layout.setSpacing(8)
        layout.addWidget(self.icon)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(lambda: self.dismissed.emit(self.key))
        self._shown: Advice | None = None

    def show_advice(self, advice: Advice) -> None:
        # Called at 4 Hz with a fresh Advice each time: relabel only on a change.
        if advice == self._shown:
            return
        self._shown = advice
        self.title.setText(advice.title)
        self.text.set_full_text(f"{advice.why} {advice.action}")
        self.count.setText(f"\N{MULTIPLICATION SIGN}{advice.count:,}")
        self.count.setVisible(advice.count > 1)
        since = row_text.clock(advice.first_wall)
        tip = [f"<b>{_html(advice.title)}</b>", _html(advice.why), _html(advice.action)]
        if advice.detail:
            tip.append(f"<i>Latest: {_html(advice.detail)}</i>")
        tip.append(f"{advice.count:,} times since {since}")
        self.setToolTip("<p>" + "</p><p>".join(tip) + "</p>")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class NoticesBar(QFrame):
    """The stack of rows under a stream's banner; hidden while there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticesBar")
        self._rows: dict[str, NoticeRow] = {}
        self._dismissed: set[str] = set()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.hide()

    def show_warnings(self, warnings: list[Advice]) -> None:
        """Add, update or keep rows; cheap when nothing changed (4 Hz)."""
        for advice in warnings:
            if advice.key in self._dismissed:
                continue
            row = self._rows.get(advice.key)
            if row is None:
                row = NoticeRow(advice.key)
                row.dismissed.connect(self.dismiss)
                self._rows[advice.key] = row
                self._layout.addWidget(row)
            row.show_advice(advice)
        self.setVisible(bool(self._rows))

    def dismiss(self, key: str) -> None:
        self._dismissed.add(key)
        row = self._rows.pop(key, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self.setVisible(bool(self._rows))

    def clear(self) -> None:
        """Forget rows and dismissals (Clear, a new connect)."""
        self._dismissed.clear()
        for key in list(self._rows):
            self.dismiss(key)
        self._dismissed.clear()

    def keys(self) -> list[str]:
        """The keys shown, top to bottom."""
        return list(self._rows)

    def row(self, key: str) -> NoticeRow | None:
        return self._rows.get(key)
