"""The Lab works on the bundled server whatever stream is in front, and what it
shows as on (the pulse, the encoding) is true again after a server restart."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from desktop.core.lab.lessons.catalog import Timing
from desktop.ui.server_child import ServerChild
from desktop.ui.viewer import Viewer

from app_driver import SERVER_ARGS, api_async, drive, open_stream, until
from lesson_runs import lesson_named
from rawserver import Hang, RawServer, respond, sse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.ui.lab.dock import LabDock
    from desktop.ui.loop import AppLoop


async def _eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 5) -> None:
    """Ask the server until ``check`` holds (its switches are set by tasks)."""
    deadline = time.monotonic() + limit_s
    while not await check():
        assert time.monotonic() < deadline, "the server's lab state did not change"
        await asyncio.sleep(0.05)


async def _open_lab(app: Viewer) -> LabDock:
    app.window.show_lab(True)
    lab = app.window.lab
    assert lab is not None
    await until(lambda: lab.controller.available, 10, "the lab")
    return lab


def test_a_remote_stream_in_front_leaves_the_lab_on_the_bundled_server(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    """A stream on a server without a lab in front: faults and lessons still go
    to the bundled server, and the dock says so."""
    viewer.window.lab_base = lambda: base  # as Viewer does with its child
    nothing = respond(404)
    remote = RawServer(
        [sse(b"data: hello\n\n", end=Hang(20))],
        default=(Hang(20),),
        paths={"/api/info": nothing, "/api/lab": nothing},
    )

    async def scenario() -> None:
        with remote:
            open_stream(viewer, remote.url("/v1/stream"))
            lab = await _open_lab(viewer)
            status = lab.panel.status.text()
            assert base in status and remote.url("")[:-1] in status, status
            assert "unavailable" not in status
            assert lab.panel.fault_bar.isEnabled()

            lab.runner.timing = Timing.fast()
            lesson = lesson_named("drop")
            lab.lessons.select(lesson.key)
            lab.lessons.run_button.click()  # one click, from the remote tab
            await until(lambda: lab.runner.task is not None, 5, "the lesson")
            task = lab.runner.task
            assert task is not None
            await until(task.done, 40, "the lesson to end")
            result = lab.lessons.results[lesson.key]
            assert result.passed, [c for c in result.checks if not c.ok]

            # Finished, its lanes stop growing (its open ends stop at its end).
            lab.controller.refresh()
            width = lab.panel.lanes.sceneRect().width()
            await asyncio.sleep(0.3)
            lab.controller.refresh()
            assert lab.panel.lanes.sceneRect().width() == width

    drive(loop, scenario(), viewer, limit_s=60)


def test_after_a_restart_the_pulse_is_on_again_and_encoding_shows_off(
    loop: AppLoop,
) -> None:
    child = ServerChild(SERVER_ARGS)
    child.spawn(0)
    app = Viewer(None, server=child)

    async def scenario() -> None:
        app.start()
        await until(lambda: child.url, 20, "the bundled server")
        lab = await _open_lab(app)
        assert child.url is not None
        lab.panel.pulse.setChecked(True)
        bar = lab.panel.fault_bar
        bar.encoding.setCurrentText("gzip")
        bar.buttons["encoding"].click()

        async def lab_state() -> dict[str, object]:
            assert child.url is not None
            state = await api_async(child.url, "GET", "/api/lab")
            assert isinstance(state, dict)
            return state

        async def switched() -> bool:
            state = await lab_state()
            return bool(state["pulse_ms"]) and state["encoding"] == "gzip"

        await _eventually(switched)

        bar.buttons["restart"].click()
        await until(lambda: "restarted" in lab.panel.hover.text(), 30, "restarted")

        async def pulsing() -> bool:
            return bool((await lab_state())["pulse_ms"])

        await _eventually(pulsing)
        state = await lab_state()
        assert state["pulse_ms"], state  # re-applied to the new process
        assert state["encoding"] == "identity"
        assert bar.encoding.currentText() == "identity"  # shown as off

    drive(loop, scenario(), app, limit_s=60)
    assert not child.running
    app.window.deleteLater()


def test_open_the_browser_page_says_when_no_browser_started(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    """The offscreen platform opens no URL (QDesktopServices.openUrl is False)."""
    viewer.window.lab_base = lambda: base

    async def scenario() -> None:
        open_stream(viewer, f"{base}/api/events")
        lab = await _open_lab(viewer)
        lab.panel.browser.click()
        assert "No browser could be started" in lab.panel.hover.text()
        assert f"{base}/" in lab.panel.hover.text()

    drive(loop, scenario(), viewer)


def test_run_all_lessons_ends_with_a_summary(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    viewer.window.lab_base = lambda: base
    keys = ("drop", "restart")  # two, to keep it short; no restart here: it says why

    async def scenario() -> None:
        lab = await _open_lab(viewer)
        lab.runner.timing = Timing.fast()
        lab.runner.all_keys = keys
        lab.lessons.run_all_button.click()
        await until(lambda: lab.runner.task is not None, 5, "the run")
        task = lab.runner.task
        assert task is not None
        await until(task.done, 80, "every lesson")
        summary = lab.lessons.all_summary.text()
        ran = set(lab.lessons.results) | set(lab.lessons.errors)
        assert ran == set(keys)
        assert summary.startswith("All lessons: 1 of 2 passed"), summary
        assert "not passed: 2 (" in summary, summary
        assert lab.lessons.all_summary.isVisible()

    drive(loop, scenario(), viewer, limit_s=90)
