"""Recordings, export and copy as curl, on the real bundled server."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Event, RawChunk
from desktop.core.files.curl import curl_command
from desktop.core.files.recording import RecordingReader, header_for, save_recording
from desktop.ui.recordings.actions import Recordings, SaveDialog, visible_rows
from desktop.ui.recordings.bar import RecordingBar

from app_driver import api_async, drive, open_stream, until

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.session import AttemptRow
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer

ROOT = Path(__file__).resolve().parents[2]
_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def _recordings(app: Viewer) -> Recordings:
    app.window.recordings = Recordings(app.window, app.window, native=False)
    return app.window.recordings


def _attempts(rows: list[AttemptRow]) -> list[tuple[object, ...]]:
    return [
        (
            a.number,
            a.url,
            a.last_event_id,
            a.status,
            a.outcome,
            a.delay_asked_ms,
            a.delay_waited_ms,
            a.started_at,
            a.ended_at,
            a.events,
        )
        for a in rows
    ]


async def _choose(recordings: Recordings, path: Path) -> None:
    """What a user does in the file dialog: type the name, press Save/Open."""
    await until(lambda: isinstance(recordings.dialog, QFileDialog), what="file dialog")
    dialog = recordings.dialog
    assert isinstance(dialog, QFileDialog)
    dialog.selectFile(str(path))
    dialog.accept()


async def _dropped_stream(app: Viewer, base: str) -> StreamView:
    """A ticker the lab drops once: two attempts, a resume with Last-Event-ID."""
    view = open_stream(app, f"{base}/api/ticker?rate=200&size=24&count=100000")
    session = view.handle.session
    await until(lambda: session.events >= 20, what="events")
    await api_async(base, "POST", "/api/lab/drop")
    await until(lambda: len(session.attempts) >= 2, what="a reconnect")
    before = session.events
    await until(lambda: session.events >= before + 20, what="events after")
    task = app.controller.stop(view.handle)
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    app.controller.flush()
    return view


def test_a_recording_round_trips_through_the_menus(
    loop: AppLoop, viewer: Viewer, base: str, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)
    path = tmp_path / "ticker.ndjson"

    async def run() -> None:
        live = await _dropped_stream(viewer, base)
        session = live.handle.session
        assert session.attempts[1].last_event_id  # it resumed
        viewer.window.file_action("save")
        dialog = recordings.dialog
        assert isinstance(dialog, SaveDialog)
        assert dialog.raw.isEnabled() and not dialog.dropped.isVisible()
        dialog.raw.setChecked(True)
        dialog.accept()
        await _choose(recordings, path)
        await until(lambda: recordings.busy is not None and recordings.busy.done())
        rows, reads = live.handle.timeline.rowCount(), len(list(session.raw.chunks()))
        saved = f"Saved {rows:,} rows and {reads:,} raw reads to ticker.ndjson"
        assert viewer.window.statusBar().currentMessage() == saved

        viewer.window.file_action("open")
        await _choose(recordings, path)
        reopened = viewer.window.current_view()
        assert reopened is not None and reopened is not live
        handle = reopened.handle
        assert handle.recording is not None and handle.task is not None
        await asyncio.gather(handle.task)
        viewer.controller.flush()
        reopened.refresh()

        assert handle.session.store.rows() == live.handle.session.store.rows()
        assert _attempts(handle.session.attempts) == _attempts(session.attempts)
        assert handle.attempts.rowCount() == len(session.attempts) >= 2
        assert [c.data for c in handle.session.raw.chunks()] == [
            c.data for c in session.raw.chunks()
        ]
        assert handle.session.received_bytes == session.received_bytes
        assert handle.session.last_event_id == session.last_event_id

        # the detail of the same row reads the same
        for view in (live, reopened):
            proxy = view.proxy
            row = next(
                i
                for i in range(proxy.rowCount())
                if isinstance(visible_rows(view)[i], Event)
            )
            view.table.selectRow(row)
        assert reopened.detail.shown_text() == live.detail.shown_text() != ""
        assert reopened.detail.title.text() == live.detail.title.text()

        bar = reopened.findChild(RecordingBar)
        assert bar is not None
        assert bar.note.text().startswith(f"Recording of {session.options.url}, saved")
        assert (
            "read-only" in bar.note.text() and "raw bytes included" in bar.note.text()
        )
        assert bar.note.text().endswith(f" · {rows:,} rows, {reads:,} raw reads")
        assert not bar.problems.isVisible()
        assert not reopened.bar.connect_button.isVisible()
        assert reopened.bar.url.isReadOnly()
        assert reopened.title().startswith("Recording: /api/ticker")
        # Connect cannot turn the recording into a live stream
        assert "read-only" in viewer.controller.connect_stream(handle, handle.form)
        live_again = recordings.connect_live(handle)
        await until(lambda: live_again.handle.session.events > 0, what="live events")

    drive(loop, run(), viewer)


def test_without_raw_bytes_there_are_none_but_the_byte_count_stays(
    loop: AppLoop, viewer: Viewer, base: str, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)
    path = tmp_path / "plain.ndjson"

    async def run() -> None:
        live = await _dropped_stream(viewer, base)
        await recordings.save_file(live.handle, str(path), raw=False)
        with RecordingReader.open(path) as reader:
            kinds = {type(r) for r in reader.records()}
        assert RawChunk not in kinds and Event in kinds
        view = recordings.open_file(str(path))
        assert view is not None and view.handle.task is not None
        await view.handle.task
        viewer.controller.flush()
        assert view.handle.session.store.rows() == live.handle.session.store.rows()
        assert list(view.handle.session.raw.chunks()) == []
        assert view.handle.session.received_bytes == live.handle.session.received_bytes

    drive(loop, run(), viewer)


def test_a_bad_file_gets_a_message_and_no_tab(
    loop: AppLoop, viewer: Viewer, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)
    junk = tmp_path / "junk.ndjson"
    junk.write_bytes(b"\x00\x01 not json\n")
    tabs = viewer.window.tabs.count()
    assert recordings.open_file(str(junk)) is None
    assert viewer.window.tabs.count() == tabs
    box = recordings.message
    assert isinstance(box, QMessageBox)
    assert "junk.ndjson: not an sse-viewer recording" in box.text()
    box.close()


def test_bad_lines_are_listed_in_the_recording_bar(
    loop: AppLoop, viewer: Viewer, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)
    path = tmp_path / "damaged.ndjson"
    events = [
        Event("tick", str(i), str(i), None, 1, float(i), 1e9 + i) for i in range(3)
    ]
    options = StreamOptions("http://h/x", headers=(("Authorization", "Bearer s3cret"),))
    save_recording(path, header_for(options, raw=False), events)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(
        b"".join([*lines[:2], b"{oops\n", *lines[2:], b'{"record":"x"}\n'])
    )

    async def run() -> None:
        view = recordings.open_file(str(path))
        assert view is not None and view.handle.task is not None
        await view.handle.task
        viewer.controller.flush()
        assert view.handle.session.store.rows() == events
        bar = view.findChild(RecordingBar)
        assert bar is not None and bar.problems.isVisible()
        assert "line 3: not JSON" in bar.problems.text()
        assert "1 record of kinds this version does not know" in bar.problems.text()
        assert "secrets were masked" in bar.note.text()
        # Connect live opens a new tab, but waits for the real token
        live = recordings.connect_live(view.handle)
        assert live is viewer.window.current_view() and not live.handle.running
        assert "masked its secrets" in live.bar.error.text()
        assert live.bar.form().url == "http://h/x"

    drive(loop, run(), viewer)


def test_closing_a_recording_tab_while_it_loads_stops_and_closes_the_file(
    loop: AppLoop, viewer: Viewer, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)
    path = tmp_path / "big.ndjson"
    events = (
        Event("tick", "x" * 40, str(i), None, 1, i / 1000, 1e9 + i)
        for i in range(20_000)
    )
    save_recording(path, header_for(StreamOptions("http://h/big"), raw=False), events)

    async def run() -> None:
        view = recordings.open_file(str(path))
        assert view is not None and view.handle.task is not None
        task = view.handle.task
        await asyncio.sleep(0)
        viewer.window.close_current()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert view.handle not in viewer.controller.handles
        assert view.handle.session.events < 20_000

    drive(loop, run(), viewer)


def test_export_writes_exactly_the_visible_rows(
    loop: AppLoop, viewer: Viewer, base: str, tmp_path: Path
) -> None:
    recordings = _recordings(viewer)

    async def run() -> None:
        live = await _dropped_stream(viewer, base)
        live.filters.search.setText("1")  # ids and data holding a 1
        live.filters.states.setChecked(False)
        live.apply_filter()
        shown = visible_rows(live)
        total = live.handle.timeline.rowCount()
        assert 0 < len(shown) < total
        assert all(isinstance(row, Event) for row in shown)
        await recordings.export_file(live, str(tmp_path / "v.csv"))
        await recordings.export_file(live, str(tmp_path / "v.ndjson"))
        with (tmp_path / "v.csv").open(newline="", encoding="utf-8") as file:
            table = list(csv.DictReader(file))
        lines = (tmp_path / "v.ndjson").read_text(encoding="utf-8").splitlines()
        objects = [json.loads(line) for line in lines]
        expected = [(row.id, row.type, row.data) for row in shown]  # type: ignore[union-attr]
        assert [(r["id"], r["type"], r["data"]) for r in table] == expected
        assert [(o["id"], o["type"], o["data"]) for o in objects] == expected
        assert objects[0]["connection"] == shown[0].connection  # type: ignore[union-attr]
        assert int(table[0]["size"]) == len(shown[0].data.encode())  # type: ignore[union-attr]

        # through the menu: a name without extension gets the filter's (CSV first)
        viewer.window.file_action("export")
        await _choose(recordings, tmp_path / "menu")
        await until(lambda: recordings.busy is not None and recordings.busy.done())
        assert (tmp_path / "menu.csv").read_bytes() == (tmp_path / "v.csv").read_bytes()

    drive(loop, run(), viewer)


def test_the_save_dialog_says_what_retention_dropped(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    recordings = _recordings(viewer)

    async def run() -> None:
        live = await _dropped_stream(viewer, base)
        total = live.handle.timeline.rowCount()
        viewer.controller.set_retention(live.handle, 10)
        recordings.save()
        dialog = recordings.dialog
        assert isinstance(dialog, SaveDialog)
        assert not dialog.dropped.isHidden()
        assert f"{total - 10:,} older rows were dropped" in dialog.dropped.text()
        assert "Save the 10 records" in dialog.summary.text()
        dialog.reject()

    drive(loop, run(), viewer)


def test_the_app_opens_a_recording_at_start(loop: AppLoop, tmp_path: Path) -> None:
    from desktop.ui.viewer import Viewer

    path = tmp_path / "start.ndjson"
    events = [
        Event("tick", str(i), str(i), None, 1, float(i), 1e9 + i) for i in range(5)
    ]
    save_recording(path, header_for(StreamOptions("http://h/s"), raw=False), events)
    app = Viewer(None)
    app.recording = str(path)

    async def run() -> None:
        app.start()
        view = app.window.current_view()
        assert view is not None and view.handle.recording is not None
        assert view.handle.task is not None
        await view.handle.task
        app.controller.flush()
        assert view.handle.session.store.rows() == events
        assert len(app.window.views()) == 1

    try:
        drive(loop, run(), app)
    finally:
        app.window.close()
        app.window.deleteLater()


def test_copy_as_curl_puts_a_working_command_on_the_clipboard(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    recordings = _recordings(viewer)
    assert shutil.which("curl"), (
        "curl is part of the test system (apt-get install curl)"
    )

    async def run() -> None:
        view = open_stream(
            viewer, f"{base}/api/ticker?rate=20&count=10", headers=(("X-Trace", "t 1"),)
        )
        session = view.handle.session
        await until(lambda: session.events >= 3, what="events")
        last = session.last_event_id
        command = recordings.copy_curl()
        assert QGuiApplication.clipboard().text() == command
        assert command == curl_command(session.options, last)
        assert f"Last-Event-ID: {last}" in command and "'X-Trace: t 1'" in command
        done = await asyncio.to_thread(
            subprocess.run,
            ["sh", "-c", command],
            capture_output=True,
            timeout=20,
            check=False,
        )
        out = done.stdout.decode()
        ids = [line[4:] for line in out.splitlines() if line.startswith("id: ")]
        assert ids and int(ids[0]) == int(last) + 1, out[:500]  # resumed after it

    drive(loop, run(), viewer)


def test_copy_as_curl_copies_what_the_form_says_now(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    from desktop.ui.request import RequestForm

    recordings = _recordings(viewer)

    async def run() -> None:
        url = f"{base}/api/ticker?rate=50&count=100000"
        view = open_stream(viewer, url, headers=(("X-Trace", "t 1"),))
        session = view.handle.session
        await until(lambda: session.events >= 3, what="events")
        view.bar.set_form(RequestForm(url, headers=(("X-Trace", "t 2"),)))
        command = recordings.copy_curl()
        assert "'X-Trace: t 2'" in command and "t 1" not in command
        assert "Last-Event-ID" in command  # the same stream: it resumes
        other = f"{base}/api/ticker?rate=5&count=3"
        view.bar.set_form(RequestForm(other))
        command = recordings.copy_curl()
        assert other in command and "Last-Event-ID" not in command
        assert "X-Trace" not in command

    drive(loop, run(), viewer)


def test_open_on_the_command_line_refuses_a_bad_file_before_qt(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"format": "har"}\n')
    # No display at all: had Qt been reached first, it would say so instead.
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY_VARS}
    for target, why in (
        (bad, 'no "format": "sse-viewer-recording"'),
        (tmp_path / "missing.ndjson", "No such file"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "open", str(target)],
            capture_output=True,
            timeout=30,
            cwd=ROOT,
            env=env,
            check=False,
        )
        assert done.returncode == 2
        lines = done.stderr.decode().splitlines()
        assert len(lines) == 1, lines
        assert (
            lines[0].startswith(f"sse-viewer: cannot open {target}") and why in lines[0]
        )
        assert done.stdout == b""


def test_exporting_100k_rows_keeps_the_ui_loop_on_time(
    loop: AppLoop, viewer: Viewer, tmp_path: Path
) -> None:
    import time

    from desktop.core.engine.records import Connecting

    recordings = _recordings(viewer)
    view = viewer.window.add_stream(viewer.controller.new_stream())
    url = "http://127.0.0.1:9/s"
    batch: list[object] = [Connecting(1, url, "", 0.0, 1e9)]
    batch += [
        Event("tick", f'{{"n": {i}, "v": "abcdefgh"}}', str(i), None, 1, i, 1e9 + i)
        for i in range(100_000)
    ]
    view.handle.session.ingest(batch)  # type: ignore[arg-type]
    viewer.controller.flush()

    async def run() -> None:
        await asyncio.sleep(0.5)  # the 100k rows' first layout and paint
        late: list[float] = []
        done = asyncio.Event()

        async def ticks() -> None:
            while not done.is_set():
                before = time.monotonic()
                await asyncio.sleep(0.01)
                late.append(time.monotonic() - before - 0.01)

        ticker = asyncio.ensure_future(ticks())
        await asyncio.sleep(0.05)
        await recordings.export_file(view, str(tmp_path / "big.csv"))
        done.set()
        await ticker
        assert (tmp_path / "big.csv").stat().st_size > 3_000_000
        # ~1 s before the rows' text moved to the worker; ~40 ms here, idle.
        assert max(late) < 0.25, f"the loop was {max(late) * 1000:.0f} ms late"

    drive(loop, run(), viewer)
