"""The Raw tab: bytes as received, an event's bytes highlighted, bytes -> rows.

Byte-exact cases come from the scripted raw-socket server (each chunk its own
network read); the bound on memory is checked live on the bundled server.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Comment, Event, RawChunk
from desktop.core.engine.state import State
from desktop.ui.raw.view import RawView
from desktop.ui.session import StreamSession
from desktop.ui.settings import settings_path
from desktop.ui.timeline.model import RECORD_ROLE
from desktop.ui.viewer import Viewer

from app_driver import drive, open_stream, until
from rawserver import Hang, RawServer, sse

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from desktop.core.engine.records import Record
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView

# Four reads: a BOM, CRLF endings, a 3-byte "€" split over reads A and B, a CRLF
# split over B and C, CR-only lines, a comment, and an event the close discards.
A = b"\xef\xbb\xbfid: 1\r\ndata: price \xe2\x82"
B = b"\xac 5\r\n\r"
C = b"\nevent: cr\rdata: only CR\r\r: ping\n\n"
D = b"data: partial"
EURO_EVENT = b"id: 1\r\ndata: price \xe2\x82\xac 5\r\n\r\n"
CR_EVENT = b"event: cr\rdata: only CR\r\r"


def _select(view: StreamView, match: object) -> Record:
    proxy = view.proxy
    for row in range(proxy.rowCount()):
        record = proxy.index(row, 0).data(RECORD_ROLE)
        if match(record):  # type: ignore[operator]
            view.table.selectRow(row)
            return record  # type: ignore[no-any-return]
    raise AssertionError("no such row")


async def _settled(raw: RawView) -> None:
    """Wait for the slices: the map made, the window drawn, a selection shown."""
    await until(
        lambda: not raw._wanted and not raw._drawing and raw._pending_row is None,
        20,
        "the raw tab's slices",
    )


def _highlighted(view: StreamView) -> tuple[bytes, str]:
    """The bytes the raw tab highlights, and the text that shows them."""
    return _marked(view.raw)


def _marked(raw: RawView) -> tuple[bytes, str]:
    assert raw._highlight is not None and raw._shown is not None
    start, end = raw._highlight
    data = raw.index.map(raw._shown).bytes(start, end)  # type: ignore[union-attr]
    (selection,) = raw.text.extraSelections()
    return data, _chips(selection.cursor.selectedText().replace("\u2029", "\n"))


def _chips(text: str) -> str:
    """Chips (thin space, label, thin space) as [label], to compare text."""
    return re.sub("\u2009([A-Z ]+)\u2009", r"[\1]", text)


def _shown(view: StreamView) -> str:
    return _chips(view.raw.text.toPlainText())


def _click_text(view: StreamView, needle: str) -> None:
    """Click in the raw text on the first occurrence of ``needle``."""
    text = view.raw.text
    position = text.toPlainText().index(needle) + 1
    cursor = QTextCursor(text.document())
    cursor.setPosition(position)
    text.setTextCursor(cursor)  # scrolled into view: the click lands on it
    text.ensureCursorVisible()
    rect = text.cursorRect(cursor)
    QTest.mouseClick(text.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _selected(view: StreamView) -> Record | None:
    indexes = view.table.selectionModel().selectedRows()
    return indexes[0].data(RECORD_ROLE) if indexes else None


def test_an_events_bytes_are_highlighted_and_bytes_select_their_row(
    loop: AppLoop, viewer: Viewer
) -> None:
    script = sse(A, B, C, D, pause=0.08)
    with RawServer([script], default=(Hang(5),)) as server:

        async def scenario() -> None:
            view = open_stream(viewer, server.url("/stream"))
            session = view.handle.session
            await until(
                lambda: bool(session.attempts) and session.attempts[0].ended_at, 10
            )
            await until(lambda: not session.store.waiting, 2, "the flush")
            log = session.raw.connection(1)
            assert log is not None and [c.data for c in log.chunks] == [A, B, C, D]
            view.filters.comments.setChecked(True)  # comment rows are hidden by default
            view.bottom.setCurrentWidget(view.raw)
            view.refresh()
            shown = _shown(view)
            assert shown.startswith("┄┄ read 1 ·")
            assert "[BOM]id: 1[CR LF]\ndata: price €⟨e2 82…⟩\n┄┄ read 2" in shown
            assert "⟨…ac⟩ 5[CR LF]\n[CR]\n┄┄ read 3" in shown  # CRLF split
            assert (
                "\n[LF]\nevent: cr[CR]\ndata: only CR[CR]\n[CR]\n: ping[LF]\n" in shown
            )
            assert shown.endswith(
                "data: partial\n"
                "┄┄ connection closed: the unfinished event above was discarded ┄┄"
            )

            _select(view, lambda r: isinstance(r, Event) and r.id == "1")
            data, text = _highlighted(view)
            assert data == EURO_EVENT
            assert "price €⟨e2 82…⟩" in text and "⟨…ac⟩ 5[CR LF]" in text
            assert "event 1 of connection 1" in view.raw.info.text()

            _select(view, lambda r: isinstance(r, Event) and r.type == "cr")
            data, text = _highlighted(view)
            assert data == CR_EVENT
            assert text.startswith("event: cr[CR]\ndata: only CR[CR]\n[CR]")

            _click_text(view, "ping")
            selected = _selected(view)
            assert isinstance(selected, Comment) and selected.text == "ping"
            assert "a comment: 'ping'" in view.raw.info.text()
            assert _highlighted(view)[0] == b": ping\n"

            _click_text(view, "price")
            selected = _selected(view)
            assert isinstance(selected, Event) and selected.data == "price € 5"
            assert _highlighted(view)[0] == EURO_EVENT

            _click_text(view, "partial")
            assert "discarded" in view.raw.info.text()
            assert _highlighted(view)[0] == D
            assert _selected(view) is selected  # no row: the selection stays

            view.raw.hex.setChecked(True)
            shown = _shown(view)
            assert "⟨BOM ef bb bf⟩ 69 64 3a 20 31 0d 0a \n" in shown
            data, text = _highlighted(view)  # the highlight stays, now in hex
            assert data == D and text == "64 61 74 61 3a 20 70 61 72 74 69 61 6c "
            _select(view, lambda r: isinstance(r, Event) and r.type == "cr")
            data, text = _highlighted(view)
            assert data == CR_EVENT and text.startswith(
                "65 76 65 6e 74 3a 20 63 72 0d \n"
            )
            view.bar.stop_button.click()

        drive(loop, scenario(), viewer)


def test_the_raw_buffer_keeps_what_the_user_sets_and_says_what_it_dropped(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        url = f"{base}/api/ticker?rate=1000&size=2000&count=100000"
        view = open_stream(viewer, url)
        session = view.handle.session
        view.bottom.setCurrentWidget(view.raw)
        view.raw.keep.setValue(1)
        assert session.raw.limit == 1 << 20
        await until(lambda: session.raw.dropped_bytes > 1 << 20, 20, "drops")
        view.bar.stop_button.click()
        await until(lambda: not view.handle.running and not session.store.waiting, 5)
        view.refresh()
        await _settled(view.raw)
        log = session.raw
        biggest = max(len(c.data) for c in log.chunks())
        assert log.size <= (1 << 20) + biggest
        assert log.dropped_bytes == log.received_bytes - log.size
        assert log.received_bytes == session.received_bytes
        assert "older dropped" in view.raw.note.text()
        # The newest event's bytes are found and hold its data.
        event = None
        proxy = view.proxy
        for row in range(proxy.rowCount() - 1, -1, -1):
            record = proxy.index(row, 0).data(RECORD_ROLE)
            if isinstance(record, Event):
                view.table.selectRow(row)
                event = record
                break
        assert isinstance(event, Event)
        await _settled(view.raw)
        data, _text = _highlighted(view)
        assert event.data.encode() in data and data.endswith(b"\n\n")
        # An event whose bytes were dropped says so.
        first = next(
            r
            for r in range(proxy.rowCount())
            if isinstance(proxy.index(r, 0).data(RECORD_ROLE), Event)
        )
        view.table.selectRow(first)
        await _settled(view.raw)
        assert "no longer kept" in view.raw.info.text()

    drive(loop, scenario(), viewer)


def test_following_a_live_stream_draws_what_a_fresh_drawing_draws(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    """Reads appended at each refresh, the open line drawn again: no drift."""

    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=200&size=30&count=100000")
        session = view.handle.session
        view.bottom.setCurrentWidget(view.raw)
        refreshes = 0
        while session.events < 150:
            view.refresh()
            refreshes += 1
            await asyncio.sleep(0.03)
        view.bar.stop_button.click()
        await until(lambda: not view.handle.running, 5)
        view.refresh()
        await _settled(view.raw)
        followed = view.raw.text.toPlainText()
        assert refreshes > 5 and followed.count("┄┄ read ") > 5
        assert followed.endswith("┄┄ connection closed ┄┄")
        view.raw._show(1, None)  # draw it all again at once
        await _settled(view.raw)
        assert view.raw.text.toPlainText() == followed
        # The newest event found from its row, though drawn in pieces.
        proxy = view.proxy
        last = max(
            r
            for r in range(proxy.rowCount())
            if isinstance(proxy.index(r, 0).data(RECORD_ROLE), Event)
        )
        view.table.selectRow(last)
        await _settled(view.raw)
        data, _text = _highlighted(view)
        event = proxy.index(last, 0).data(RECORD_ROLE)
        assert data.endswith(b"data: " + event.data.encode() + b"\n\n")

    drive(loop, scenario(), viewer)


def test_opening_a_full_buffer_maps_in_slices_and_shows_a_selection_when_ready(
    loop: AppLoop, qtbot: QtBot
) -> None:
    """Mapping ~2 MB of small events takes a long second: the loop never waits."""
    session = StreamSession(StreamOptions(url="http://127.0.0.1:1/"))
    decoder = Decoder(connection=1)
    rows: list[Record] = []
    at = 0.0
    while session.raw.size < 2 << 20:
        at += 0.001
        data = b"".join(b'id: %d\ndata: {"n": %d}\n\n' % (i, i) for i in range(8))
        session.raw.add(RawChunk(data, 1, at, 0.0))
        rows += decoder.feed(data, at, 0.0)
    session.attempt, session.state = 1, State.OPEN
    view = RawView(session, lambda: (rows, 0))
    qtbot.addWidget(view)
    events = [i for i, r in enumerate(rows) if isinstance(r, Event)]
    middle = events[len(events) // 2]

    async def scenario() -> None:
        view.show()
        await asyncio.sleep(0.05)
        gaps: list[float] = []
        last = time.perf_counter()

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

        timer = QTimer()
        timer.setInterval(2)
        timer.timeout.connect(tick)
        timer.start()
        await asyncio.sleep(0.02)
        view.refresh()
        assert view.note.text().startswith("mapping…")
        assert view.index.busy(1)
        view.show_row(middle)  # before the map is ready
        assert "Mapping the bytes" in view.info.text()
        await _settled(view)
        timer.stop()
        # Built at once, 2 MB stall the loop for half a second here; sliced, ~20 ms.
        assert max(gaps) < 0.2, f"the loop waited {max(gaps) * 1000:.0f} ms"
        data, _text = _marked(view)
        record = rows[middle]
        assert isinstance(record, Event)
        assert data == b"id: %s\ndata: %s\n\n" % (
            record.id.encode(),
            record.data.encode(),
        )
        assert f"id {record.id!r}" in view.info.text()
        assert view.note.text() == "2.0 MB kept"

    loop.run_until_complete(asyncio.wait_for(scenario(), 30))


def test_the_keep_setting_is_kept_between_runs(loop: AppLoop, qtbot: QtBot) -> None:
    """ "Keep N MB" chosen in one run bounds the raw bytes of new streams next run."""

    def run(keep: int | None) -> int:
        app = Viewer(None)
        view = app.window.new_stream()
        shown = view.raw.keep.value()
        assert view.handle.session.raw.limit == shown << 20
        if keep is not None:
            view.raw.keep.setValue(keep)
            assert view.handle.session.raw.limit == keep << 20
        loop.run_until_complete(app.shutdown())
        app.window.close()  # saves the settings
        app.window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        gc.collect()
        return shown

    assert run(7) == 4  # the default: 4 MB
    assert run(None) == 7
    path = settings_path()
    assert path is not None and "keepMB=7" in path.read_text("utf-8")
    # A damaged value gives the default, never an error.
    path.write_text(path.read_text("utf-8").replace("keepMB=7", "keepMB=lots"))
    assert run(None) == 4


def test_rows_of_a_read_partly_trimmed_by_retention_find_their_bytes(
    loop: AppLoop, viewer: Viewer
) -> None:
    """Keep 100 rows; one read of 300 rows loses its first 200 and still matches."""
    burst = b"".join(b": c%d\ndata: %d\n\n" % (i, i) for i in range(150))
    script = sse(b"data: first\n\n", burst, pause=0.2, end=Hang(5))
    with RawServer([script], default=(Hang(5),)) as server:

        async def scenario() -> None:
            view = open_stream(viewer, server.url("/stream"))
            view.filters.retention.setValue(100)  # the spin box's least
            view.filters.retention.editingFinished.emit()
            session = view.handle.session
            await until(lambda: session.events == 151 and not session.store.waiting, 10)
            await until(lambda: view.handle.session.store.base > 0, 2, "trimmed")
            view.bottom.setCurrentWidget(view.raw)
            view.refresh()
            await _settled(view.raw)
            for wanted in ("149", "120", "101"):
                record = _select(
                    view, lambda r, w=wanted: isinstance(r, Event) and r.data == w
                )
                await _settled(view.raw)
                data, _text = _highlighted(view)
                assert data == b": c%s\ndata: %s\n\n" % (
                    wanted.encode(),
                    wanted.encode(),
                )
                assert f"data {wanted!r}" in view.raw.info.text(), record
            _click_text(view, "data: 130")
            selected = _selected(view)
            assert isinstance(selected, Event) and selected.data == "130"
            view.bar.stop_button.click()

        drive(loop, scenario(), viewer)


def test_a_selection_made_while_the_tab_is_hidden_survives_a_trim(
    loop: AppLoop, viewer: Viewer
) -> None:
    """The row picked stays the one shown, though retention trims before a look."""
    first = b"".join(b": c%d\ndata: %d\n\n" % (i, i) for i in range(150))
    more = b"".join(b": c%d\ndata: %d\n\n" % (i, i) for i in range(150, 160))
    script = sse(b"data: first\n\n", first, more, pause=1.0, end=Hang(5))
    with RawServer([script], default=(Hang(5),)) as server:

        async def scenario() -> None:
            view = open_stream(viewer, server.url("/stream"))
            view.filters.retention.setValue(100)
            view.filters.retention.editingFinished.emit()
            session = view.handle.session
            await until(lambda: session.events == 151 and not session.store.waiting, 10)
            viewer.controller.flush()
            assert view.bottom.currentWidget() is not view.raw  # hidden
            _select(view, lambda r: isinstance(r, Event) and r.data == "140")
            base = session.store.base
            await until(lambda: session.events == 161, 10, "the second read")
            viewer.controller.flush()
            assert session.store.base > base  # trimmed under the selection
            view.bottom.setCurrentWidget(view.raw)
            view.refresh()
            await _settled(view.raw)
            data, _text = _highlighted(view)
            assert data == b": c140\ndata: 140\n\n"
            view.bar.stop_button.click()

        drive(loop, scenario(), viewer)
