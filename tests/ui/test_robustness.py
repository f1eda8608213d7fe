"""Bad inputs get a clear in-app message, never a traceback or a frozen window."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QTimer

from desktop.core.engine.records import Event
from desktop.core.engine.state import State
from desktop.ui.timeline.model import RECORD_ROLE, SIZE

from app_driver import api_async, drive, open_stream, until
from rawserver import RawServer, free_port, respond, sse

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL"),
        ("ftp://example.com/feed", "scheme must be http or https"),
        ("http://", "no host"),
        ("http://exa mple.com/", "invalid host"),
        ("http://127.0.0.1:99999/x", "99999"),
    ],
)
def test_a_bad_url_is_refused_in_the_bar(
    loop: AppLoop, viewer: Viewer, url: str, message: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, url)
        assert message in view.bar.error.text()
        assert view.bar.error.isVisibleTo(view)
        assert view.handle.task is None
        view.bar.url.setText("http://127.0.0.1:1/x")
        view.bar.headers.set_headers((("X-Bad", "a\nb"),))
        view.bar.connect_button.click()
        assert "line break" in view.bar.error.text()

    drive(loop, scenario(), viewer)


def _failed(view: StreamView) -> bool:
    session = view.handle.session
    return session.state is State.CLOSED and session.failed


def test_http_errors_and_html_close_the_stream_with_the_reason_shown(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    with RawServer([respond(500, b"boom")]) as raw:

        async def scenario() -> None:
            cases = {
                f"{base}/api/nope": "404",
                f"{base}/": "text/html",
                raw.url("/500"): "500",
            }
            views = {url: open_stream(viewer, url) for url in cases}
            for url, needle in cases.items():
                view = views[url]
                await until(lambda v=view: _failed(v), 10, f"{url} to fail")
                view.refresh()
                assert view.banner.isVisibleTo(view)
                assert needle in view.banner.text(), view.banner.text()
                assert view.state.badge.text() == "Closed — failed"
                assert view.state.badge.property("state") == "failed"
                assert len(view.handle.session.attempts) == 1  # no reconnect

        drive(loop, scenario(), viewer)


def test_401_after_events_keeps_what_was_received(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=50&size=10&count=100000")
        session = view.handle.session
        await until(lambda: session.events >= 10, 10, "events")
        await api_async(base, "POST", "/api/lab/refuse", {"count": 1, "status": 401})
        await api_async(base, "POST", "/api/lab/drop")
        await until(lambda: _failed(view), 10, "the 401")
        view.refresh()
        assert "401" in view.banner.text()
        await until(lambda: not session.store.waiting, 2)
        events = [r for r in view.handle.session.store.rows() if isinstance(r, Event)]
        assert len(events) == session.events >= 10

    drive(loop, scenario(), viewer)


def test_refused_connection_reconnects_with_a_countdown(
    loop: AppLoop, viewer: Viewer
) -> None:
    async def scenario() -> None:
        url = f"http://127.0.0.1:{free_port()}/events"
        view = open_stream(viewer, url, retry_ms=300)
        session = view.handle.session
        await until(lambda: len(session.attempts) >= 3, 10, "three attempts")
        assert session.state in (State.RECONNECTING, State.CONNECTING)
        assert "refused" in session.message
        await until(lambda: session.state is State.RECONNECTING, 2)
        view.refresh()
        assert view.state.badge.text().startswith("Reconnecting in")
        assert view.state.values["countdown"].text() != "—"
        assert "your initial retry" in view.state.values["retry"].text()
        assert not view.banner.isVisibleTo(view)  # not failed: it keeps trying
        assert "refused" in view.handle.attempts.index(0, 4).data()

    drive(loop, scenario(), viewer)


def test_a_10_mb_event_and_invalid_utf8_arrive_whole(
    loop: AppLoop, viewer: Viewer
) -> None:
    big = b"x" * (10 * 1024 * 1024)
    script = sse(
        b"data: caf\xe9 \xff\n\n", b"data: " + big + b"\n\n", b"data: after\n\n"
    )
    with RawServer([script]) as raw:

        async def scenario() -> None:
            view = open_stream(viewer, raw.url(), retry_ms=60_000)
            session = view.handle.session
            await until(lambda: session.events >= 3, 20, "three events")
            await until(lambda: view.proxy.rowCount() >= 5, 5, "rows")
            events = [
                r for r in view.handle.session.store.rows() if isinstance(r, Event)
            ]
            assert events[0].data == "caf\ufffd \ufffd"
            assert len(events[1].data) == len(big)
            assert events[2].data == "after"
            row = next(
                r
                for r in range(view.proxy.rowCount())
                if view.proxy.index(r, 0).data(RECORD_ROLE) is events[1]
            )
            assert view.proxy.index(row, SIZE).data() == "10.0 MB"
            view.table.selectRow(row)
            assert "showing the first" in view.detail.note.text()
            assert len(view.detail.shown_text()) < len(big)

        drive(loop, scenario(), viewer)


def test_50k_events_per_second_all_arrive_and_the_window_stays_live(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    count = 100_000

    async def scenario() -> None:
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        view = open_stream(
            viewer, f"{base}/api/ticker?rate=50000&size=40&count={count}"
        )
        viewer.controller.set_retention(view.handle, 2 * count)  # keep every row
        session = view.handle.session
        await until(lambda: session.state is State.CLOSED, 60, "the ticker to end")
        timer.stop()
        await until(lambda: not session.store.waiting, 2)
        ids = [
            int(r.id) for r in view.handle.session.store.rows() if isinstance(r, Event)
        ]
        assert ids == list(range(count))  # nothing lost, nothing repeated
        assert not session.failed
        assert max(gaps) < 1.0, f"the UI loop stalled for {max(gaps):.2f} s"
        await asyncio.sleep(0)

    drive(loop, scenario(), viewer, limit_s=90)
