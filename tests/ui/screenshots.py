"""Render the app's main views to PNG for review (run it under Xvfb).

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \\
        PYTHONPATH=.:tests python tests/ui/screenshots.py [OUT_DIR] [--dark] \\
        [--size 1366x768]

It launches the real app the way ``sse-viewer`` does (bundled server child), then
plays scenes: live events with a job running, a stream the lab drops again and
again (reconnect attempts), a stream that fails with 401.  Files: ``01-live.png``,
``02-reconnect.png``, ``03-failed.png``, ``04-lab.png`` (the Lab dock after
three faults; ``04-lab-docked.png`` under the stream tabs, ``04-lab-lesson.png``
lesson 1 run from the dock), ``07-raw.png`` (the Raw tab on byte-exact reads),
``08-warnings.png`` (the notices bar), ``12-limits.png`` (the "Reconnect &
limits" tab), ``13-tls-error.png`` and ``14-tls-trusted.png`` (a refused
certificate offering trust, then trusted; ``--only tls`` plays just these),
``19-six-connections.png`` (the "six connections" lesson, its page in headless
Chromium; ``--only six``), then tests/screenshot_scenes.py's ``15-proxy.png``,
``16-credentials.png``, ``17-error-response.png`` and ``18-doctor.png``
(``--only remote`` plays just these); ``-dark`` before ``.png`` with --dark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.ui.server_child import ServerChild

if TYPE_CHECKING:
    from desktop.ui.lab.dock import LabDock
    from desktop.ui.stream_view import StreamView

_ROOT = str(Path(__file__).resolve().parents[2])  # for tests.rawserver
_SHOT_TAG = (("X-Lab-Tag", "shot"),)  # the lab's faults for one scene's stream


def _post(base: str, path: str, body: object = None) -> None:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(base + path, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).read()


async def _until(predicate: object, limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("scene did not get ready")
        await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="/tmp/sse-viewer-shots")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument(
        "--only", choices=("tls", "six", "remote"), help="play this scene alone"
    )
    parser.add_argument(
        "--size", default="1440x900", help="the window's size, e.g. 1366x768"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-dark" if args.dark else ""

    # Scenes start from default settings and never touch the user's own.
    os.environ["SSE_VIEWER_CONFIG_DIR"] = str(out / "config")
    shutil.rmtree(out / "config", ignore_errors=True)
    child = ServerChild(("--retry", "1500", "--ping", "5"))
    child.spawn(0)

    from PySide6.QtWidgets import QApplication

    from desktop.core.engine.records import Event, Notice, Reconnecting
    from desktop.ui import theme
    from desktop.ui.loop import AppLoop
    from desktop.ui.request import RequestForm
    from desktop.ui.timeline.model import RECORD_ROLE
    from desktop.ui.viewer import Viewer

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    theme.apply(app, dark=args.dark)
    loop = AppLoop(app)
    asyncio.set_event_loop(loop)
    viewer = Viewer(None, server=child)
    window = viewer.window

    async def shot(name: str) -> None:
        # Let the loop lay out and paint: app.processEvents() inside a coroutine
        # ran other tasks' steps while this one was executing ("Cannot enter into
        # task"), a stream task lost its wake-up and shutdown waited for it forever.
        await asyncio.sleep(0.05)
        path = out / f"{name}{suffix}.png"
        window.grab().save(str(path))
        print(path)

    def select_last(view: object, match: object) -> None:
        proxy = view.proxy  # type: ignore[attr-defined]
        for row in range(proxy.rowCount() - 1, -1, -1):
            if match(proxy.index(row, 0).data(RECORD_ROLE)):  # type: ignore[operator]
                view.table.selectRow(row)  # type: ignore[attr-defined]
                return

    async def scenes() -> None:
        width, height = (int(n) for n in args.size.split("x"))
        window.resize(width, height)
        viewer.start()
        view = window.current_view()
        assert view is not None
        await _until(lambda: viewer.jobs.available and view.handle.session.events >= 1)
        base = child.url
        assert base is not None
        if args.only == "tls":
            await tls_scene()
            window.close()
            return
        if args.only in ("six", "remote"):
            if args.only == "six":
                await six_scene()
            else:
                await remote_scenes(base)
            window.close()
            return
        panel = window.jobs_panel
        panel.kind.setCurrentText("build")
        panel.form("build").set_value("lines", 400)
        panel.form("build").set_value("interval_s", 0.02)
        panel.start.click()
        await _until(lambda: bool(viewer.jobs.model.rows))
        panel.table.selectRow(0)
        await asyncio.sleep(3.2)
        select_last(view, lambda r: isinstance(r, Event) and r.type == "stats")
        window.refresh()
        await shot("01-live")

        window.jobs_dock.hide()
        ticker = window.new_stream()
        ticker.bar.url.setText(f"{base}/api/ticker?rate=5&size=24&count=100000")
        ticker.bar.connect_button.click()
        await asyncio.sleep(2.5)
        _post(base, "/api/lab/drop")
        await asyncio.sleep(2.5)
        _post(base, "/api/lab/drop")
        await _until(lambda: len(ticker.handle.session.attempts) >= 3, 20)
        await asyncio.sleep(1.2)
        _post(base, "/api/lab/drop")
        await asyncio.sleep(0.6)
        select_last(ticker, lambda r: isinstance(r, Reconnecting))
        window.refresh()
        await shot("02-reconnect")
        await recording_scene(ticker)

        # Tagged: the refusal is for this stream, not for whichever client
        # connects first (the reconnecting ticker took it and this one never failed).
        _post(base, "/api/lab/refuse", {"count": 1, "status": 401, "tag": "shot"})
        failed = window.new_stream()
        failed.bar.set_form(RequestForm(f"{base}/api/events", headers=_SHOT_TAG))
        failed.bar.token.setText("not-the-token")
        failed.bar.more.setChecked(True)
        failed.bar.connect_button.click()
        await _until(lambda: failed.handle.session.failed)
        await asyncio.sleep(0.2)  # the last flush
        window.refresh()
        await shot("03-failed")
        await lab_scene(base)
        await raw_scene()
        await lessons_scene(base)
        await warnings_scene()
        await profiles_scene(base)
        await rate_scene(base)
        await limits_scene(base)
        await tls_scene()
        await remote_scenes(base)
        window.close()

    async def remote_scenes(base: str) -> None:
        """Proxy, Credentials, an error response, the doctor's card."""
        from screenshot_scenes import (
            Stage,
            credentials_scene,
            doctor_scene,
            error_scene,
            proxy_scene,
        )

        window.jobs_dock.hide()
        if window.lab is not None:
            window.show_lab(False)
        stage = Stage(window, base, shot, out, suffix)
        for scene in (proxy_scene, credentials_scene, error_scene, doctor_scene):
            await scene(stage)

    async def tls_scene() -> None:
        """A self-signed certificate refused, with its details and the offer to
        trust it (13-tls-error); trusted, the TLS tab lists it (14-tls-trusted)."""
        sys.path.insert(0, _ROOT)
        from tests.tlsserver import make_certificates, tls_server

        certs = make_certificates(Path(tempfile.mkdtemp()))
        with tls_server(certs.self_signed) as url:
            view = window.new_stream()
            view.bar.set_form(RequestForm(url + "api/events"))
            view.bar.connect_button.click()
            await _until(lambda: view.handle.session.failed)
            await asyncio.sleep(0.2)
            window.refresh()
            await shot("13-tls-error")
            view.state.trust_button.click()
            await _until(lambda: view.handle.session.events >= 1)
            view.bar.show_tls()
            await asyncio.sleep(0.3)
            window.refresh()
            await shot("14-tls-trusted")
            view.bar.more.setChecked(False)
            view.bar.stop_button.click()
            await asyncio.sleep(0.2)

    async def recording_scene(live: StreamView) -> None:
        """The reconnecting ticker saved with raw bytes, reopened read-only."""
        from desktop.ui.recordings.actions import Recordings

        recordings = window.recordings = Recordings(window, window)
        path = Path(tempfile.mkdtemp()) / "ticker.ndjson"
        await recordings.save_file(live.handle, str(path), raw=True)
        view = recordings.open_file(str(path))
        assert view is not None and view.handle.task is not None
        await view.handle.task
        viewer.controller.flush()
        select_last(view, lambda r: isinstance(r, Reconnecting))
        view.bottom.setCurrentIndex(1)  # the attempts, as the live tab had them
        window.refresh()
        await shot("06-recording")
        view.bottom.setCurrentWidget(view.raw)  # the recorded reads
        select_last(view, lambda r: isinstance(r, Event))
        window.refresh()
        await shot("06-recording-raw")

    async def lab_scene(base: str) -> None:
        """The Lab dock on /api/events with a pulse, the naive client, three faults."""
        window.tabs.setCurrentIndex(0)
        _post(base, "/api/lab/retry", {"ms": 400})
        _post(base, "/api/lab/pulse", {"every_ms": 100})
        window.show_lab(True)
        lab = window.lab
        assert lab is not None
        await _until(lambda: lab.controller.available)
        lab.panel.naive.setChecked(True)
        await asyncio.sleep(1.5)
        for fault in ("drop", "cut", "drop"):
            _post(base, f"/api/lab/{fault}")
            await asyncio.sleep(1.6)
        await lab.controller.poll_once()
        lab.controller.refresh()
        lab.panel.lanes.fit()
        _post(base, "/api/lab/pulse", {"every_ms": 0})
        await shot("04-lab")  # opened, the lab has the window ("Lab only")
        lab.panel.focus.setChecked(False)  # docked under the stream tabs
        await asyncio.sleep(0.3)
        lab.controller.refresh()
        await shot("04-lab-docked")
        lab.panel.focus.setChecked(True)
        await lesson_in_dock(lab)
        lab.panel.focus.setChecked(False)

    async def lesson_in_dock(lab: LabDock) -> None:
        """Lesson 1 run from the dock's own lessons panel: checklist and lanes."""
        runner, panel = lab.runner, lab.lessons
        lab.panel.naive.setChecked(False)
        panel.select("drop")
        panel.run_button.click()
        await _until(lambda: runner.task is not None and runner.task.done(), 90)
        lab.controller.refresh()
        lab.panel.lanes.fit()
        lab.panel.show_message(
            "Lesson 1 ran from the lessons panel on the right; its lanes are drawn "
            "here, its checklist is under it."
        )
        await asyncio.sleep(0.05)  # layout and paint, in the loop
        await shot("04-lab-lesson")
        lab.panel.backRequested.emit()

    async def six_scene() -> None:
        """The "six connections" lesson run from the Lab, its page in headless
        Chromium (a user's own browser opens it in the app)."""
        sys.path.insert(0, _ROOT)
        from tests.chromium import IGNORE_CERTIFICATES, Pages

        window.show_lab(True)
        lab = window.lab
        assert lab is not None
        await _until(lambda: lab.controller.available)
        pages = Pages(str(out / "chromium"), IGNORE_CERTIFICATES)
        lab.runner.open_page = pages
        try:
            lab.lessons.select("six")
            lab.lessons.run_button.click()
            await _until(
                lambda: lab.runner.task is not None and lab.runner.task.done(), 120
            )
        finally:
            pages.close()
        await lab.controller.poll_once()  # not the note of a poll mid-restart
        lab.controller.refresh()
        lab.panel.lanes.fit()
        lab.lessons.table.scrollToBottom()  # the HTTP/2 lines; the lanes tell HTTP/1.1
        await asyncio.sleep(0.05)
        await shot("19-six-connections")

    async def raw_scene() -> None:
        """The Raw tab on byte-exact reads: BOM, CRLF, split characters, CR only."""
        from PySide6.QtWidgets import QSplitter

        window.show_lab(False)

        sys.path.insert(0, _ROOT)
        from tests.rawserver import RawServer, sse

        reads = (
            b"\xef\xbb\xbfretry: 2000\r\n\r\n: keep-alive\r\n\r\n",
            b'id: 1\r\nevent: token\r\ndata: {"text": "caf\xc3',
            b'\xa9 cr\xc3\xa8me"}\r\n\r\nid: 2\r\nevent: token\r\n'
            b'data: {"text": "5 \xe2\x82',
            b'\xac a cup"}\r\n\r',
            b'\nid: 3\revent: done\rdata: {"tokens": 2}\r\r',
            b'data: {"partial": tr',
        )
        with RawServer([sse(*reads, pause=0.15)], default=sse()) as server:
            view = window.new_stream()
            view.bar.url.setText(server.url("/v1/stream"))
            view.bar.connect_button.click()
            tries = view.handle.session.attempts
            await _until(lambda: bool(tries and tries[0].ended_at))
            await asyncio.sleep(0.2)  # the last flush
            view.filters.comments.setChecked(True)
            split = view.findChild(QSplitter, "timelineSplit")
            split.setSizes([250, 550])
            view.bottom.setCurrentWidget(view.raw)
            window.refresh()
            select_last(view, lambda r: isinstance(r, Event) and r.id == "2")
            window.refresh()
            await shot("07-raw")
            view.bar.stop_button.click()
            await _until(lambda: not view.handle.running)

    async def lessons_scene(base: str) -> None:
        """The lessons panel after lesson 1 ran on the app's client (human timings)."""
        from desktop.ui.lab.context import AppLabContext, restart_child
        from desktop.ui.lab.lessons_panel import LessonsPanel

        from lesson_runs import lesson_named

        panel = LessonsPanel()
        panel.setWindowTitle("Guided lessons")
        panel.resize(1180, 560)
        panel.show()
        context = AppLabContext(
            base, viewer.controller.client, lambda: restart_child(child)
        )
        for lesson in (lesson_named("503"), lesson_named("drop")):
            panel.show_running(lesson.key)
            panel.show_result(await lesson.run(context))
        await asyncio.sleep(0.05)  # layout and paint, in the loop
        path = out / f"05-lessons{suffix}.png"
        panel.grab().save(str(path))
        print(path)
        panel.close()

    async def warnings_scene() -> None:
        """Three notices on a token stream: gzip, a bad retry:, no data."""
        import zlib

        sys.path.insert(0, _ROOT)
        from tests.rawserver import Hang, RawServer, respond, sse

        gzip = zlib.compressobj(wbits=31)

        def gz(data: bytes) -> bytes:
            return gzip.compress(data) + gzip.flush(zlib.Z_SYNC_FLUSH)

        words = ["Server-sent", "events", "keep", "one", "response", "open"]
        reads = [gz(b"retry: 5s\n\n")]
        reads += [
            gz(b'id: %d\nevent: token\ndata: {"text": "%s "}\n\n' % (i, w.encode()))
            for i, w in enumerate(words, 1)
        ]
        reads.append(gz(b"id: 10\nevent: done\n\n"))
        info = {"/api/info": respond(404)}
        script = sse(
            *reads, headers=[("Content-Encoding", "gzip")], pause=0.08, end=Hang(20)
        )
        with RawServer([script], default=(Hang(20),), paths=info) as server:
            view = window.new_stream()
            view.bar.url.setText(server.url("/v1/chat/stream"))
            view.bar.connect_button.click()
            await _until(lambda: len(view.notices.keys()) >= 3 or view.refresh())
            await asyncio.sleep(0.3)  # the last flush
            window.refresh()
            select_last(view, lambda r: isinstance(r, Notice))
            window.refresh()
            await shot("08-warnings")
            view.bar.stop_button.click()
            await asyncio.sleep(0.1)

    async def profiles_scene(base: str) -> None:
        """Profiles (menu, save with the no-keyring notice, manage) and a live
        switch to the other theme: ``09-profiles*.png``, ``10-theme-live.png``."""
        from desktop.ui.request import RequestForm

        profiles = window.prefs.profiles
        view = window.new_stream()
        view.bar.set_form(RequestForm(f"{base}/api/ticker?rate=2&count=100000"))
        profiles.save(view.bar, "Bundled ticker")
        view.bar.set_form(
            RequestForm(
                "https://api.example.com/v1/chat/stream",
                "POST",
                (("Authorization", "Bearer sk-demo-123456789"),),
                '{"prompt": "hi", "stream": true}',
            )
        )
        profiles.save(view.bar, "LLM chat (POST)")
        profiles.load(view.bar, "Bundled ticker")
        view.bar.connect_button.click()
        await asyncio.sleep(2.2)
        view.bar.more.setChecked(True)
        window.refresh()
        await shot("09-profiles")
        view.bar.more.setChecked(False)
        profiles.load(view.bar, "LLM chat (POST)")
        await asyncio.sleep(0.2)  # its secret comes from the keychain's thread
        view.bar.saveProfileRequested.emit()
        await asyncio.sleep(0.2)
        dialog = profiles.dialog
        assert dialog is not None
        dialog.grab().save(str(out / f"09-profiles-save{suffix}.png"))
        dialog.reject()
        view.bar.manageProfilesRequested.emit()
        await asyncio.sleep(0.2)
        dialog = profiles.dialog
        assert dialog is not None
        dialog.grab().save(str(out / f"09-profiles-manage{suffix}.png"))
        dialog.reject()
        before = window.prefs.theme_choice
        window.prefs.set_theme("light" if args.dark else "dark")
        select_last(view, lambda r: isinstance(r, Event))
        await asyncio.sleep(0.3)
        await shot("10-theme-live")
        window.prefs.set_theme(before)
        theme.apply(app, dark=args.dark)

    async def rate_scene(base: str) -> None:
        """The Rate tab over 40 s of a ticker: a lab drop (gap), a stall, pings."""
        from PySide6.QtWidgets import QSplitter

        window.show_lab(False)
        window.jobs_dock.hide()
        view = window.new_stream()
        view.bar.url.setText(f"{base}/api/ticker?rate=60&size=120&count=100000")
        view.bar.connect_button.click()
        tabs = view.bottom
        tabs.setCurrentWidget(view.rate)
        plot = view.rate.plot
        assert plot is not None
        plot.span.setCurrentIndex(1)  # the last minute
        view.findChild(QSplitter, "timelineSplit").setSizes([260, 560])
        await asyncio.sleep(12)
        _post(base, "/api/lab/drop")  # gap: the server's retry is 1,500 ms
        await asyncio.sleep(10)
        _post(base, "/api/lab/stall", {"seconds": 5})  # nothing at all, pings too
        await asyncio.sleep(12.5)
        window.refresh()
        await shot("11-rate")
        tabs.setCurrentIndex(0)

    async def limits_scene(base: str) -> None:
        """The "Reconnect & limits" tab of a job stream that closes on ``end``."""
        from desktop.ui.limits import LimitsForm
        from desktop.ui.request import RequestForm

        view = window.new_stream()
        limits = LimitsForm(
            read_timeout="20",
            max_attempts="5",
            max_backoff_ms="30000",
            reconnect_on_status="502,503,504",
            close_on="end",
        )
        view.bar.set_form(RequestForm(f"{base}/api/events", limits=limits))
        view.bar.connect_button.click()
        await asyncio.sleep(2)
        view.bar.more.setChecked(True)
        view.bar.tabs.setCurrentWidget(view.bar.limits)
        window.refresh()
        await shot("12-limits")
        view.bar.more.setChecked(False)
        view.bar.stop_button.click()

    async def run() -> None:
        try:
            await scenes()
        finally:
            await viewer.shutdown()

    loop.run_until_complete(run())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
