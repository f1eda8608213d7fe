"""The File menu's work: save and open recordings, export visible events, copy as curl.

Saving takes what the tab retains (the rows of ``session.store``, shown or not
yet, and on request the raw reads of ``session.raw``) merged in receive order; opening
replays a file's batches into a new read-only tab, so that timeline, attempts,
detail and raw view show what the live stream showed.  Files are written in a
worker thread; dialogs open window-modal with ``open()`` (a nested ``exec()``
would stall the asyncio loop), and failures end in a message, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import re
import time
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.core.engine.records import Event, RawChunk
from desktop.core.files.curl import curl_command
from desktop.core.files.export import ExportFormat, ExportRow, export_rows
from desktop.core.files.recording import (
    RecordingError,
    RecordingReader,
    header_for,
    read_batches,
    save_recording,
)
from desktop.ui import row_text
from desktop.ui.form_error import RequestError
from desktop.ui.recordings.bar import (
    RecordingBar,
    form_of,
    has_masked_secrets,
    make_read_only,
)
from desktop.ui.request import build_options
from desktop.ui.theme import named

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterator,
        Callable,
        Coroutine,
        Iterator,
        Sequence,
    )

    from desktop.core.engine.records import Record
    from desktop.core.store import Row
    from desktop.ui.controller import StreamHandle
    from desktop.ui.stream_view import StreamView
    from desktop.ui.window_api import WindowApi

RECORDING_FILTER = "Recordings (*.ndjson *.jsonl);;All files (*)"
CSV_FILTER = "CSV (*.csv)"
NDJSON_FILTER = "NDJSON (*.ndjson *.jsonl)"


def retained(handle: StreamHandle, raw: bool) -> list[Record]:
    """The records a save writes: the store's rows, shown or waiting, with raw
    reads merged in by receive time (a read's chunk comes before its items, as
    the engine yields them).  Reads older than the first row are left out."""
    rows = handle.session.store.kept()
    if not raw:
        return rows
    chunks = list(raw_chunks(handle))
    if rows:
        start = rows[0].at
        chunks = [chunk for chunk in chunks if chunk.at >= start]
    return list(heapq.merge(chunks, rows, key=attrgetter("at")))


def raw_chunks(handle: StreamHandle) -> Sequence[RawChunk]:
    log = getattr(handle.session, "raw", None)
    return () if log is None else list(log.chunks())


def export_row(row: Row) -> ExportRow:
    event = row if isinstance(row, Event) else None
    return ExportRow(
        row.wall,
        row_text.connection(row),
        event.id if event is not None else "",
        row_text.kind(row),
        row_text.summary(row),
        row_text.data_size(event.data) if event is not None else None,
    )


def visible_rows(view: StreamView) -> list[Row]:
    """The rows the filtered timeline shows, top to bottom."""
    store = view.handle.session.store
    rows, base = store.rows(), store.base
    kept = range(len(rows))
    return [rows[seq - base] for seq in view.proxy.seqs() if seq - base in kept]


def _giving_way(rows: Sequence[Row]) -> Iterator[ExportRow]:
    """``export_row`` of each row, on a worker thread that lets the UI thread
    have the GIL every few hundred rows (it waited up to the switch interval,
    and longer, behind this pure-Python loop)."""
    for i, row in enumerate(rows):
        if not i % 256:
            time.sleep(0)  # releases the GIL
        yield export_row(row)


def suggested_name(url: str, suffix: str) -> str:
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", url.split("://", 1)[-1].split("/")[0])
    return f"{host or 'stream'}-{time.strftime('%Y%m%d-%H%M%S')}.{suffix}"


class SaveDialog(QDialog):
    """What a save will hold: rows, dropped rows, raw bytes (ticked by the user)."""

    def __init__(self, handle: StreamHandle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saveRecordingDialog")
        self.setWindowTitle("Save recording")
        session = handle.session
        store = session.store
        rows = store.published + store.waiting
        self.summary = named(QLabel(), "saveSummary")
        self.summary.setWordWrap(True)
        self.summary.setText(
            f"Save the {rows:,} records this tab holds of "
            f"{handle.recording.url if handle.recording else session.options.url}"
            " as an NDJSON recording; File ▸ Open recording shows it again."
        )
        dropped = store.dropped
        self.dropped = named(QLabel(), "saveDropped")
        self.dropped.setWordWrap(True)
        if dropped:
            first = store.records[:1]
            since = f" It starts at {row_text.clock(first[0].wall)}." if first else ""
            self.dropped.setText(
                f"{dropped:,} older rows were dropped by retention (keep "
                f"{store.retention:,} rows) or cleared and are not in it.{since}"
            )
        self.dropped.setVisible(bool(dropped))
        chunks = raw_chunks(handle)
        size = sum(len(chunk.data) for chunk in chunks)
        self.raw = named(QCheckBox("Include raw bytes"), "includeRaw")
        self.raw.setEnabled(bool(chunks))
        self.raw.setToolTip(
            f"{len(chunks):,} network reads, {row_text.human_bytes(size)}: the Raw "
            "tab of the reopened recording shows them"
            if chunks
            else "No raw bytes are kept for this stream"
        )
        self.secrets = named(
            QCheckBox("Mask secrets (Authorization, cookies, tokens)"), "maskSecrets"
        )
        self.secrets.setChecked(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("Save…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.summary, self.dropped, self.raw, self.secrets, buttons):
            layout.addWidget(widget)


class Recordings:
    """The window's File menu actions; one per window, made on first use.

    ``window`` is the main window as a Qt window (dialog parent, status bar),
    ``api`` the same window's streams (see :mod:`desktop.ui.window_api`).
    """

    def __init__(
        self, window: QMainWindow, api: WindowApi, *, native: bool = True
    ) -> None:
        self.window = window
        self.api = api
        self.native = native  # tests use Qt's own dialogs, which they can drive
        self.directory = str(Path.home())
        self.dialog: QDialog | None = None  # the dialog in front, for tests
        self.message: QMessageBox | None = None
        self.busy: asyncio.Task[None] | None = None  # a save or export under way

    # -- save ----------

    def save(self) -> None:
        view = self.api.current_view()
        if view is None:
            return
        dialog = SaveDialog(view.handle, self.window)
        dialog.accepted.connect(
            lambda: self._save_to(
                view.handle, raw=dialog.raw.isChecked(), mask=dialog.secrets.isChecked()
            )
        )
        self._show(dialog)

    def _save_to(self, handle: StreamHandle, *, raw: bool, mask: bool) -> None:
        url = handle.recording.url if handle.recording else handle.session.options.url
        self._choose_file(
            "Save recording",
            suggested_name(url, "ndjson"),
            RECORDING_FILTER,
            lambda path, _filter: self.save_file(handle, path, raw=raw, mask=mask),
            save=True,
        )

    def save_file(
        self, handle: StreamHandle, path: str, *, raw: bool, mask: bool = True
    ) -> asyncio.Task[None]:
        """Save ``handle``'s records to ``path`` in a worker thread."""
        records = retained(handle, raw)
        reads = sum(1 for r in records if r.__class__ is RawChunk) if raw else 0
        session = handle.session
        header = header_for(
            session.options,
            raw=raw and reads > 0,
            mask=mask,
            clock=handle.now(),
            received_bytes=session.received_bytes,
            rows=len(records),
        )
        name = Path(path).name

        async def work() -> None:
            try:
                count = await asyncio.to_thread(save_recording, path, header, records)
            except RecordingError as exc:
                self.show_error("Cannot save the recording", str(exc))
            else:
                also = f" and {reads:,} raw reads" if reads else ""
                self.status(f"Saved {count - reads:,} rows{also} to {name}")

        return self._run(work())

    # -- open ----------

    def open(self) -> None:
        self._choose_file(
            "Open recording",
            "",
            RECORDING_FILTER,
            lambda path, _filter: self.open_file(path),
            save=False,
        )

    def open_file(self, path: str) -> StreamView | None:
        """A new read-only tab with the recording at ``path``, or a message."""
        try:
            reader = RecordingReader.open(path)
        except RecordingError as exc:
            self.show_error("Cannot open the recording", f"{Path(path).name}: {exc}")
            return None
        header = reader.header
        controller = self.api.controller
        handle = controller.new_recording_stream(
            header, _batches(reader), form_of(header.options)
        )
        view = self.api.add_stream(handle)
        bar = RecordingBar(header)
        make_read_only(view, bar)
        bar.follow(reader)
        bar.connectLiveRequested.connect(lambda: self.connect_live(handle))

        def loaded(task: asyncio.Task[None]) -> None:
            if not isValid(bar):  # the tab was closed while it loaded
                return
            error = ""
            if not task.cancelled() and task.exception() is not None:
                error = f"Reading stopped: {task.exception()}"
            bar.show_loaded(reader, error)
            view.refresh()

        assert handle.task is not None
        handle.task.add_done_callback(loaded)
        return view

    def connect_live(self, handle: StreamHandle) -> StreamView:
        """A new live tab for a recording's URL; masked secrets must be re-entered."""
        form = handle.form
        view = self.api.add_stream(self.api.controller.new_stream(form))
        if has_masked_secrets(form):
            view.bar.more.setChecked(True)
            view.bar.show_error(
                "The recording masked its secrets: enter the real values "
                "(e.g. the bearer token), then Connect."
            )
        else:
            view.connect_stream()
        return view

    # -- export and curl ----------

    def export(self) -> None:
        view = self.api.current_view()
        if view is None:
            return
        url = view.handle.session.options.url
        self._choose_file(
            "Export visible events",
            suggested_name(url, "csv"),
            f"{CSV_FILTER};;{NDJSON_FILTER}",
            lambda path, chosen: self.export_file(view, path, _format(path, chosen)),
            save=True,
        )

    def export_file(
        self, view: StreamView, path: str, fmt: ExportFormat | None = None
    ) -> asyncio.Task[None]:
        """Write the rows the filtered timeline shows to ``path``.

        Each row's text is made on the worker too: for 100k rows that took ~1 s
        of the UI loop when done here.
        """
        rows = visible_rows(view)
        name = Path(path).name

        def write() -> int:
            return export_rows(path, _giving_way(rows), fmt)

        async def work() -> None:
            try:
                count = await asyncio.to_thread(write)
            except OSError as exc:
                self.show_error("Cannot export", f"{name}: {exc.strerror or exc}")
            else:
                self.status(f"Exported {count:,} rows to {name}")

        return self._run(work())

    def copy_curl(self) -> str:
        """Put the current tab's request on the clipboard as a curl command."""
        view = self.api.current_view()
        if view is None:
            return ""
        handle = view.handle
        options, last_id = handle.session.options, handle.session.last_event_id
        if handle.recording is None:  # what the form says now, not the last connect
            try:
                options = build_options(view.bar.form())
            except RequestError as exc:
                self.status(f"Cannot copy the request: {exc.message}")
                return ""
            if options.url != handle.session.options.url:
                last_id = options.last_event_id  # the last id is another stream's
        command = curl_command(options, last_id)
        QGuiApplication.clipboard().setText(command)
        masked = has_masked_secrets(handle.form)
        note = " (the recording masked its secrets)" if masked else ""
        self.status(f"Copied the request as a curl command{note}")
        return command

    # -- plumbing ----------

    def _run(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = self.api.controller.spawn(coro)
        self.busy = task
        return task

    def _choose_file(
        self,
        title: str,
        name: str,
        filters: str,
        then: Callable[[str, str], object],
        *,
        save: bool,
    ) -> None:
        dialog = QFileDialog(self.window, title, self.directory, filters)
        dialog.setObjectName("recordingFileDialog")
        if not self.native:
            dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        if save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            dialog.selectFile(name)
            # A name typed without an extension gets the chosen filter's.
            dialog.setDefaultSuffix(_suffix(filters.split(";;")[0]))
            dialog.filterSelected.connect(lambda f: dialog.setDefaultSuffix(_suffix(f)))
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)

        def chosen() -> None:
            files = dialog.selectedFiles()
            if files:
                self.directory = str(Path(files[0]).parent)
                then(files[0], dialog.selectedNameFilter())

        dialog.accepted.connect(chosen)
        self._show(dialog)

    def _show(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.open()

    def show_error(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setObjectName("recordingMessage")
        self.message = box
        box.open()

    def status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)


def _suffix(name_filter: str) -> str:
    """``CSV (*.csv)`` → ``csv``; "" for ``All files (*)``."""
    match = re.search(r"\*\.(\w+)", name_filter)
    return match.group(1) if match else ""


def _format(path: str, chosen_filter: str) -> ExportFormat:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return ExportFormat.CSV
    if suffix in (".ndjson", ".jsonl", ".json"):
        return ExportFormat.NDJSON
    return ExportFormat.CSV if chosen_filter == CSV_FILTER else ExportFormat.NDJSON


async def _batches(reader: RecordingReader) -> AsyncIterator[list[Record]]:
    """The recording's batches; the file is closed however the reading ends."""
    try:
        async with contextlib.aclosing(read_batches(reader)) as batches:
            async for batch in batches:
                yield batch
    finally:
        reader.close()
