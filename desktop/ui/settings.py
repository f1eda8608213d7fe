"""The app's one QSettings store, with typed reads that never trust the file.

Where it lives: Qt's per-user place for organisation and application
"sse-viewer" in INI format (``~/.config/sse-viewer/sse-viewer.ini`` on Linux).
Set ``SSE_VIEWER_CONFIG_DIR`` to keep it somewhere else instead
(``$SSE_VIEWER_CONFIG_DIR/sse-viewer.ini``): tests use a temporary directory, and
a user can keep a portable or per-project configuration.

The file is hand-editable, so every read is typed and checked: a value of the
wrong type, out of range, or a file that is not INI at all gives the default,
never an exception.  Secrets never go here (``keychain.py`` keeps them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QByteArray, QSettings

if TYPE_CHECKING:
    from collections.abc import Iterable

APP = "sse-viewer"
ENV_DIR = "SSE_VIEWER_CONFIG_DIR"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_Choice = TypeVar("_Choice", bound=str)


def settings_path() -> Path | None:
    """The INI file ``SSE_VIEWER_CONFIG_DIR`` points at, or None for Qt's place."""
    directory = os.environ.get(ENV_DIR, "").strip()
    return Path(directory).expanduser() / f"{APP}.ini" if directory else None


class Settings:
    """Typed get/set over one QSettings; ``problem`` says why a file was unusable."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or settings_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.qt = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.qt = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP, APP
            )
        self.qt.setFallbacksEnabled(False)  # no system-wide file mixed in

    @property
    def path(self) -> str:
        return self.qt.fileName()

    @property
    def problem(self) -> str:
        """Why the file could not be read or written ("" when it is fine)."""
        status = self.qt.status()
        if status == QSettings.Status.AccessError:
            return f"Settings file {self.path} cannot be read or written."
        if status == QSettings.Status.FormatError:
            return f"Settings file {self.path} is damaged; defaults are used."
        return ""

    # -- typed reads ----------

    def text(self, key: str, default: str = "") -> str:
        value = self.qt.value(key)
        if isinstance(value, str):
            return value
        return default

    def integer(
        self, key: str, default: int, low: int | None = None, high: int | None = None
    ) -> int:
        value = self.qt.value(key)
        if isinstance(value, bool):
            return default
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                return default
        if not isinstance(value, int):
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.qt.value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        return default

    def choice(self, key: str, choices: Iterable[_Choice], default: _Choice) -> _Choice:
        value = self.qt.value(key)
        return next((c for c in choices if c == value), default)

    def texts(self, key: str) -> list[str]:
        """A list of strings; a lone string (INI writes a 1-list so) is a 1-list."""
        value = self.qt.value(key)
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        return []

    def integers(
        self, key: str, count: int, low: int = 0, high: int = 100_000
    ) -> list[int]:
        """Exactly ``count`` integers in range, or [] (sizes and widths)."""
        values = self.texts(key)
        try:
            numbers = [int(v) for v in values]
        except ValueError:
            return []
        if len(numbers) != count or any(not low <= n <= high for n in numbers):
            return []
        return numbers

    def blob(self, key: str) -> QByteArray | None:
        """Bytes Qt saved (geometry, dock state), or None."""
        value = self.qt.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- writes ----------

    def set(self, key: str, value: object) -> None:
        self.qt.setValue(key, value)

    def set_integers(self, key: str, values: Iterable[int]) -> None:
        self.qt.setValue(key, [str(v) for v in values])

    def remove(self, key: str) -> None:
        self.qt.remove(key)

    def sync(self) -> None:
        self.qt.sync()
