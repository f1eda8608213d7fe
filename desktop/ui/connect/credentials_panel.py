"""The connection bar's "Credentials" tab: Basic auth, cookies and a cookie file.

The password and the cookies are secrets: typed as passwords (masked until
"Show secrets"), saved to the keyring with a profile, never to the settings file
(desktop/ui/profiles/book.py).  All of them go to the stream's own origin only:
a redirect to another origin drops them (desktop/core/engine/redirects.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from desktop.ui.theme import named

_PASSWORD = QLineEdit.EchoMode.Password
_NORMAL = QLineEdit.EchoMode.Normal


@dataclass(frozen=True, slots=True)
class CredentialsForm:
    user: str = ""
    password: str = ""
    cookies: str = ""
    cookie_file: str = ""


class CredentialsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("credentialsPanel")
        self.user = named(QLineEdit(), "userEdit")
        self.user.setPlaceholderText("Basic auth user (empty: none)")
        self.password = named(QLineEdit(), "passwordEdit")
        self.password.setEchoMode(_PASSWORD)
        self.password.setPlaceholderText("password (kept in the keyring)")
        self.cookies = named(QLineEdit(), "cookiesEdit")
        self.cookies.setEchoMode(_PASSWORD)
        self.cookies.setPlaceholderText("name=value; other=value")
        self.cookie_file = named(QLineEdit(), "cookieFileEdit")
        self.cookie_file.setPlaceholderText("Netscape cookie file (curl -c, exports)")
        browse = named(QToolButton(), "cookieFileBrowse")
        browse.setText("…")
        browse.setToolTip("Choose a cookie file")
        browse.clicked.connect(self._browse)
        auth = QHBoxLayout()
        auth.addWidget(self.user, 1)
        auth.addWidget(self.password, 1)
        file_row = QHBoxLayout()
        file_row.addWidget(self.cookie_file, 1)
        file_row.addWidget(browse)
        form = QFormLayout(self)
        form.setContentsMargins(0, 4, 0, 0)
        form.addRow("Basic auth", auth)
        form.addRow("Cookies", self.cookies)
        form.addRow("Cookie file", file_row)
        note = named(
            QLabel(
                "Sent to this stream's origin only; cookies the server sets are "
                "sent on reconnects. A redirect to another origin drops them all."
            ),
            "credentialsNote",
        )
        note.setWordWrap(True)
        form.addRow(note)
        for edit in (self.user, self.password, self.cookies, self.cookie_file):
            edit.textChanged.connect(self.changed)

    def set_reveal(self, reveal: bool) -> None:
        for edit in (self.password, self.cookies):
            edit.setEchoMode(_NORMAL if reveal else _PASSWORD)

    def form(self) -> CredentialsForm:
        return CredentialsForm(
            self.user.text(),
            self.password.text(),
            self.cookies.text(),
            self.cookie_file.text(),
        )

    def set_form(self, form: CredentialsForm) -> None:
        self.user.setText(form.user)
        self.password.setText(form.password)
        self.cookies.setText(form.cookies)
        self.cookie_file.setText(form.cookie_file)

    def is_set(self) -> bool:
        return any(edit.text() for edit in (self.user, self.cookies, self.cookie_file))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Cookie file")
        if path:
            self.cookie_file.setText(path)
