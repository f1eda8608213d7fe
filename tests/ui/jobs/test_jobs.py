"""The jobs panel on the real server: forms, progress, end, cancel, token, absence."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from desktop.core.engine.records import Outcome
from desktop.core.engine.state import State

from app_driver import api_async, drive, until
from children import start_child, stop_child

if TYPE_CHECKING:
    from collections.abc import Iterator

    from desktop.ui.jobs.model import JobRow
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


async def _panel_ready(
    viewer: Viewer, base: str, headers: tuple[tuple[str, str], ...] = ()
) -> None:
    viewer.jobs.set_server(base, headers)
    await until(lambda: viewer.jobs.available, 10, "the jobs API")


async def _start(viewer: Viewer, kind: str, **params: object) -> JobRow:
    panel = viewer.window.jobs_panel
    panel.kind.setCurrentText(kind)
    form = panel.form(kind)
    for name, value in params.items():
        form.set_value(name, value)
    count = len(viewer.jobs.model.rows)
    panel.start.click()
    await until(lambda: len(viewer.jobs.model.rows) > count, 10, "the job to start")
    panel.table.selectRow(0)
    return viewer.jobs.model.rows[0]


def test_forms_follow_each_kinds_schema(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        await _panel_ready(viewer, base)
        panel = viewer.window.jobs_panel
        assert viewer.window.jobs_dock.isVisible()
        assert panel.pages.currentIndex() == 1
        kinds = [panel.kind.itemText(i) for i in range(panel.kind.count())]
        assert {"countdown", "build", "download", "flaky"} <= set(kinds)
        steps = panel.form("countdown").editors["steps"]
        assert isinstance(steps, QSpinBox)
        assert (steps.minimum(), steps.maximum(), steps.value()) == (1, 100_000, 10)
        size = panel.form("download").editors["size_bytes"]
        assert isinstance(size, QDoubleSpinBox) and size.maximum() == 10**12
        assert panel.form("build").values()["fail"] is False
        panel.kind.setCurrentText("flaky")
        assert "fails" in panel.description.text()

    drive(loop, scenario(), viewer)


def test_a_job_runs_to_100_percent_then_end_closes_its_stream_for_good(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        await _panel_ready(viewer, base)
        row = await _start(viewer, "countdown", steps=5, interval_s=0.05)
        await until(lambda: row.end is not None, 10, "the end event")
        assert row.percent == 100.0 and row.status == "succeeded"
        follower = row.follower
        assert follower is not None
        await until(lambda: follower.state is State.CLOSED, 5, "the stream to close")
        await asyncio.sleep(0.6)  # three times the server's retry: no reconnect
        assert len(follower.attempts) == 1
        assert not follower.failed
        assert "end" in follower.message
        assert row.stream_state() == "closed after end, 1 connection(s)"
        panel = viewer.window.jobs_panel
        await until(lambda: "liftoff" in panel.log.toPlainText(), 2, "the log")
        assert "T-minus 5" in panel.log.toPlainText()
        status = viewer.jobs.model.index(0, 2).data()
        assert status.startswith("succeeded")
        assert not panel.cancel.isEnabled()
        assert panel.follow.text() == "Follow stream"

    drive(loop, scenario(), viewer)


def test_cancel_a_running_job(loop: AppLoop, viewer: Viewer, base: str) -> None:
    async def scenario() -> None:
        await _panel_ready(viewer, base)
        row = await _start(viewer, "countdown", steps=100, interval_s=0.05)
        await until(lambda: row.done >= 2, 10, "progress")
        panel = viewer.window.jobs_panel
        await until(panel.cancel.isEnabled, 2, "the cancel button")
        panel.cancel.click()
        await until(lambda: row.end is not None, 10, "the end event")
        assert row.status == "cancelled" and row.end is not None
        assert row.end.status == "cancelled"
        assert row.percent < 100
        assert row.follower is not None
        await until(
            lambda: row.follower is not None and row.follower.state is State.CLOSED, 5
        )
        assert "Asked job" in panel.status.text()

    drive(loop, scenario(), viewer)


def test_stop_a_jobs_stream_without_cancelling_the_job_then_resume(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        await _panel_ready(viewer, base)
        row = await _start(viewer, "countdown", steps=30, interval_s=0.05)
        await until(lambda: row.done >= 3, 10, "progress")
        panel = viewer.window.jobs_panel
        await until(lambda: panel.follow.text() == "Stop stream", 2)
        panel.follow.click()
        follower = row.follower
        assert follower is not None
        await until(lambda: follower.state is State.CLOSED, 5, "the stream to stop")
        assert follower.attempts[-1].ended_at is not None
        assert Outcome.STOPPED.value in follower.message
        job = await api_async(base, "GET", f"/api/jobs/{row.id}")
        assert isinstance(job, dict) and job["status"] == "running"
        await until(lambda: panel.follow.text() == "Follow stream", 2)
        panel.follow.click()  # resume after the last id: no log line twice
        await until(lambda: row.end is not None, 10, "the end")
        lines = [line for line in row.log if "T-minus" in line]
        assert len(lines) == len(set(lines)) == 30
        assert row.follower is not None and row.follower is not follower
        assert row.follower.attempts[0].last_event_id == follower.last_event_id

    drive(loop, scenario(), viewer)


class _NoAPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _plain_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NoAPI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_without_a_jobs_api_the_panel_says_so_and_stays_hidden(
    loop: AppLoop, viewer: Viewer
) -> None:
    for plain in _plain_server():

        async def scenario(url: str = plain) -> None:
            viewer.jobs.set_server(url)
            panel = viewer.window.jobs_panel
            await until(lambda: "no jobs API" in panel.notice.text(), 10, "the message")
            assert panel.notice.text().count("jobs API") == 1, panel.notice.text()
            assert panel.pages.currentIndex() == 0
            assert not viewer.window.jobs_dock.isVisible()

        drive(loop, scenario(), viewer)


def test_a_token_from_the_connection_is_used_for_jobs(
    loop: AppLoop, viewer: Viewer
) -> None:
    child = start_child(("--retry", "200", "--ping", "0.3", "--token", "s3cret"))
    try:
        base = child.url
        assert base is not None

        async def scenario() -> None:
            viewer.jobs.set_server(base)
            panel = viewer.window.jobs_panel
            await until(lambda: "token" in panel.notice.text(), 10, "a token hint")
            view = viewer.window.add_stream(viewer.controller.new_stream())
            view.bar.url.setText(f"{base}/api/events")
            view.bar.token.setText("s3cret")
            view.bar.connect_button.click()  # the jobs panel follows the tab's server
            await until(
                lambda: viewer.jobs.available, 10, "the jobs API with the token"
            )
            assert viewer.jobs.headers == (("Authorization", "Bearer s3cret"),)
            row = await _start(viewer, "countdown", steps=2, interval_s=0.01)
            await until(lambda: row.end is not None, 10, "the end")
            await until(lambda: view.handle.session.events >= 1, 10, "a stats event")

        drive(loop, scenario(), viewer)
    finally:
        stop_child(child)


def test_a_finished_job_keeps_its_progress_and_elapsed_after_a_reload(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        from desktop.ui.jobs.model import ELAPSED, PROGRESS

        await _panel_ready(viewer, base)
        row = await _start(viewer, "countdown", steps=2, interval_s=0.02)
        await until(lambda: row.end is not None, 10, "the end event")
        viewer.jobs.set_server(None)  # as a tab switch to another server does
        await _panel_ready(viewer, base)
        model = viewer.jobs.model
        again = model.find(row.id)
        assert again is not None and again is not row
        line = model.rows.index(again)
        assert model.index(line, PROGRESS).data() == "100 %"
        assert model.index(line, ELAPSED).data() not in ("", None)

    drive(loop, scenario(), viewer)


def test_a_slow_start_does_not_tell_after_a_later_cancel(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    import httpx

    from desktop.ui.jobs.controller import JobsController

    slow = asyncio.Event()

    async def hold_starts(response: httpx.Response) -> None:
        request = response.request
        if (
            slow.is_set()
            and request.method == "POST"
            and request.url.path == "/api/jobs"
        ):
            await asyncio.sleep(0.5)  # a start answered late, as under load

    async def scenario() -> None:
        async with httpx.AsyncClient(event_hooks={"response": [hold_starts]}) as http:
            jobs = JobsController(lambda: http)
            told: list[str] = []
            jobs.messageShown.connect(told.append)
            try:
                jobs.set_server(base)
                await until(lambda: jobs.available, 10, "the jobs API")
                await jobs.start_job("countdown", {"steps": 100, "interval_s": 0.05})
                running = jobs.model.rows[0]
                slow.set()
                late = jobs.start_job("countdown", {"steps": 2, "interval_s": 0.05})
                await asyncio.sleep(0.05)  # the start is on its way: then cancel
                await jobs.cancel_job(running.id)
                await late
                assert told[-1] == f"Asked job {running.id} to stop", told
            finally:
                await jobs.shutdown()

    drive(loop, scenario(), viewer)
