"""The timeline on the real engine and server: model checks, batches, filters, pause."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QStyleOptionViewItem

from desktop.core.engine.records import Comment, Event
from desktop.core.engine.state import State
from desktop.ui.timeline.model import CONN, DATA, DELTA, RECORD_ROLE

from app_driver import api_async, drive, open_stream, until

if TYPE_CHECKING:
    from pytestqt.modeltest import ModelTester

    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer


def test_model_and_proxy_pass_qt_model_checks_while_fed_and_trimmed(
    loop: AppLoop, viewer: Viewer, base: str, qtmodeltester: ModelTester
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=0&size=80&count=3000")
        viewer.controller.set_retention(view.handle, 1000)
        qtmodeltester.check(view.handle.timeline)
        qtmodeltester.check(view.proxy)
        inserts: list[tuple[int, int]] = []
        view.handle.timeline.rowsInserted.connect(
            lambda _p, a, b: inserts.append((a, b))
        )
        removes: list[int] = []
        view.handle.timeline.rowsRemoved.connect(lambda _p, a, b: removes.append(b - a))
        session = view.handle.session
        await until(lambda: session.state is State.CLOSED, 20, "the ticker to end")
        await until(lambda: not session.store.waiting, 5, "the last flush")
        model = view.handle.timeline
        assert session.events == 3000
        assert model.rowCount() == 1000  # retention
        assert model.store.dropped + model.rowCount() >= 3000
        rows = model.store.rows()
        ticks = [r for r in rows if isinstance(r, Event)]
        assert [int(t.id) for t in ticks] == list(range(3000 - len(ticks), 3000))
        # batched: far fewer insertions than rows, and one removal per trimming flush
        assert len(inserts) < 3000 / 5
        assert len(removes) <= len(inserts)
        view.refresh()
        assert f"{model.store.dropped:,} dropped" in view.filters.counts.text()

    drive(loop, scenario(), viewer)


async def _job_stream(viewer: Viewer, base: str, steps: int = 6) -> tuple[object, str]:
    job = await api_async(
        base,
        "POST",
        "/api/jobs",
        {"kind": "countdown", "params": {"steps": steps, "interval_s": 0.01}},
    )
    assert isinstance(job, dict)
    view = open_stream(viewer, base + str(job["events_url"]))
    session = view.handle.session
    await until(lambda: session.state is State.CLOSED, 15, "the job stream to close")
    await until(lambda: view.proxy.rowCount() > steps, 5, "rows to show")
    return view, str(job["id"])


def test_filter_by_type_search_regex_and_state_rows(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view, _job = await _job_stream(viewer, base)
        view.refresh()  # the type list is built from what arrived
        types = view.filters.types.names()
        assert {"status", "progress", "log", "end"} <= types
        proxy = view.proxy

        def shown() -> list[object]:
            return [
                proxy.index(r, 0).data(RECORD_ROLE) for r in range(proxy.rowCount())
            ]

        everything = shown()
        assert any(not isinstance(r, Event) for r in everything)  # state rows

        type_list = view.filters.types.list
        (log_item,) = [
            type_list.item(i)
            for i in range(type_list.count())
            if type_list.item(i).text() == "log"
        ]
        log_item.setCheckState(Qt.CheckState.Unchecked)
        assert all(not (isinstance(r, Event) and r.type == "log") for r in shown())
        assert view.filters.types_button.text() == "Types (1 hidden)"

        view.filters.states.setChecked(False)
        assert all(isinstance(r, Event) for r in shown())

        log_item.setCheckState(Qt.CheckState.Checked)
        view.filters.search.setText("t-minus 3")
        await until(lambda: len(shown()) == 1, 3, "the search to apply")
        (hit,) = shown()
        assert isinstance(hit, Event) and "T-minus 3" in hit.data

        view.filters.regex.setChecked(True)
        view.filters.search.setText(r"T-minus [12]\b")
        await until(lambda: len(shown()) == 2, 3, "the regex to apply")

        view.filters.search.setText("T-minus (")
        await until(
            lambda: bool(view.filters.search.property("invalid")), 3, "an error"
        )
        assert len(shown()) == 2  # a bad regex leaves the last good filter in force
        assert "regular expression" in view.filters.search.toolTip()

        view.filters.search.clear()
        view.filters.regex.setChecked(False)
        await until(lambda: not view.filters.search.property("invalid"), 3, "no error")

    drive(loop, scenario(), viewer)


def test_only_this_connection_and_comment_rows(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/events")  # stats each second, pings
        session = view.handle.session
        await until(lambda: session.events >= 1, 10, "events on connection 1")
        await api_async(base, "POST", "/api/lab/drop")
        await until(
            lambda: session.attempt >= 2 and session.state is State.OPEN,
            10,
            "reconnect",
        )
        await until(
            lambda: session.attempts[-1].events >= 3, 10, "events on connection 2"
        )
        await until(lambda: session.comments >= 1, 5, "a ping")
        view.filters.this_connection.setChecked(True)  # the current one: 2
        proxy = view.proxy
        rows = [proxy.index(r, 0).data(RECORD_ROLE) for r in range(proxy.rowCount())]
        assert rows and all(
            getattr(r, "connection", 2) == 2 for r in rows if isinstance(r, Event)
        )
        assert not any(isinstance(r, Comment) for r in rows)
        view.filters.comments.setChecked(True)
        await until(
            lambda: any(
                isinstance(proxy.index(r, 0).data(RECORD_ROLE), Comment)
                for r in range(proxy.rowCount())
            ),
            5,
            "ping rows",
        )

    drive(loop, scenario(), viewer)


def test_pause_holds_rows_back_and_counts_them_then_resume_shows_all(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=200&size=10&count=100000")
        session = view.handle.session
        await until(lambda: view.handle.timeline.rowCount() > 10, 10, "rows")
        view.filters.pause.click()
        await until(lambda: not session.store.waiting or session.paused, 2)
        frozen = view.handle.timeline.rowCount()
        await until(lambda: session.waiting > 50, 10, "rows to wait")
        view.refresh()
        assert view.handle.timeline.rowCount() == frozen
        assert "waiting" in view.filters.waiting.text()
        assert view.filters.pause.text() == "Resume"
        view.filters.pause.click()
        await until(
            lambda: session.waiting == 0 and not session.store.waiting, 5, "the flush"
        )
        events = [r for r in view.handle.session.store.rows() if isinstance(r, Event)]
        ids = [int(e.id) for e in events]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # nothing lost or repeated
        view.refresh()
        assert view.filters.waiting.text() == ""

    drive(loop, scenario(), viewer)


def test_auto_scroll_follows_the_tail_unless_scrolled_up(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=300&size=10&count=100000")
        table = view.table
        await until(lambda: view.proxy.rowCount() > 200, 10, "enough rows to scroll")
        await until(table.at_bottom, 3, "following the tail")
        table.verticalScrollBar().setValue(0)
        count = view.proxy.rowCount()
        await until(lambda: view.proxy.rowCount() > count + 50, 5, "more rows")
        assert table.verticalScrollBar().value() == 0
        table.scrollToBottom()
        count = view.proxy.rowCount()
        await until(lambda: view.proxy.rowCount() > count + 50, 5, "more rows")
        assert table.at_bottom()

    drive(loop, scenario(), viewer)


def test_the_tail_is_still_followed_when_the_notices_bar_appears(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    """The bar shrinks the table (the scroll range grows under a still value):
    following must go on, it ended here before (nobody scrolled up)."""

    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=300&size=10")
        view.bar.idle.setValue(1)
        table = view.table
        await until(lambda: view.proxy.rowCount() > 200, 10, "enough rows to scroll")
        await until(table.at_bottom, 3, "following the tail")
        height = table.viewport().height()
        await api_async(base, "POST", "/api/lab/stall", {"seconds": 1.5})
        await until(lambda: view.notices.row("idle") is not None, 5, "the notice")
        await until(lambda: table.viewport().height() < height, 2, "a shorter table")
        count = view.proxy.rowCount()
        await until(lambda: view.proxy.rowCount() > count + 50, 10, "more rows")
        assert table.at_bottom()

    drive(loop, scenario(), viewer)


def test_retention_drops_oldest_with_a_count_and_clear_resets(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=0&size=10&count=5000")
        view.filters.retention.setValue(500)
        view.filters.retention.editingFinished.emit()
        session = view.handle.session
        await until(
            lambda: session.state is State.CLOSED and not session.store.waiting, 20
        )
        model = view.handle.timeline
        assert model.rowCount() == 500
        view.refresh()
        assert f"{model.store.dropped:,} dropped" in view.filters.counts.text()
        assert model.store.dropped + 500 >= 5000
        view.filters.clear.click()
        view.refresh()
        assert model.rowCount() == 0 and model.store.dropped == 0
        assert "dropped" not in view.filters.counts.text()

    drive(loop, scenario(), viewer)


def test_detail_pane_pretty_prints_and_colours_json_and_copies(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view, _job = await _job_stream(viewer, base)
        proxy = view.proxy
        row = next(
            r
            for r in range(proxy.rowCount())
            if isinstance(proxy.index(r, 0).data(RECORD_ROLE), Event)
            and proxy.index(r, 0).data(RECORD_ROLE).type == "progress"
        )
        view.table.selectRow(row)
        record = proxy.index(row, 0).data(RECORD_ROLE)
        detail = view.detail
        assert detail.row is record
        text = detail.shown_text()
        assert text == json.dumps(json.loads(record.data), indent=2, ensure_ascii=False)
        assert text.startswith("{\n  ")
        assert "JSON" in detail.title.text()
        assert detail.highlighter.enabled
        block = detail.text.document().firstBlock().next()  # '  "job": "…",'
        formats = block.layout().formats()
        assert len({f.format.foreground().color().name() for f in formats}) >= 2
        detail.copy_text.click()
        assert QGuiApplication.clipboard().text() == record.data
        detail.copy_json.click()
        copied = json.loads(QGuiApplication.clipboard().text())
        assert copied["type"] == "progress" and copied["id"] == record.id
        assert copied["data"] == record.data

        log_row = next(
            r
            for r in range(proxy.rowCount())
            if isinstance(proxy.index(r, 0).data(RECORD_ROLE), Event)
            and proxy.index(r, 0).data(RECORD_ROLE).type == "log"
        )
        view.table.selectRow(log_row)
        assert view.detail.row is proxy.index(log_row, 0).data(RECORD_ROLE)

    drive(loop, scenario(), viewer)


def test_cells_keep_their_own_style_when_the_delegate_reuses_its_roles(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    """multiData fills a span the delegate reuses: nothing may leak between cells."""

    async def scenario() -> None:
        view, _job = await _job_stream(viewer, base)
        proxy, delegate = view.proxy, view.table.itemDelegate()
        rows = [proxy.index(r, 0).data(RECORD_ROLE) for r in range(proxy.rowCount())]
        state = next(r for r, rec in enumerate(rows) if not isinstance(rec, Event))
        event = next(r for r, rec in enumerate(rows) if isinstance(rec, Event))
        styles = {}
        for row in (state, event, state, event):  # alternate: a leak would show
            for column in (DELTA, CONN, DATA):
                option = QStyleOptionViewItem()
                delegate.initStyleOption(option, proxy.index(row, column))
                align = option.displayAlignment
                styles[row, column] = (
                    option.font.italic(),
                    bool(align & Qt.AlignmentFlag.AlignRight),
                    option.palette.color(option.palette.ColorRole.Text).name(),
                    bool(align & Qt.AlignmentFlag.AlignHCenter),
                )
        assert styles[state, DATA][0] and not styles[event, DATA][0]  # italics
        assert styles[state, DELTA][1] and styles[event, DELTA][1]  # numbers right
        assert not styles[state, DATA][1] and not styles[event, DATA][1]
        assert styles[state, DATA][2] != styles[event, DATA][2]  # state colour
        # the connection number centred, not against the ID beside it ("1 1")
        assert styles[state, CONN][3] and styles[event, CONN][3]
        assert not styles[event, DELTA][3]

    drive(loop, scenario(), viewer)


def test_the_tail_is_followed_again_after_a_search_is_cleared_or_the_url_changes(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    from desktop.ui.request import RequestForm

    async def more_rows_at_the_bottom(view: StreamView) -> None:
        count = view.proxy.rowCount()
        await until(lambda: view.proxy.rowCount() > count + 250, 10, "more rows")
        assert view.table.at_bottom()

    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=300&size=10&count=100000")
        await until(lambda: view.proxy.rowCount() > 200, 10, "enough rows to scroll")
        await until(view.table.at_bottom, 3, "following the tail")
        view.table.selectRow(3)  # a row looked at once, then back to the tail
        view.table.scrollToBottom()
        view.filters.search.setText("1")
        view.apply_filter()
        view.filters.search.clear()
        view.apply_filter()
        await more_rows_at_the_bottom(view)

        view.filters.search.setText("1")  # a result picked: it stays in view
        view.apply_filter()
        view.table.selectRow(0)
        picked = view.detail.row
        view.filters.search.clear()
        view.apply_filter()
        assert not view.table.at_bottom()
        index = view.table.selectionModel().selectedRows()[0]
        assert index.data(RECORD_ROLE) is picked

        view.bar.set_form(RequestForm(f"{base}/api/ticker?rate=300&size=12"))
        view.bar.connect_button.click()
        await until(lambda: view.proxy.rowCount() < 100, 5, "a fresh list")
        await more_rows_at_the_bottom(view)

    drive(loop, scenario(), viewer)
