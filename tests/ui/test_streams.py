"""Streams in the app: state changes in order, attempts, Stop, several at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Connecting,
    Event,
    Open,
    Reconnecting,
    RetryField,
)
from desktop.core.engine.state import State
from desktop.ui.request import RequestForm

from app_driver import api_async, drive, open_stream, until
from rawserver import RawServer, sse

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


async def _ticker_subscriptions(base: str) -> int:
    streams = await api_async(base, "GET", "/api/streams")
    assert isinstance(streams, dict)
    return sum(
        1 for s in streams["subscriptions"] if s["path"].startswith("/api/ticker")
    )


def test_a_dropped_stream_shows_reconnecting_then_open_in_order_and_loses_nothing(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=40&size=20&count=100000")
        session = view.handle.session
        phases: list[State] = []
        badges: list[str] = []

        async def watch() -> None:
            while True:
                if not phases or phases[-1] is not session.state:
                    phases.append(session.state)
                view.refresh()
                text = view.state.badge.text()
                if not badges or badges[-1] != text:
                    badges.append(text)
                await asyncio.sleep(0.005)

        watcher = asyncio.ensure_future(watch())
        try:
            await until(lambda: session.events >= 10, 10, "events")
            await api_async(base, "POST", "/api/lab/drop")
            await until(
                lambda: session.attempt == 2 and session.state is State.OPEN, 10
            )
            await until(lambda: session.attempts[-1].events >= 10, 10, "more events")
        finally:
            watcher.cancel()
        assert phases[:2] == [State.CONNECTING, State.OPEN] or phases[0] is None
        tail = [p for p in phases if p is not None]
        assert tail[-3:] == [State.RECONNECTING, State.CONNECTING, State.OPEN]
        assert any(b.startswith("Reconnecting in") for b in badges)
        assert badges[-1] == "Open"
        assert view.state.badge.property("state") == "open"

        await until(lambda: not session.store.waiting, 2, "the flush")
        rows = view.handle.session.store.rows()
        states = (Connecting, Open, Reconnecting, Closed)
        kinds = [type(r) for r in rows if isinstance(r, states)]
        assert kinds[:5] == [Connecting, Open, Reconnecting, Connecting, Open]
        retries = [r for r in rows if isinstance(r, RetryField)]
        assert [(r.ms, r.connection) for r in retries] == [(200, 1), (200, 2)]
        first, second = session.attempts
        # the lab's drop ends the body cleanly: the server closed the stream
        assert first.outcome.startswith("open → server closed the stream")
        assert second.delay_asked_ms == 200  # the server's retry:
        assert second.delay_waited_ms is not None and second.delay_waited_ms >= 190
        ids = [int(r.id) for r in rows if isinstance(r, Event)]
        assert second.last_event_id == str(ids[first.events - 1])
        assert ids == list(
            range(len(ids))
        )  # resumed after Last-Event-ID: no gap, no repeat
        view.refresh()
        assert view.state.values["attempt"].text() == "2"
        assert "server retry" in view.state.values["retry"].text()
        assert view.handle.attempts.rowCount() == 2
        outcome = view.handle.attempts.index(0, 4).data()
        assert outcome == first.outcome

        view.bar.stop_button.click()
        await until(lambda: session.state is State.CLOSED, 5, "closed")
        assert not session.failed and "stopped" in session.message
        view.refresh()
        assert view.bar.connect_button.text() == "Connect"
        assert not view.bar.stop_button.isEnabled()
        last = session.store.kept()[-1]
        assert isinstance(last, Closed)

    drive(loop, scenario(), viewer)


def test_stop_closes_the_socket_at_once_the_server_sees_it_gone(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=20&size=10&count=100000")
        await until(lambda: view.handle.session.events >= 3, 10, "events")
        assert await _ticker_subscriptions(base) == 1
        view.bar.stop_button.click()
        stopped = time.monotonic()
        while await _ticker_subscriptions(base):
            assert time.monotonic() - stopped < 1.0, "still in /api/streams after 1 s"
            await asyncio.sleep(0.05)

    drive(loop, scenario(), viewer)


def test_several_streams_run_at_once_each_with_its_own_task(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        one = open_stream(viewer, f"{base}/api/ticker?rate=30&size=10&count=100000")
        two = open_stream(viewer, f"{base}/api/events")
        three = open_stream(viewer, f"{base}/api/ticker?rate=10&size=500&count=100000")
        assert viewer.window.tabs.count() == 3
        for view in (one, two, three):
            await until(lambda v=view: v.handle.session.events >= 1, 10, "events")
        assert await _ticker_subscriptions(base) == 2
        viewer.window.tabs.setCurrentWidget(one)
        viewer.window.close_current()  # closing a tab stops its stream
        assert viewer.window.tabs.count() == 2
        await until(lambda: one.handle.session.state is State.CLOSED, 5, "tab closed")
        count = three.handle.session.events
        await until(lambda: three.handle.session.events > count, 5, "the others run on")
        assert two.handle.session.state is State.OPEN
        # a reconnect with new options replaces the task, it does not add one
        new_url = f"{base}/api/ticker?rate=10&size=5&count=100000"
        three.bar.url.setText(new_url)
        three.bar.connect_button.click()
        attempts = three.handle.session.attempts  # a new session: a fresh list
        await until(lambda: [a.url for a in attempts] == [new_url], 5, "a new attempt")
        await until(lambda: three.handle.session.state is State.OPEN, 5, "open again")
        assert await _ticker_subscriptions(base) == 1

    drive(loop, scenario(), viewer)


def test_a_post_stream_with_headers_and_body_reaches_the_server(
    loop: AppLoop, viewer: Viewer
) -> None:
    # two scripts: the jobs panel's GET /api/info may take either one
    with RawServer([sse(b"data: ok\n\n"), sse(b"data: ok\n\n")]) as raw:

        async def scenario() -> None:
            view = open_stream(
                viewer,
                raw.url("/post"),
                method="POST",
                headers=(("Authorization", "Bearer s3cret-token"), ("X-Trace", "1")),
                body='{"prompt": "hi"}',
                retry_ms=100,
            )
            await until(lambda: view.handle.session.events >= 1, 10, "the event")
            view.bar.stop_button.click()
            await until(lambda: view.handle.session.state is State.CLOSED, 5)
            shown = view.bar.headers.index(0, 1).data()
            assert "s3cret" not in shown and shown.startswith("Bearer ••")
            view.bar.reveal.setChecked(True)
            assert view.bar.headers.index(0, 1).data() == "Bearer s3cret-token"

        drive(loop, scenario(), viewer)
        (request,) = [r for r in raw.requests if r.path == "/post"][:1]
        assert request.method == "POST"
        assert request.header("authorization") == "Bearer s3cret-token"
        assert request.header("x-trace") == "1"
        assert request.header("content-type") == "application/json"
        assert request.body == b'{"prompt": "hi"}'


def _sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def test_quitting_with_streams_open_closes_every_socket(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        before = _sockets()
        views = [
            open_stream(viewer, f"{base}/api/ticker?rate=50&size=10&count=100000"),
            open_stream(viewer, f"{base}/api/events"),
        ]
        viewer.jobs.set_server(base)
        for view in views:
            await until(lambda v=view: v.handle.session.events >= 1, 10, "events")
        await until(lambda: viewer.jobs.available, 10, "the jobs probe")
        assert _sockets() > before
        await viewer.shutdown()
        assert _sockets() == before
        assert await _ticker_subscriptions(base) == 0

    drive(loop, scenario(), viewer)


def test_the_streams_menu_acts_on_the_tab_in_front(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    def menu(text: str) -> None:
        bar = viewer.window.menuBar().actions()
        menus = [m.menu() for m in bar if m.menu() is not None]
        actions = [a for m in menus for a in m.actions() if a.text() == text]
        assert len(actions) == 1, (text, actions)
        actions[0].trigger()

    async def scenario() -> None:
        view = viewer.window.add_stream(viewer.controller.new_stream())
        view.bar.set_form(RequestForm(f"{base}/api/ticker?rate=50&count=100000"))
        session = view.handle.session
        menu("Connect")
        await until(lambda: session.events >= 3, 10, "events")
        menu("Pause / resume")
        assert view.filters.pause.isChecked() and session.paused
        menu("Pause / resume")
        menu("Stop")
        await until(lambda: session.state is State.CLOSED, 5, "closed")
        await until(lambda: view.handle.timeline.rowCount() > 0, 5, "rows")
        menu("Clear")
        assert view.handle.timeline.rowCount() == 0
        menu("Go to URL")
        assert view.bar.url.selectedText() == view.bar.url.text()

    drive(loop, scenario(), viewer)
