"""The notices bar: each warning fires on a lab or scripted case, none on clean streams.

The bundled server's lab makes the network cases (gzip, a buffering proxy, a
stall); the scripted raw server makes the spec traps byte for byte.  The view's
4 Hz refresh is what feeds the bar, so the tests call ``refresh`` as it would.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from desktop.core.engine.records import Event, Notice, NoticeKind
from desktop.core.engine.state import State
from desktop.ui import row_text
from desktop.ui.timeline import payload
from desktop.ui.timeline.model import DATA, TYPE

from app_driver import api_async, drive, open_stream, until
from rawserver import Hang, RawServer, respond, sse

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer


def shown(view: StreamView) -> list[str]:
    view.refresh()
    return view.notices.keys() if view.notices.isVisible() else []


async def until_shown(view: StreamView, key: str, limit_s: float = 10.0) -> None:
    await until(lambda: key in shown(view), limit_s, f"the {key!r} notice")


def test_clean_streams_raise_no_warning(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        ticker = open_stream(viewer, f"{base}/api/ticker?rate=300&size=64")
        events = open_stream(viewer, f"{base}/api/events")
        await until(lambda: ticker.handle.session.events >= 600, 15, "ticker events")
        await until(lambda: events.handle.session.events >= 2, 10, "stats events")
        for view in (ticker, events):
            assert view.handle.session.state is State.OPEN
            assert shown(view) == []
            assert view.handle.session.advisor.warnings() == []
            assert not view.notices.isVisible()

    drive(loop, scenario(), viewer)


def test_a_gzipped_stream_is_named(loop: AppLoop, viewer: Viewer, base: str) -> None:
    async def scenario() -> None:
        await api_async(base, "POST", "/api/lab/encoding", {"mode": "gzip"})
        view = open_stream(viewer, f"{base}/api/ticker?rate=50&size=32")
        await until_shown(view, "compressed")
        row = view.notices.row("compressed")
        assert row is not None
        assert row.title.text() == "Compressed response (Content-Encoding: gzip)"
        assert "flushes after every event" in row.text.full_text()
        await until(lambda: view.handle.session.events >= 5, 10, "events still come")

    drive(loop, scenario(), viewer)


def test_a_buffering_proxy_shows_bursts_though_no_header_asks_for_them(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        # ~90-byte ticks at 20/s held back until 1,500 bytes pile up: a burst of
        # ~16 events about every 0.8 s.
        await api_async(
            base, "POST", "/api/lab/encoding", {"mode": "buffer", "buffer_bytes": 1500}
        )
        view = open_stream(viewer, f"{base}/api/ticker?rate=20&size=64")
        await until_shown(view, "bursts", 15)
        (advice,) = [
            a for a in view.handle.session.advisor.warnings() if a.key == "bursts"
        ]
        assert advice.count >= 3
        # The bundled server sends X-Accel-Buffering: no and Cache-Control:
        # no-cache, no-transform: the lab's proxy buffers all the same, so no
        # header is to blame (tests/core/insight/test_advice_stream.py names them).
        assert advice.detail == ""
        row = view.notices.row("bursts")
        assert row is not None
        assert "no header gives it away" in row.text.full_text()
        assert "no header gives it away" in row.toolTip()

    drive(loop, scenario(), viewer)


def test_a_stall_longer_than_the_idle_threshold(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=20&size=16")
        view.bar.idle.setValue(1)  # the user's threshold, in the request options
        assert view.handle.session.advisor.idle_after_s == 1
        await until(lambda: view.handle.session.events >= 3, 10, "events")
        await asyncio.sleep(1.2)
        assert "idle" not in shown(view), "a steady stream is not idle"
        await api_async(base, "POST", "/api/lab/stall", {"seconds": 2.0})
        await until_shown(view, "idle", 5)
        row = view.notices.row("idle")
        assert row is not None
        assert row.title.text() == "No byte for over 1 s"
        assert ": ping" in row.text.full_text()

    drive(loop, scenario(), viewer)


# The jobs panel asks any stream's server for /api/info: not a stream script.
NO_INFO = {"/api/info": respond(404, b"not here")}
TRAPS = (
    b"retry: 5s\n\n"
    b"id: 1\nevent: status\ndata: a\n\n"
    b"id\ndata: b\n\n"
    b"id: x\x00y\ndata: c\n\n"
    b"event: done\n\n"
    b"data: unfinished\n"
)


def test_spec_traps_show_as_notices_rows_and_detail(
    loop: AppLoop, viewer: Viewer
) -> None:
    with RawServer(paths=NO_INFO) as raw:
        raw.add(sse(TRAPS), sse(b"data: again\n\n", end=Hang()))

        async def scenario() -> None:
            view = open_stream(viewer, raw.url())
            expected = [
                "retry-ignored",
                "id-reset",
                "id-nul",
                "no-data",
                "unnamed-mixed",
                "discarded",
            ]
            await until(
                lambda: sorted(shown(view)) == sorted(expected), 10, "every notice"
            )
            await until(lambda: not view.handle.session.store.waiting, 2, "the flush")
            rows = view.handle.session.store.rows()
            notices = [r for r in rows if isinstance(r, Notice)]
            assert [n.kind for n in notices] == [
                NoticeKind.RETRY_IGNORED,
                NoticeKind.ID_RESET,
                NoticeKind.ID_NUL,
                NoticeKind.NO_DATA,
                NoticeKind.DISCARDED,
            ]
            assert [r.data for r in rows if isinstance(r, Event)][:3] == [
                "a",
                "b",
                "c",
            ]
            # Rows: like state rows, in the timeline and the detail pane.
            proxy = view.proxy
            kinds = _kinds(view)
            assert kinds.count("notice") == 5
            first = kinds.index("notice")
            assert "retry: '5s' is not all ASCII digits" in str(
                proxy.index(first, DATA).data()
            )
            view.table.selectRow(first)
            assert view.detail.title.text() == "notice"
            assert "Send whole milliseconds" in view.detail.shown_text()
            assert row_text.summary(notices[0]).startswith("retry-ignored — ")
            assert "sends no Last-Event-ID" in payload.payload(notices[1])
            view.filters.states.setChecked(False)  # hidden with the state rows
            await until(lambda: "notice" not in _kinds(view), 2, "notices hidden")

        drive(loop, scenario(), viewer)


def _kinds(view: StreamView) -> list[str]:
    proxy = view.proxy
    return [proxy.index(i, TYPE).data() for i in range(proxy.rowCount())]


def test_dismissed_stays_dismissed_until_clear_or_connect(
    loop: AppLoop, viewer: Viewer
) -> None:
    with RawServer(paths=NO_INFO) as raw:
        raw.add(
            sse(b"retry: x\n\nevent: a\n\n", b"retry: y\n\n", pause=0.4, end=Hang())
        )
        raw.add(sse(b"retry: z\n\n", end=Hang()))

        async def scenario() -> None:
            view = open_stream(viewer, raw.url())
            await until(lambda: shown(view) == ["retry-ignored", "no-data"], 5, "two")
            row = view.notices.row("retry-ignored")
            assert row is not None
            row.close_button.click()
            assert shown(view) == ["no-data"]
            advisor = view.handle.session.advisor
            await until(lambda: advisor.warnings()[0].count == 2, 5, "the second")
            assert shown(view) == ["no-data"], "dismissed stays dismissed"
            view.filters.clearRequested.emit()
            assert shown(view) == [] and not view.notices.isVisible()
            view.bar.connect_button.click()  # Reconnect: a new connect
            await until(lambda: shown(view) == ["retry-ignored"], 5, "back again")
            row = view.notices.row("retry-ignored")
            assert row is not None and not row.count.isVisible()

        drive(loop, scenario(), viewer)


def test_a_server_that_ignores_last_event_id_is_flagged(
    loop: AppLoop, viewer: Viewer
) -> None:
    ticks = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(1, 6))
    with RawServer(paths=NO_INFO) as raw:
        raw.add(sse(b"retry: 10\n\n", ticks), sse(ticks, end=Hang()))

        async def scenario() -> None:
            view = open_stream(viewer, raw.url())
            await until_shown(view, "ids-repeated")
            row = view.notices.row("ids-repeated")
            assert row is not None and not row.count.isVisible()

        drive(loop, scenario(), viewer)


def test_a_rule_broken_on_every_event_gets_a_few_rows_and_a_count(
    loop: AppLoop, viewer: Viewer
) -> None:
    from desktop.core.insight.notice_cap import NOTICES_PER_KIND

    every = b"".join(b"retry: 1s\ndata: %d\n\n" % i for i in range(40))
    with RawServer(paths=NO_INFO) as raw:
        raw.add(sse(every, end=Hang()))

        async def scenario() -> None:
            view = open_stream(viewer, raw.url())
            session = view.handle.session
            await until(lambda: session.events == 40, 5, "the events")
            viewer.controller.flush()
            rows = [r for r in session.store.rows() if isinstance(r, Notice)]
            assert len(rows) == NOTICES_PER_KIND
            assert "counts the rest" in rows[-1].detail
            (advice,) = session.advisor.warnings()
            assert (advice.key, advice.count) == ("retry-ignored", 40)

        drive(loop, scenario(), viewer)
