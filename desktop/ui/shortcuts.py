"""Help → Keyboard shortcuts: every menu action that has keys, plus the keys
that only work inside one field, listed from the live menus (so entries other
modules add show up too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import named

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMenu, QMenuBar

# Keys handled by a widget, not by a menu action.
FIELD_KEYS = (
    ("Search field", "Enter", "Next match"),
    ("Search field", "Shift+Enter", "Previous match"),
    ("URL field", "Enter", "Connect"),
    ("URL field", "Down", "Recent URLs matching what is typed"),
)


def keys_text(action: QAction) -> str:
    return ", ".join(
        k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
    )


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, keys, command) for every action with a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu: QMenu, title: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if sub is not None:
                walk(sub, f"{title} → {_plain(action.text())}")  # type: ignore[arg-type]
            elif not action.isSeparator() and action.shortcuts():
                rows.append((title, keys_text(action), _plain(action.text())))

    for top in bar.actions():
        menu = top.menu()
        if menu is not None:
            walk(menu, _plain(top.text()))  # type: ignore[arg-type]
    return rows


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


class ShortcutsDialog(QDialog):
    """A read-only table: where, keys, what."""

    def __init__(self, bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = menu_shortcuts(bar) + list(FIELD_KEYS)
        self.table = named(QTableWidget(len(rows), 3), "shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Where", "Keys", "Command"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def rows(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        for r in range(self.table.rowCount()):
            where, keys, what = (self.table.item(r, c) for c in range(3))
            if where is not None and keys is not None and what is not None:
                rows.append((where.text(), keys.text(), what.text()))
        return rows
