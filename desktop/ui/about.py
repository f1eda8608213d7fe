"""Help → About, README and Copy diagnostics: what a bug report needs, in one place.

The diagnostics are plain text for pasting into a report: versions, platform, the
servers, and each tab's stream.  URLs go through ``redact_url`` (tokens in the
query string are masked) and no header is included, so nothing secret leaves.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import PySide6
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from desktop import __version__
from desktop.core.files.redact import redact_url
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.ui.window_api import WindowApi

README = Path(__file__).resolve().parents[2] / "README.md"  # the source checkout's


def versions(server: str) -> list[tuple[str, str]]:
    """(what, version) rows: the app, Python, Qt and the server in use."""
    return [
        ("sse-viewer", __version__),
        ("Python", f"{platform.python_version()} ({sys.implementation.name})"),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Server", server or "none answered yet"),
        ("System", platform.platform()),
    ]


def diagnostics(api: WindowApi, server: str) -> str:
    """The text "Copy diagnostics" puts on the clipboard."""
    lines = [f"{what}: {version}" for what, version in versions(server)]
    lines.append(f"Qt platform: {QGuiApplication.platformName()}")
    handles = api.controller.handles
    lines.append(f"Streams: {len(handles)}")
    for number, handle in enumerate(handles, 1):
        session = handle.session
        state = "idle" if session.state is None else session.state.value
        source = "recording" if handle.recording is not None else "live"
        lines.append(
            f"  {number}. {redact_url(session.options.url)} ({source}): {state}, "
            f"{len(session.attempts)} attempt(s), {session.events:,} events, "
            f"status {session.status or '-'}"
            + (f", {session.message}" if session.message else "")
        )
    return "\n".join(lines)


class AboutDialog(QDialog):
    """The versions, as selectable text."""

    def __init__(self, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About sse-viewer")
        title = named(QLabel("sse-viewer"), "aboutTitle")
        blurb = QLabel(
            "Watch, debug and teach Server-Sent Events: a desktop viewer, a "
            "headless tail and a bundled SSE server."
        )
        blurb.setWordWrap(True)
        rows = "".join(
            f"<tr><td><b>{what}</b>&nbsp;&nbsp;</td><td>{value}</td></tr>"
            for what, value in versions(server)
        )
        self.table = named(QLabel(f"<table>{rows}</table>"), "aboutVersions")
        self.table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)


def open_readme() -> str:
    """Open the README in the desktop's viewer; returns what to tell the user."""
    if not README.is_file():
        return "The README is not installed with this copy of the app."
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(README))):
        return f"No program could open {README}"
    return f"Opened {README.name}"
