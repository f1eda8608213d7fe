"""Look and feel: where the assets are, the light/dark QSS, state icons and colours."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QStyleFactory

import desktop
from desktop.ui.session import Phase

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


def is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def palette() -> Palette:
    return _DARK if is_dark() else _LIGHT


def apply(app: QApplication, *, dark: bool | None = None) -> None:
    """Fusion everywhere (same look on every desktop) plus our QSS for the scheme."""
    if dark is None:
        dark = is_dark()
    app.setStyle(QStyleFactory.create("Fusion"))
    if dark:
        QGuiApplication.styleHints().setColorScheme(Qt.ColorScheme.Dark)
    qss = assets_dir() / "qss"
    parts = [(qss / "base.qss").read_text(encoding="utf-8")]
    parts.append((qss / ("dark.qss" if dark else "light.qss")).read_text("utf-8"))
    app.setStyleSheet("\n".join(parts))


@cache
def icon(name: str) -> QIcon:
    return QIcon(str(assets_dir() / "icons" / f"{name}.svg"))


def state_icon(phase: Phase, *, failed: bool = False) -> QIcon:
    if phase is Phase.CLOSED and failed:
        return icon("state-failed")
    return icon(f"state-{phase.value}")


def state_key(phase: Phase, *, failed: bool = False) -> str:
    """The value of the ``state`` property QSS selects on."""
    return "failed" if phase is Phase.CLOSED and failed else phase.value


def named(widget: _Named, name: str) -> _Named:
    """Set the objectName QSS selects on, inline where the widget is built."""
    widget.setObjectName(name)
    return widget
