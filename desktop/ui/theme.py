"""Look and feel: where the assets are, the light/dark QSS, state icons and colours."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

import desktop
from desktop.core.engine.state import State

_Named = TypeVar("_Named", bound=QObject)


def assets_dir() -> Path:
    """Wheels ship assets in the package; an editable install uses the repo's."""
    package = Path(desktop.__file__).parent
    shipped = package / "_assets"
    return shipped if shipped.is_dir() else package.parent / "assets"


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours painted by code (models, highlighter); QSS covers the widgets."""

    dark: bool
    state: QColor  # state rows in the timeline
    comment: QColor
    error: QColor
    muted: QColor
    json_key: QColor
    json_string: QColor
    json_number: QColor
    json_literal: QColor
    json_punct: QColor


_LIGHT = Palette(
    False,
    QColor("#6d28d9"),
    QColor("#8a8f98"),
    QColor("#c62828"),
    QColor("#6b7280"),
    QColor("#1d4ed8"),
    QColor("#047857"),
    QColor("#b45309"),
    QColor("#9d174d"),
    QColor("#6b7280"),
)
_DARK = Palette(
    True,
    QColor("#c4b5fd"),
    QColor("#8b93a1"),
    QColor("#f87171"),
    QColor("#9ca3af"),
    QColor("#93c5fd"),
    QColor("#86efac"),
    QColor("#fcd34d"),
    QColor("#f9a8d4"),
    QColor("#9ca3af"),
)


_active = _LIGHT
# Window, text, base, alternate base, button, highlight, placeholder, disabled text
_DARK_ROLES = (
    "#1c1e22",
    "#e5e7eb",
    "#16181c",
    "#202327",
    "#2a2d33",
    "#2563eb",
    "#6b7280",
    "#6b7280",
)


THEMES = ("system", "light", "dark")  # View → Theme; "system" follows the desktop


def is_dark(choice: str) -> bool:
    """Whether the theme ``choice`` (one of :data:`THEMES`) paints dark now."""
    if choice in ("dark", "light"):
        return choice == "dark"
    return wants_dark()


def wants_dark() -> bool:
    """SSE_VIEWER_THEME=dark|light, else the desktop's colour scheme."""
    choice = os.environ.get("SSE_VIEWER_THEME", "").lower()
    if choice in ("dark", "light"):
        return choice == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def palette() -> Palette:
    """Colours for code that paints (models, highlighter), matching the QSS."""
    return _active


def apply(app: QApplication, *, dark: bool | None = None) -> None:
    """Fusion everywhere (same look on every desktop), its palette, and our QSS."""
    global _active
    if dark is None:
        dark = wants_dark()
    _active = _DARK if dark else _LIGHT
    style = QStyleFactory.create("Fusion")
    app.setStyle(style)
    app.setPalette(_dark_palette() if dark else style.standardPalette())
    qss = assets_dir() / "qss"
    parts = [(qss / "base.qss").read_text(encoding="utf-8")]
    parts.append((qss / ("dark.qss" if dark else "light.qss")).read_text("utf-8"))
    icons = (assets_dir() / "icons").as_posix()
    app.setStyleSheet("\n".join(parts).replace("@ICONS@", icons))


def _dark_palette() -> QPalette:
    window, text, base, alternate, button, highlight, placeholder, disabled = (
        QColor(c) for c in _DARK_ROLES
    )
    roles = QPalette.ColorRole
    result = QPalette()
    for role, colour in (
        (roles.Window, window),
        (roles.WindowText, text),
        (roles.Base, base),
        (roles.AlternateBase, alternate),
        (roles.ToolTipBase, button),
        (roles.ToolTipText, text),
        (roles.Text, text),
        (roles.Button, button),
        (roles.ButtonText, text),
        (roles.BrightText, QColor("#ffffff")),
        (roles.Highlight, highlight),
        (roles.HighlightedText, QColor("#ffffff")),
        (roles.Link, QColor("#93c5fd")),
        (roles.PlaceholderText, placeholder),
        (roles.Light, QColor("#3a3e45")),
        (roles.Midlight, QColor("#30343a")),
        (roles.Mid, QColor("#25282d")),
        (roles.Dark, QColor("#121417")),
        (roles.Shadow, QColor("#000000")),
    ):
        result.setColor(role, colour)
    group = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        result.setColor(group, role, disabled)
    return result


@cache
def icon(name: str) -> QIcon:
    return QIcon(str(assets_dir() / "icons" / f"{name}.svg"))


def state_icon(state: State | None, *, failed: bool = False) -> QIcon:
    """The icon of a stream's state (``None``: not started yet)."""
    return icon(f"state-{state_key(state, failed=failed)}")


def state_key(state: State | None, *, failed: bool = False) -> str:
    """The value of the ``state`` property QSS selects on (and the icon's name)."""
    if state is None:
        return "idle"  # not started yet: no attempt so far
    return "failed" if state is State.CLOSED and failed else state.value


def named(widget: _Named, name: str) -> _Named:
    """Set the objectName QSS selects on, inline where the widget is built."""
    widget.setObjectName(name)
    return widget
