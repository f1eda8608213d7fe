"""The Lab dock's logic: lab calls, lanes fed live, the sent/received badges, the
naive client and lessons, all for the stream in front.

It reads the stream's records from its timeline model by sequence number (only
what is new, at the 4 Hz refresh), so the hot path pays nothing for the lab.
Network work runs in tasks owned by the stream controller's task set, so the
app's shutdown cancels and awaits them like every other task.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMessageBox, QWidget

from desktop.core.lanes import LaneBuilder, browser_lane, server_lane
from desktop.core.records import Event
from desktop.ui.controller import feed
from desktop.ui.request import bearer, origin
from desktop.ui.session import StreamSession

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from desktop.core.continuity import Continuity
    from desktop.core.labclient import LabClient, Published, SentLog
    from desktop.core.labexport import LabRun
    from desktop.core.lanes import Lane
    from desktop.core.lessons import LessonResult
    from desktop.core.records import Record
    from desktop.ui.controller import StreamController, StreamHandle
    from desktop.ui.lab_panel import FaultRequest, LabPanel
    from desktop.ui.lessons_panel import LessonsPanel
    from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)
POLL_S = 1.0
SETTLE_S = 0.3  # published this recently: maybe still on its way
MAX_EVENTS = 50_000  # received events kept for the comparison, per client


class _Client:
    """One client's lane and the events it received (ours or the naive one)."""

    def __init__(self, key: str, title: str) -> None:
        self.builder = LaneBuilder(key, title)
        self.events: list[Event] = []
        self.backlog: list[list[Record]] = []  # batches not folded in yet
        self.records: list[Record] = []  # for the NDJSON export (bounded)

    def take(self, batch: list[Record]) -> None:
        self.backlog.append(batch)

    def fold(self) -> None:
        backlog, self.backlog = self.backlog, []
        for batch in backlog:
            self.builder.feed(batch)
            self.events.extend(r for r in batch if isinstance(r, Event))
            self.records.extend(batch)
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]
        if len(self.records) > 4 * MAX_EVENTS:
            del self.records[: len(self.records) - 4 * MAX_EVENTS]


