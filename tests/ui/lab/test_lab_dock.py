"""The Lab dock's controls against the real bundled server: every fault button,
the server restart, the browser lane and a lesson run from the dock."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

from desktop.core.engine.records import Event
from desktop.core.engine.state import State
from desktop.core.lab.lanes import ConnectionEnd
from desktop.core.lab.lessons.catalog import Timing
from desktop.ui.server_child import ServerChild
from desktop.ui.viewer import Viewer

from app_driver import SERVER_ARGS, api_async, drive, open_stream, until
from lesson_runs import lesson_named

if TYPE_CHECKING:
    from desktop.ui.lab.dock import LabDock
    from desktop.ui.loop import AppLoop
    from desktop.ui.session import StreamSession


async def _lab_for(viewer: Viewer) -> LabDock:
    viewer.window.show_lab(True)
    lab = viewer.window.lab
    assert lab is not None
    await until(lambda: lab.controller.available, 10, "the lab probe")
    return lab


def _lab_actions(lab: LabDock) -> list[str]:
    """The ``action`` of every `lab` event our client received, in order."""
    lab.controller.refresh()
    return [
        json.loads(e.data)["action"]
        for e in lab.controller.app.events
        if isinstance(e, Event) and e.type == "lab"
    ]


def test_every_fault_button_reaches_the_server(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/events")
        session: StreamSession = view.handle.session
        lab = await _lab_for(viewer)
        bar = lab.panel.fault_bar
        await until(lambda: session.events >= 1, 10, "the first event")

        # Switches for the next connects: read back from the lab's state.
        bar.retry_ms.setValue(300)
        bar.encoding.setCurrentText("gzip")
        bar.refuse_count.setValue(2)
        bar.refuse_with.setCurrentText("204")
        for action in ("retry", "encoding", "omit-end", "refuse"):
            bar.buttons[action].click()
            await until(lambda a=action: a in _lab_actions(lab), 10, action)
        state = await api_async(base, "GET", "/api/lab")
        assert isinstance(state, dict)
        assert state["retry_ms"] == 300
        assert state["encoding"] == "gzip"
        assert state["omit_end_next"] == 1
        assert (state["refuse_left"], str(state["refuse_with"])) == (2, "204")
        assert session.retry_ms == 300  # the retry: frame reached the open stream
        bar.buttons["reset"].click()
        await until(lambda: "reset" in _lab_actions(lab), 10, "reset")
        state = await api_async(base, "GET", "/api/lab")
        assert isinstance(state, dict)
        assert (state["refuse_left"], state["encoding"], state["omit_end_next"]) == (
            0,
            "identity",
            0,
        )

        # Faults now: each one is announced on the stream, drop and cut end it.
        for action in ("drop", "cut"):
            # Reconnected, not only reconnecting: a cut sent while the new
            # request was on its way found no subscription of ours to cut.
            await until(lambda: session.state is State.OPEN, 10, "open")
            attempts = len(session.attempts)
            bar.buttons[action].click()
            await until(lambda a=attempts: len(session.attempts) > a, 10, action)
            await until(lambda a=action: a in _lab_actions(lab), 10, action)
        segments = lab.controller.app.builder.segments
        await until(
            lambda: _lab_actions(lab) and len(segments) >= 3 and segments[-2].ended,
            10,
            "the lane's segments",
        )
        assert [s.ending for s in segments[-3:-1]] == [
            ConnectionEnd.SERVER_CLOSED,
            ConnectionEnd.MID_EVENT,
        ]
        bar.stall_s.setValue(0.5)
        bar.buttons["stall"].click()
        await until(lambda: "stall" in _lab_actions(lab), 10, "stall")
        bar.buttons["forget"].click()
        await until(lambda: "forget" in _lab_actions(lab), 10, "forget")
        assert "forget" in lab.panel.hover.text() or "forgotten" in (
            lab.panel.hover.text()
        )

    drive(loop, scenario(), viewer, limit_s=60)


def test_restart_from_the_lab_reconnects_into_a_replay_gap(loop: AppLoop) -> None:
    child = ServerChild(SERVER_ARGS)
    child.spawn(0)
    app = Viewer(None, server=child)

    async def scenario() -> None:
        app.start()
        await until(lambda: app.window.current_view() is not None, 5, "the tab")
        view = app.window.current_view()
        assert view is not None
        session = view.handle.session
        await until(lambda: session.events >= 2 and child.url, 20, "events")
        port = child.port
        lab = await _lab_for(app)
        lab.panel.fault_bar.buttons["restart"].click()
        await until(lambda: "Restarting" in lab.panel.hover.text(), 5, "restarting")
        await until(lambda: "restarted" in lab.panel.hover.text(), 30, "restarted")
        assert child.port == port
        await until(
            lambda: (
                any(
                    isinstance(r, Event) and r.type == "replay-gap"
                    for r in session.store.rows()
                )
                or (lab.controller.refresh() and False)
            ),
            20,
            "the replay-gap event after the resume",
        )
        lab.controller.refresh()  # the lanes fold in what the store published
        segments = lab.controller.app.builder.segments
        assert len(segments) >= 2
        assert segments[-1].last_event_id  # it resumed: the log was gone
        assert lab.controller.available  # the lab works on the new server

    drive(loop, scenario(), app, limit_s=60)
    assert not child.running
    app.window.deleteLater()


def test_the_browser_lane_comes_from_the_pages_observations(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        open_stream(viewer, f"{base}/api/events")
        lab = await _lab_for(viewer)
        await lab.controller.watch_browser()  # clears what other runs posted
        stream = f"{base}/api/events"
        t = time.time()
        # What the page posts: batches of its EventSource's open/message/error.
        await api_async(
            base,
            "POST",
            "/api/lab/browser",
            [
                {"kind": "open", "ready_state": 1, "id": "", "type": "", "at": t},
                {"kind": "message", "ready_state": 1, "id": "r-events-1"}
                | {"type": "stats", "at": t + 0.1},
                {"kind": "error", "ready_state": 0, "id": "", "type": ""}
                | {"at": t + 0.2},
            ],
        )
        await api_async(
            base,
            "POST",
            "/api/lab/browser",
            [
                {"kind": "open", "ready_state": 1, "id": "", "type": "", "at": t + 0.6},
                {"kind": "message", "ready_state": 1, "id": "r-events-2"}
                | {"type": "stats", "at": t + 0.7},
            ],
        )
        await lab.controller.poll_once()
        lab.controller.refresh()
        lanes = {lane.key: lane for lane in lab.panel.lanes.lanes()}
        browser = lanes["browser"]
        assert [s.opened for s in browser.segments] == [t, t + 0.6]
        assert [len(s.ticks) for s in browser.segments] == [1, 1]
        assert browser.segments[1].last_event_id == "r-events-1"
        assert round(browser.segments[1].delay_waited_ms or 0) == 400
        assert stream  # the page posts its EventSource URL too (not needed here)

    drive(loop, scenario(), viewer, limit_s=30)


def test_a_lesson_runs_from_the_dock_with_its_lanes_live(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        open_stream(viewer, f"{base}/api/events")
        lab = await _lab_for(viewer)
        lab.runner.timing = Timing.fast()
        lesson = lesson_named("drop")
        lab.lessons.select(lesson.key)
        lab.lessons.run_button.click()
        await until(lambda: lab.runner.task is not None, 5, "the lesson task")
        live: list[int] = []
        while lab.runner.task is not None and not lab.runner.task.done():
            shown = lab.panel.lanes.lanes()
            if shown and shown[0].key == "app":
                live.append(len(shown[0].segments))
            await asyncio.sleep(0.05)
        assert lab.lessons.running is None
        result = lab.lessons.results[lesson.key]
        assert result.passed, [c for c in result.checks if not c.ok]
        # Drawn while it ran: the lesson's reconnect appeared before the end.
        assert live and max(live) >= 2, live
        assert lab.panel.lanes_title.text() == f"Lanes: lesson 1, {lesson.title}"
        assert lab.panel.back.isVisibleTo(lab.panel)
        table = lab.lessons.table
        assert table.rowCount() == len(result.checks)
        assert {table.item(r, 0).text() for r in range(table.rowCount())} == {"✓"}
        lab.panel.back.click()
        lab.controller.refresh()
        assert lab.panel.lanes_title.text() == "Lanes: the stream in front"

    drive(loop, scenario(), viewer, limit_s=90)


def test_the_ticker_has_no_publish_log_and_the_badge_says_so(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=50&count=100000")
        lab = await _lab_for(viewer)
        store = view.handle.session.store
        # Published, not only received: the lab reads what a flush published.
        await until(
            lambda: sum(isinstance(r, Event) for r in store.rows()) >= 3, 10, "ticks"
        )
        lab.controller.refresh()
        await lab.controller.poll_once()
        panel = lab.panel
        assert panel.app_badge.text() == "no publish log"
        assert panel.app_badge.property("verdict") == "none"
        note = panel.compare_note.text()
        assert "ticker" in note and "no record" in note and "/api/events" in note
        assert panel.app_badge.toolTip() == note
        assert lab.controller.app_result is None  # nothing was compared
        # The server lane still comes from the sent log: it has no publish log only.
        assert lab.controller.server is not None
        assert lab.controller.server.segments

    drive(loop, scenario(), viewer, limit_s=30)


def test_each_badge_counts_from_its_own_clients_first_open(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    # A naive client switched on late must not be charged with what was published
    # before it ever connected: its badge starts clean, like ours.
    async def scenario() -> None:
        await api_async(base, "POST", "/api/lab/pulse", {"every_ms": 20})
        open_stream(viewer, f"{base}/api/events")
        lab = await _lab_for(viewer)
        controller = lab.controller
        await asyncio.sleep(0.8)  # pulses published before the naive client exists
        lab.panel.naive.setChecked(True)
        await until(
            lambda: (
                controller.naive_session is not None
                and controller.naive_session.events >= 10
            ),
            10,
            "naive events",
        )
        await asyncio.sleep(0.5)
        controller.refresh()
        await controller.poll_once()
        app, naive = controller.app_result, controller.naive_result
        assert app is not None and naive is not None
        assert naive.published < app.published  # it started later
        assert (len(naive.lost), len(app.lost)) == (0, 0)
        assert lab.panel.naive_badge.text() == "lost 0 · repeated 0"
        assert "first connect" in lab.panel.naive_badge.toolTip()
        await api_async(base, "POST", "/api/lab/pulse", {"every_ms": 0})

    drive(loop, scenario(), viewer, limit_s=30)
