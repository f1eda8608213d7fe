"""A recording's tab: the note above its read-only connection bar, and Connect live."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.files.redact import MASK
from desktop.ui.limits import limits_of
from desktop.ui.request import RequestForm
from desktop.ui.theme import named

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions
    from desktop.core.files.recording import RecordingHeader, RecordingReader
    from desktop.ui.stream_view import StreamView


def form_of(options: StreamOptions) -> RequestForm:
    """The connection bar's form for a recorded stream's options."""
    body = "" if options.body is None else options.body.decode("utf-8", "replace")
    return RequestForm(
        options.url,
        options.method,
        options.headers,
        body,
        options.retry_ms,
        limits_of(options),
    )


def has_masked_secrets(form: RequestForm) -> bool:
    return MASK in form.url or any(MASK in value for _, value in form.headers)


def saved_on(header: RecordingHeader) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(header.created))


class RecordingBar(QFrame):
    """Says this tab is a recording (what, when, what could not be read) and
    offers to open its URL live in a new tab."""

    connectLiveRequested = Signal()  # noqa: N815

    def __init__(self, header: RecordingHeader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordingBar")
        self.header = header
        self.note = named(QLabel(), "recordingNote")
        self.note.setWordWrap(True)
        self.problems = named(QLabel(), "recordingProblems")
        self.problems.setWordWrap(True)
        self.problems.hide()
        self.live = named(QPushButton("Connect live to this URL"), "connectLive")
        self.live.setToolTip("Open a new tab that connects to the recorded URL")
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(2)
        text.addWidget(self.note)
        text.addWidget(self.problems)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(text, 1)
        layout.addWidget(self.live)
        self.live.clicked.connect(self.connectLiveRequested)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self.show_loading(0)

    def _base(self) -> str:
        header = self.header
        extras = []
        if header.raw:
            extras.append("raw bytes included")
        if header.masked and has_masked_secrets(form_of(header.options)):
            extras.append("secrets were masked")
        extra = f" ({', '.join(extras)})" if extras else ""
        return f"Recording of {header.url}, saved {saved_on(header)}{extra} — read-only"

    def show_loading(self, records: int) -> None:
        self.note.setText(f"{self._base()} · loading… {records:,} records")

    def follow(self, reader: RecordingReader) -> None:
        """Count the records read, 4 times a second, until :meth:`show_loaded`."""
        self._timer.timeout.connect(lambda: self.show_loading(reader.read))
        self._timer.start()

    def show_loaded(self, reader: RecordingReader, error: str = "") -> None:
        self._timer.stop()
        raw = reader.kinds["raw_chunk"]
        rows = reader.read - raw
        reads = f", {raw:,} raw reads" if raw else ""
        self.note.setText(f"{self._base()} · {rows:,} rows{reads}")
        problems = " ".join(part for part in (reader.summary(), error) if part)
        self.problems.setText(problems)
        self.problems.setVisible(bool(problems))


def make_read_only(view: StreamView, bar: RecordingBar) -> None:
    """Put ``bar`` above the view's connection bar and freeze that bar's inputs."""
    layout = view.layout()
    assert isinstance(layout, QVBoxLayout)
    layout.insertWidget(0, bar)
    connection = view.bar
    keep = {connection.more}  # headers and body stay viewable
    for edit in connection.findChildren(QLineEdit):
        edit.setReadOnly(True)
    for text in connection.findChildren(QPlainTextEdit):
        text.setReadOnly(True)
    for widget in (
        *connection.findChildren(QComboBox),
        *connection.findChildren(QAbstractSpinBox),
        *connection.findChildren(QAbstractButton),
    ):
        if widget not in keep and not isinstance(widget, QCheckBox):
            widget.setEnabled(False)
    for table in connection.findChildren(QAbstractItemView):
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    connection.token.hide()
    connection.connect_button.hide()
    connection.stop_button.hide()
    connection.url.setToolTip("This tab shows a recording: the URL cannot change")