class LabController(QObject):
    """Drives a :class:`LabPanel` for the stream in front."""

    def __init__(
        self,
        panel: LabPanel,
        streams: StreamController,
        restart: Callable[[], Awaitable[None]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.streams = streams
        self.restart = restart
        self.handle: StreamHandle | None = None
        self.base: str | None = None
        self.lab: LabClient | None = None
        self.available = False
        self.app = _Client("app", "app (our client)")
        self.naive: _Client | None = None
        self.naive_session: StreamSession | None = None
        self.naive_task: asyncio.Task[None] | None = None
        self.browser_on = False
        self.published: list[Published] = []
        self.sent: list[SentLog] = []
        self.browser: Lane | None = None
        self.server: Lane | None = None
        self.app_result: Continuity | None = None
        self.naive_result: Continuity | None = None
        self.note = ""
        self.lesson_lanes: dict[str, LaneBuilder] | None = None
        self.lesson_result: LessonResult | None = None
        self.lessons_panel: LessonsPanel | None = None
        self._cursor = 0  # next timeline sequence number to read
        self._since = time.time()
        self._poll: asyncio.Task[None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        panel.faultRequested.connect(self.fault)
        panel.naiveToggled.connect(self.set_naive)
        panel.pulseToggled.connect(self.set_pulse)
        panel.browserRequested.connect(self.open_browser)
        panel.backRequested.connect(self.show_stream)

    # -- following the stream in front ----------

    def follow(self, handle: StreamHandle | None) -> None:
        """Work on ``handle`` (the stream in front); probe its server for the lab."""
        if handle is self.handle:
            return
        self.handle = handle
        self.app = _Client("app", "app (our client)")
        self._cursor = 0
        self._since = time.time()
        self.app_result = self.naive_result = None
        self.published, self.sent = [], []
        self.set_naive(False)
        self.panel.naive.setChecked(False)
        self.panel.lanes.clear()
        base = (
            origin(handle.form.url) if handle is not None and handle.form.url else None
        )
        self.base, self.lab, self.available = base, None, False
        if base is None:
            self.panel.set_available(
                False, "Lab: open a stream on the bundled server first."
            )
            return
        self.panel.set_available(False, f"Lab: asking {base} whether its lab is on…")
        self._spawn(self._probe(base, handle))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    async def _probe(self, base: str, handle: StreamHandle | None) -> None:
        from desktop.core.labclient import LabClient, LabError

        headers = bearer(handle.form.headers) if handle is not None else ()
        lab = LabClient(base, self.streams.client, headers)
        try:
            await lab.state()
        except LabError as exc:
            if self.base == base:
                self.panel.set_available(
                    False,
                    f"Lab unavailable: {exc.message}. The lab needs the bundled server "
                    "(or `sse-viewer serve --lab`).",
                )
            return
        if self.base != base:
            return
        self.lab, self.available = lab, True
        path = handle.form.url[len(base) :] if handle is not None else ""
        self.panel.set_available(True, f"Lab on {base} · stream {path or '/'}")
        if self._poll is None or self._poll.done():
            self._poll = self._spawn(self._polling())

    # -- the 4 Hz refresh ----------

    def refresh(self) -> None:
        handle = self.handle
        if handle is not None:
            timeline = handle.timeline
            first = max(0, self._cursor - timeline.base)
            rows = timeline.rows(first)
            if rows:
                self.app.take(list(rows))
                self._cursor = timeline.base + first + len(rows)
        self.app.fold()
        if self.naive is not None:
            self.naive.fold()
        if self.lesson_lanes is None:
            self.panel.lanes.set_lanes(self.lanes(), time.time())
        else:
            self.panel.lanes.set_lanes(
                [b.lane for b in self.lesson_lanes.values()], time.time()
            )

    def lanes(self) -> list[Lane]:
        """What the view shows for the stream in front, in lane order."""
        result = [self.app.builder.lane]
        if self.naive is not None:
            result.append(self.naive.builder.lane)
        if self.browser is not None and self.browser.segments:
            result.append(self.browser)
        if self.server is not None and self.server.segments:
            result.append(self.server)
        return result

    # -- polling the lab, off the hot path ----------

    async def _polling(self) -> None:
        while self.available and self.lab is not None:
            with contextlib.suppress(Exception):  # shown as a note, retried next second
                await self.poll_once()
            await asyncio.sleep(POLL_S)

    async def poll_once(self) -> None:
        """Published and sent logs of the stream's topic; badges and server lane."""
        from desktop.core.labclient import LabError

        lab, handle = self.lab, self.handle
        if lab is None or handle is None:
            return
        topic = topic_of(handle.form.url)
        try:
            if topic is not None:
                # Events still in flight are not lost yet: stop short of now.
                until = time.time() - SETTLE_S
                published, complete = await lab.published(topic, self._since, until)
                self.published = published
                self.app.builder.know_published(published)
                self.app_result = _compare(self.app, published)
                if self.naive is not None:
                    self.naive.builder.know_published(published)
                    self.naive_result = _compare(self.naive, published)
                self.note = (
                    f"{len(published)} published on {topic!r} since the lab started"
                    + (
                        ""
                        if complete
                        else " (part already fell out of the server's log)"
                    )
                )
            else:
                self.note = (
                    "This stream has no publish log to compare with "
                    "(the ticker computes its events)."
                )
            self.sent = [
                s for s in await lab.sent(topic) if s.opened >= self._since - 1
            ]
            self.server = server_lane(self.sent, "server (subscriptions)")
            if self.browser_on:
                self.browser = browser_lane(await lab.browser(), "browser EventSource")
        except LabError as exc:
            self.note = f"Lab: {exc.message}"
        self.panel.show_badges(self.app_result, self.naive_result, self.note)

    # -- intents ----------

    def fault(self, request: FaultRequest) -> None:
        self._spawn(self._fault(request))

    async def _fault(self, request: FaultRequest) -> None:
        from desktop.core.labclient import LabError

        lab = self.lab
        if request.action == "restart":
            if self.restart is None:
                self.panel.show_message(
                    "Only the app's bundled server can be restarted."
                )
                return
            self.panel.show_message("Restarting the bundled server on the same port…")
            await self.restart()
            self.panel.show_message("The server restarted: its in-memory log is gone.")
            return
        if lab is None:
            return
        action, number, choice = request.action, request.number, request.choice
        calls: dict[str, Callable[[], Coroutine[object, object, None]]] = {
            "drop": lab.drop,
            "cut": lab.cut,
            "stall": lambda: lab.stall(number),
            "refuse": lambda: lab.refuse(
                int(number), int(choice) if choice.isdigit() else choice
            ),
            "retry": lambda: lab.retry(int(number)),
            "forget": lab.forget,
            "omit-end": lambda: lab.omit_end(int(number) or 1),
            "encoding": lambda: lab.encoding(choice),
            "reset": lab.reset,
        }
        try:
            await calls[action]()
        except LabError as exc:
            self.panel.show_message(f"The lab refused {action}: {exc.message}")
            return
        self.panel.show_message(f"Lab: {action} done.")

    def set_pulse(self, on: bool) -> None:
        self._spawn(self._pulse(100 if on else 0))

    async def _pulse(self, every_ms: int) -> None:
        from desktop.core.labclient import LabError

        if self.lab is None:
            return
        try:
            await self.lab.pulse(every_ms)
        except LabError as exc:
            self.panel.show_message(f"The pulse could not be set: {exc.message}")

    def set_naive(self, on: bool) -> None:
        """A second engine task on the same URL that never sends Last-Event-ID."""
        if self.naive_task is not None:
            self.naive_task.cancel()
            self.naive_task = None
        if not on:
            self.naive = self.naive_session = None
            self.naive_result = None
            return
        handle = self.handle
        if handle is None:
            return
        fields = {f.name for f in dataclasses.fields(handle.session.options)}
        if "send_last_event_id" not in fields:
            self.panel.show_message("This engine cannot run a naive client yet.")
            return
        options = dataclasses.replace(
            handle.session.options, send_last_event_id=False, last_event_id=""
        )
        client = _Client("naive", "naive client (no Last-Event-ID)")
        session = StreamSession(options, retention=1000)
        self.naive, self.naive_session = client, session

        def on_batch(batch: list[Record]) -> None:
            client.take(batch)
            session.pending.clear()  # nobody shows the naive client's rows

        self.naive_task = self._spawn(
            feed(session, self.streams.client, on_batch, lambda: None)
        )

    def open_browser(self) -> None:
        if self.base is None:
            return
        self.browser_on = True
        self._spawn(self._clear_browser())
        QDesktopServices.openUrl(QUrl(f"{self.base}/"))

    async def _clear_browser(self) -> None:
        if self.lab is not None:
            with contextlib.suppress(Exception):
                await self.lab.clear_browser()

    def show_stream(self) -> None:
        self.lesson_lanes = None
        self.panel.back.hide()
        self.panel.lanes_title.setText("Lanes: the stream in front")
        self.panel.lanes.clear()

    # -- lessons ----------

    def lesson_records(self, lane: str, batch: list[Record]) -> None:
        """A lesson's live feed (LabContext.on_records)."""
        if self.lesson_lanes is None:
            self.lesson_lanes = {}
            self.panel.lanes.clear()
            self.panel.back.show()
        builder = self.lesson_lanes.get(lane)
        if builder is None:
            title = {"app": "app (our client)", "naive": "naive client"}.get(lane, lane)
            builder = self.lesson_lanes[lane] = LaneBuilder(lane, title)
        builder.feed(batch)

    def run_lesson(self, key: str) -> None:
        self._spawn(self._run_lesson(key))

    async def _run_lesson(self, key: str) -> None:
        from desktop.core.lessons import LESSONS
        from desktop.ui.lab_context import AppLabContext

        panel = self.lessons_panel
        if panel is None:
            return
        lesson = next((item for item in LESSONS if item.key == key), None)
        if lesson is None:
            panel.show_error(key, f"no lesson {key!r}")
            return
        if self.base is None or not self.available:
            panel.show_error(
                key, "Lessons need the bundled server's lab: open a stream on it first."
            )
            return
        self.lesson_lanes = None
        self.lesson_records("app", [])
        self.panel.lanes_title.setText(f"Lanes: lesson {lesson.number}, {lesson.title}")
        context = AppLabContext(
            self.base, self.streams.client, self._restart, self.lesson_records
        )
        panel.show_running(key)
        try:
            result = await lesson.run(context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("lesson %s crashed", key)
            panel.show_error(key, f"{type(exc).__name__}: {exc}")
            return
        self.lesson_result = result
        panel.show_result(result)

    async def _restart(self) -> None:
        if self.restart is None:
            raise RuntimeError("only the app's bundled server can be restarted")
        await self.restart()

    def run_snapshot(self) -> LabRun:
        """What the export writes: the lanes on screen, the comparison, a checklist."""
        from desktop.core.labexport import LabRun

        self.refresh()
        lesson = self.lesson_result
        records: dict[str, list[Record]]
        if self.lesson_lanes is not None and lesson is not None:
            records = dict(lesson.records)
        else:
            records = {"app": list(self.app.records)}
            if self.naive is not None:
                records["naive"] = list(self.naive.records)
        url = self.handle.form.url if self.handle is not None else ""
        return LabRun(
            title="Reconnect lab run",
            url=url,
            lanes=self.panel.lanes.lanes(),
            app=self.app_result,
            naive=self.naive_result,
            note=self.note,
            lesson=lesson,
            records=records,
        )

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        return self.streams.spawn(coro)


def _compare(client: _Client, published: list[Published]) -> Continuity | None:
    """Check a client against what was published while it was connected.

    The span starts at the client's first open: before it, nothing could reach
    it (a stream without Last-Event-ID starts live), so nothing counts as lost.
    """
    from desktop.core.continuity import check

    segments = client.builder.segments
    opened = next((s.opened for s in segments if s.opened is not None), None)
    if opened is None:
        return None
    span = [p for p in published if p.published >= opened]
    ids = {p.id for p in span}
    return check(span, [e for e in client.events if e.id in ids])


def topic_of(url: str) -> str | None:
    """The server topic a stream URL reads (None: not a logged topic)."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path.rstrip("/")
    if path == "/api/events":
        return "events"
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["api", "jobs"] and parts[4] == "events":
        return f"job:{parts[3]}"
    return None


class LabDock:
    """View → Lab: the dock, its panel and controller, built on first use.

    Follows the window's stream in front and refreshes only while shown.
    """

    def __init__(
        self, window: MainWindow, restart: Callable[[], Awaitable[None]] | None
    ) -> None:
        from desktop.ui.lab_panel import LabPanel

        self.window = window
        self.dock = QDockWidget("Lab", window)
        self.dock.setObjectName("labDock")
        self.panel = LabPanel()
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.controller = LabController(
            self.panel, window.controller, restart, self.dock
        )
        self.panel.exportRequested.connect(self.export)
        window.tabs.currentChanged.connect(lambda _index: self._follow())
        self.dock.visibilityChanged.connect(self._shown)
        self.lessons: QWidget | None = None
        self._place_lessons()

    def show(self, on: bool = True) -> None:
        self.dock.setVisible(on)
        if on:
            self.dock.raise_()
            height = max(420, self.window.height() // 2)
            self.window.resizeDocks([self.dock], [height], Qt.Orientation.Vertical)

    def _shown(self, visible: bool) -> None:
        if visible:
            self._follow()
            self.controller.start()
        else:
            self.controller.stop()

    def _follow(self) -> None:
        view = self.window.current_view()
        self.controller.follow(view.handle if view is not None else None)

    def _place_lessons(self) -> None:
        if importlib.util.find_spec("desktop.ui.lessons_panel") is None:
            return
        from desktop.ui.lessons_panel import LessonsPanel

        panel = LessonsPanel()
        panel.runRequested.connect(self.controller.run_lesson)
        self.controller.lessons_panel = panel
        self.lessons = panel
        self.panel.place_lessons(panel)

    def export(self) -> None:
        """Ask where, then write the HTML page and the NDJSON records beside it."""
        from desktop.core.labexport import write_lab_run

        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export lab run",
            str(Path.home() / "lab-run.html"),
            "HTML page (*.html)",
        )
        if not path:
            return
        run = self.controller.run_snapshot()
        try:
            html, ndjson = write_lab_run(run, Path(path))
        except OSError as exc:
            QMessageBox.warning(
                self.window, "Export lab run", f"Could not write {path}: {exc}"
            )
            return
        self.panel.show_message(
            f"Exported {html.name} and {ndjson.name} to {html.parent}"
        )
