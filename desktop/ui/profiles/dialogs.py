"""The two profile dialogs: "Save as profile…" and "Manage profiles…"."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import named


def _notice(text: str) -> QLabel:
    label = named(QLabel(text), "keyringNotice")
    label.setWordWrap(True)
    label.setVisible(bool(text))
    return label


class SaveProfileDialog(QDialog):
    """Asks for a name; says where secrets will go (keyring or this session)."""

    def __init__(
        self,
        name: str,
        taken: list[str],
        *,
        has_secrets: bool,
        notice: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("saveProfileDialog")
        self.setWindowTitle("Save as profile")
        self._taken = set(taken)
        self.name = named(QLineEdit(name), "profileName")
        self.name.selectAll()
        self.hint = named(QLabel(), "profileHint")
        self.notice = _notice(notice if has_secrets else "")
        self.session_only = named(
            QCheckBox("Keep the secrets for this session only"), "sessionOnly"
        )
        self.session_only.setChecked(True)
        self.session_only.setToolTip(
            "Secrets stay in memory until the app quits; unticked, the profile "
            "is saved without them"
        )
        self.session_only.setVisible(has_secrets and bool(notice))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Profile name:"))
        layout.addWidget(self.name)
        layout.addWidget(self.hint)
        layout.addWidget(self.notice)
        layout.addWidget(self.session_only)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(self._check)
        self._check(name)
        self.setMinimumWidth(420)

    def _check(self, text: str) -> None:
        name = " ".join(text.split())
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(bool(name))
        self.hint.setText(
            f"Replaces the profile {name!r}." if name in self._taken else ""
        )
        self.hint.setVisible(name in self._taken)

    def chosen_name(self) -> str:
        return " ".join(self.name.text().split())


class ManageProfilesDialog(QDialog):
    """Rename, duplicate, delete or load profiles; intents go out as signals."""

    loadRequested = Signal(str)  # noqa: N815
    renameRequested = Signal(str, str)  # noqa: N815
    duplicateRequested = Signal(str)  # noqa: N815
    deleteRequested = Signal(str)  # noqa: N815

    def __init__(
        self, names: list[str], notice: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("manageProfilesDialog")
        self.setWindowTitle("Manage profiles")
        self.list = named(QListWidget(), "profileList")
        self.load = named(QPushButton("Load"), "loadProfile")
        self.rename = named(QPushButton("Rename…"), "renameProfile")
        self.duplicate = named(QPushButton("Duplicate"), "duplicateProfile")
        self.delete = named(QPushButton("Delete"), "deleteProfile")
        self.notice = _notice(notice)
        self.error = named(QLabel(), "formError")
        self.error.setWordWrap(True)
        self.error.hide()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)

        side = QVBoxLayout()
        for button in (self.load, self.rename, self.duplicate, self.delete):
            side.addWidget(button)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.notice)
        layout.addWidget(close)

        close.rejected.connect(self.reject)
        self.list.currentRowChanged.connect(lambda _row: self._enable())
        self.list.itemDoubleClicked.connect(lambda _item: self._load())
        self.load.clicked.connect(self._load)
        self.rename.clicked.connect(self._rename)
        self.duplicate.clicked.connect(self._duplicate)
        self.delete.clicked.connect(self._delete)
        self.set_names(names)
        self.resize(480, 320)

    def set_names(self, names: list[str], current: str = "") -> None:
        keep = current or self.selected()
        self.list.clear()
        self.list.addItems(names)
        rows = [i for i, name in enumerate(names) if name == keep]
        self.list.setCurrentRow(rows[0] if rows else (0 if names else -1))
        self._enable()

    def selected(self) -> str:
        item = self.list.currentItem()
        return item.text() if item is not None else ""

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def _enable(self) -> None:
        chosen = bool(self.selected())
        for button in (self.load, self.rename, self.duplicate, self.delete):
            button.setEnabled(chosen)

    def _load(self) -> None:
        if self.selected():
            self.loadRequested.emit(self.selected())
            self.accept()

    def _rename(self) -> None:
        old = self.selected()
        new, ok = QInputDialog.getText(
            self, "Rename profile", "New name:", QLineEdit.EchoMode.Normal, old
        )
        if ok and new.strip() and new.strip() != old:
            self.renameRequested.emit(old, new)

    def _duplicate(self) -> None:
        if self.selected():
            self.duplicateRequested.emit(self.selected())

    def _delete(self) -> None:
        name = self.selected()
        if not name:
            return
        answer = QMessageBox.question(
            self,
            "Delete profile",
            f"Delete the profile {name!r} and its stored secrets?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(name)
