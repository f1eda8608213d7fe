"""The connection bar's "TLS" tab: whom to trust, and the client certificate.

Edits a :class:`~desktop.ui.tls.TLSForm`: a CA file, "Don't verify" (the
stream's tab then carries a badge for as long as it is on), a client
certificate and key with the key's passphrase (kept in the keychain by
profiles), and the certificates trusted by fingerprint, each revocable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)

from desktop.ui.theme import named
from desktop.ui.tls import TLSForm, pin_text

if TYPE_CHECKING:
    from desktop.core.engine.transport import TrustedCertificate

_PEM = "PEM files (*.pem *.crt *.cer *.key);;All files (*)"


class TLSPanel(QWidget):
    """Edits a :class:`TLSForm`; ``changed`` when anything is edited."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tlsPanel")
        self._trusted: tuple[TrustedCertificate, ...] = ()
        self.no_verify = named(
            QCheckBox("Don't verify certificates (insecure)"), "tlsNoVerify"
        )
        self.no_verify.setToolTip(
            "Accept any certificate, as curl -k does: anyone on the path can read "
            "and change the stream. The stream's tab says so while this is on."
        )
        self.ca_file = self._path_edit("tlsCaFile", "system trust store only")
        self.cert = self._path_edit("tlsClientCert", "none")
        self.key = self._path_edit("tlsClientKey", "in the certificate file")
        self.passphrase = named(QLineEdit(), "tlsKeyPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("if the key is encrypted")
        self.passphrase.setToolTip("Kept in the system keychain with the profile")
        self.passphrase.textChanged.connect(self.changed)
        self.trusted = named(QListWidget(), "tlsTrusted")
        self.trusted.setMaximumHeight(64)
        self.trusted.setToolTip(
            "Certificates trusted for one host by their SHA-256 fingerprint"
        )
        self.revoke = named(QPushButton("Revoke"), "tlsRevoke")
        self.revoke.setToolTip("Stop trusting the selected certificate")
        self.revoke.clicked.connect(self._revoke)
        self.trusted.itemSelectionChanged.connect(self._selection)
        self.no_verify.toggled.connect(self.changed)

        grid = QGridLayout(self)
        grid.setContentsMargins(4, 6, 4, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.no_verify, 0, 0, 1, 3)
        rows = (
            ("CA file", self.ca_file, "Use CA file…", "tlsCaFileBrowse"),
            ("Client certificate", self.cert, "Choose…", "tlsCertBrowse"),
            ("Client key", self.key, "Choose…", "tlsKeyBrowse"),
        )
        for row, (label, edit, button_text, name) in enumerate(rows, 1):
            caption = QLabel(label)
            caption.setBuddy(edit)
            button = named(QPushButton(button_text), name)
            button.clicked.connect(lambda _=False, e=edit: self.browse(e))
            grid.addWidget(caption, row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(button, row, 2)
        grid.addWidget(QLabel("Key passphrase"), 4, 0)
        grid.addWidget(self.passphrase, 4, 1)
        grid.addWidget(QLabel("Trusted certificates"), 5, 0)
        trusted = QHBoxLayout()
        trusted.addWidget(self.trusted, 1)
        trusted.addWidget(self.revoke)
        grid.addLayout(trusted, 5, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(6, 1)
        self._selection()

    def _path_edit(self, name: str, placeholder: str) -> QLineEdit:
        edit = named(QLineEdit(), name)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.textChanged.connect(self.changed)
        return edit

    def browse(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", edit.text(), _PEM)
        if path:
            edit.setText(path)

    def _selection(self) -> None:
        self.revoke.setEnabled(bool(self.trusted.selectedItems()))

    def _revoke(self) -> None:
        row = self.trusted.currentRow()
        if 0 <= row < len(self._trusted):
            self.set_form(self.form().revoking(self._trusted[row]))
            self.changed.emit()

    def form(self) -> TLSForm:
        return TLSForm(
            verify=not self.no_verify.isChecked(),
            ca_file=self.ca_file.text(),
            client_cert=self.cert.text(),
            client_key=self.key.text(),
            key_passphrase=self.passphrase.text(),
            trusted=self._trusted,
        )

    def set_form(self, form: TLSForm) -> None:
        self.no_verify.setChecked(not form.verify)
        self.ca_file.setText(form.ca_file)
        self.cert.setText(form.client_cert)
        self.key.setText(form.client_key)
        self.passphrase.setText(form.key_passphrase)
        self._trusted = form.trusted
        self.trusted.clear()
        self.trusted.addItems([pin_text(pin) for pin in form.trusted])
        self._selection()
        self.changed.emit()

    def use_ca_file(self) -> bool:
        """ "Use CA file…" from a certificate error; True if one was chosen."""
        before = self.ca_file.text()
        self.browse(self.ca_file)
        return self.ca_file.text() != before
