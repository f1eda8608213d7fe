"""The Lab dock's logic for the stream in front: lanes fed live, the sent versus
received badges, the naive client and the browser lane.

It reads the stream's records from its record store with a cursor (only what
is new, at the 4 Hz refresh), so the hot path pays nothing for the lab.
Network work runs in tasks owned by the stream controller's task set, so the
app's shutdown cancels and awaits them like every other task.  Faults are
`FaultRunner`'s (faults.py), lessons `LessonRunner`'s (lesson_runner.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QDesktopServices

from desktop.core.lab.client import LabClient, LabError
from desktop.core.lab.lanes import browser_lane, match_subscriptions, server_lane
from desktop.ui.controller import feed
from desktop.ui.lab.faults import FaultRunner
from desktop.ui.lab.tracks import ClientTrack, compare, topic_of
from desktop.ui.request import bearer, origin
from desktop.ui.session import StreamSession

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from desktop.core.engine.records import Record
    from desktop.core.lab.client import Published, SentLog
    from desktop.core.lab.continuity import Continuity
    from desktop.core.lab.export import LabRun
    from desktop.core.lab.lanes import Lane
    from desktop.ui.controller import StreamController, StreamHandle
    from desktop.ui.lab.fault_bar import FaultRequest
    from desktop.ui.lab.lesson_runner import LessonRunner
    from desktop.ui.lab.panel import LabPanel

POLL_S = 1.0
SETTLE_S = 0.3  # published this recently: maybe still on its way
APP_TITLE = "app (our client)"
NAIVE_TITLE = "naive client (no Last-Event-ID)"
NO_LOG_NOTE = (
    "No publish log for this stream: the ticker computes its events on the fly "
    "and the server keeps no record of them, so lost/repeated cannot be counted "
    "here. Open /api/events (tick “Publish a pulse”) or a job's stream to "
    "compare sent with received."
)


class LabController(QObject):
    """Drives a :class:`LabPanel` for the stream in front."""

    def __init__(
        self,
        panel: LabPanel,
        streams: StreamController,
        restart: Callable[[], Awaitable[None]] | None = None,
        parent: QObject | None = None,
        bundled: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.streams = streams
        # The bundled server's URL (None while it starts): the lab is always
        # on there, whatever the stream in front is connected to.
        self.bundled = bundled or (lambda: None)
        self.on_lab_server = False  # the stream in front is on the lab's server
        self._followed = False
        self.handle: StreamHandle | None = None
        self.base: str | None = None
        self.lab: LabClient | None = None
        self.available = False
        self.app = ClientTrack("app", APP_TITLE)
        self.naive: ClientTrack | None = None
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
        self.lessons: LessonRunner | None = None  # set by the dock when it has one
        self.faults = FaultRunner(lambda: self.lab, restart, panel.show_message)
        self._cursor = 0  # the next sequence number to read from the store
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
        if handle is self.handle and self._followed:
            return
        self._followed = True  # no stream at all still probes the bundled server
        self.handle = handle
        self.app = ClientTrack("app", APP_TITLE)
        self._cursor = 0
        self._since = time.time()
        self.app_result = self.naive_result = None
        self.published, self.sent = [], []
        self.browser = self.server = None
        self.set_naive(False)
        self.panel.naive.setChecked(False)
        self.panel.lanes.clear()
        front = (
            origin(handle.form.url) if handle is not None and handle.form.url else None
        )
        bundled = self.bundled()
        if self.lessons is not None:
            self.lessons.base = bundled  # lessons open their own streams there
        base = front or bundled
        self.base, self.lab, self.available = base, None, False
        self.on_lab_server = False
        if base is None:
            self.panel.set_available(
                False, "Lab: open a stream on the bundled server first."
            )
            return
        self.panel.set_available(False, f"Lab: asking {base} whether its lab is on…")
        self._spawn(self._probe(base, handle if front else None, bundled))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    async def _probe(
        self, base: str, handle: StreamHandle | None, bundled: str | None = None
    ) -> None:
        """Is the lab on at ``base`` (the front stream's server)? If not, the
        lab works on the bundled server, and says which streams it acts on."""
        headers = bearer(handle.form.headers) if handle is not None else ()
        lab = LabClient(base, self.streams.client, headers)
        try:
            await lab.state()
        except LabError as exc:
            if self.base != base:
                return
            if bundled is not None and bundled != base:
                self.base = bundled
                await self._probe(bundled, None)
                if self.available:
                    self.panel.set_available(
                        True,
                        f"Faults act on the bundled server {bundled} and its streams; "
                        f"the stream in front is on {base}, which has no lab.",
                    )
                return
            self.panel.set_available(
                False,
                f"Lab unavailable: {exc.message}. The lab needs the bundled server "
                "(or `sse-viewer serve --lab`).",
            )
            return
        if self.base != base:
            return
        self.lab, self.available = lab, True
        if self.lessons is not None and self.lessons.base is None:
            self.lessons.base = base  # a lab server of the user's own
        if handle is None:
            self.panel.set_available(
                True, f"Faults act on the bundled server {base} and its streams."
            )
            return  # no stream of ours there: nothing to compare or poll
        self.on_lab_server = True
        path = handle.form.url[len(base) :]
        self.panel.set_available(
            True, f"Faults act on {base} · the stream in front is {path or '/'}"
        )
        if topic_of(handle.form.url if handle is not None else "") is None:
            self.panel.show_badges(None, None, NO_LOG_NOTE, no_log=True)
        if self._poll is None or self._poll.done():
            self._poll = self._spawn(self._polling())

    # -- the 4 Hz refresh ----------

    def refresh(self) -> None:
        self._collect()
        lessons = self.lessons
        lesson = lessons.shown_lanes() if lessons is not None else None
        if lesson is not None and lessons is not None:
            # A finished lesson's lanes end where it ended, not at "now".
            self.panel.lanes.set_lanes(lesson, lessons.ended_at or time.time())
        else:
            self.panel.lanes.set_lanes(self.lanes(), time.time())

    def _collect(self) -> None:
        """Fold what the clients received since the last look into their tracks."""
        handle = self.handle
        if handle is not None:
            rows, self._cursor = handle.session.store.since(self._cursor)
            if rows:
                self.app.take(list(rows))
        self.app.fold()
        if self.naive is not None:
            self.naive.fold()

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
            with contextlib.suppress(LabError):  # shown as a note, retried next second
                await self.poll_once()
            await asyncio.sleep(POLL_S)

    def _moved(self, lab: object, handle: object) -> bool:
        """Whether the Lab follows another stream than when a poll began."""
        return self.lab is not lab or self.handle is not handle

    async def poll_once(self) -> None:
        """Published and sent logs of the stream's topic; badges and server lane."""
        lab, handle = self.lab, self.handle
        if lab is None or handle is None:
            return
        topic = topic_of(handle.form.url)
        try:
            if topic is not None:
                # Events still in flight are not lost yet: stop short of now.
                until = time.time() - SETTLE_S
                published, complete = await lab.published(topic, self._since, until)
                if self._moved(lab, handle):
                    return  # the user turned to another stream meanwhile
                self._collect()  # received up to now, so nothing counts lost early
                self.published = published
                self.app.builder.know_published(published)
                self.app_result = compare(self.app, published)
                if self.naive is not None:
                    self.naive.builder.know_published(published)
                    self.naive_result = compare(self.naive, published)
                self.note = (
                    f"{len(published)} published on {topic!r} since the lab started"
                    + (
                        ""
                        if complete
                        else " (part already fell out of the server's log)"
                    )
                    + ". Each client is counted from its own first connection."
                )
            else:
                self.note = NO_LOG_NOTE
            sent = await lab.sent(topic)
            if self._moved(lab, handle):
                return
            self.sent = [s for s in sent if s.opened >= self._since - 1]
            # The server's side of our client only: the naive client's
            # subscriptions would interleave with ours on one lane.
            ours = match_subscriptions(self.app.builder.segments, self.sent)
            self.server = server_lane(
                [s for s in ours if s is not None], "server, as it saw our client"
            )
            if self.browser_on:
                observed = await lab.browser()
                if self._moved(lab, handle):
                    return
                self.browser = browser_lane(observed, "browser EventSource")
        except LabError as exc:
            self.note = f"Lab: {exc.message}"
        self.panel.show_badges(
            self.app_result,
            self.naive_result,
            self.note,
            no_log=topic is None,
            opened=(self.app.first_open, self.naive.first_open if self.naive else None),
        )

    # -- intents ----------

    def fault(self, request: FaultRequest) -> None:
        self._spawn(self.faults.run(request))

    def set_pulse(self, on: bool) -> None:
        self._spawn(self.faults.pulse(on))

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
        options = dataclasses.replace(
            handle.session.options, send_last_event_id=False, last_event_id=""
        )
        client = ClientTrack("naive", NAIVE_TITLE)
        session = StreamSession(options)
        self.naive, self.naive_session = client, session

        def on_batch(batch: list[Record]) -> None:
            client.take(batch)  # its rows wait in its store, for the export

        self.naive_task = self._spawn(
            feed(session, self.streams.client, on_batch, lambda: None)
        )

    def open_browser(self) -> None:
        if self.base is None:
            return
        self.watch_browser()
        url = f"{self.base}/"
        if not QDesktopServices.openUrl(QUrl(url)):
            self.panel.show_message(
                f"No browser could be started here: open {url} in one yourself; "
                "its EventSource lane appears when the page connects."
            )

    def open_page(self, url: str) -> bool:
        """Open ``url`` in the user's browser (a lesson's page); False if none."""
        return QDesktopServices.openUrl(QUrl(url))

    def watch_browser(self) -> asyncio.Task[None]:
        """Start drawing the browser page's lane (its old observations cleared)."""
        self.browser_on = True
        return self._spawn(self._clear_browser())

    async def _clear_browser(self) -> None:
        if self.lab is not None:
            with contextlib.suppress(LabError):
                await self.lab.clear_browser()

    def show_lesson(self, title: str) -> None:
        """A lesson started: its lanes replace the stream's until Back."""
        self.panel.lanes.clear()
        self.panel.back.show()
        self.panel.lanes_title.setText(f"Lanes: {title}")

    def show_stream(self) -> None:
        if self.lessons is not None:
            self.lessons.forget()
        self.panel.back.hide()
        self.panel.lanes_title.setText("Lanes: the stream in front")
        self.panel.lanes.clear()

    def server_ready(self) -> None:
        """The bundled server (re)started: what the dock shows as on must be on.

        A new process starts with every switch off; the pulse box, if ticked,
        is sent again, and the encoding choice shows identity again.
        """
        self.panel.fault_bar.encoding.setCurrentIndex(0)
        if self.panel.pulse.isChecked():
            self._spawn(self.faults.pulse(True))

    def run_snapshot(self) -> LabRun:
        """What the export writes: the lanes on screen, the comparison, a checklist."""
        from desktop.core.lab.export import LabRun

        self.refresh()
        lessons = self.lessons
        lesson = lessons.result if lessons is not None else None
        records: dict[str, list[Record]]
        if lessons is not None and lessons.lanes is not None and lesson is not None:
            records = dict(lesson.records)
        else:
            handle, naive = self.handle, self.naive_session
            records = {"app": handle.session.store.kept() if handle else []}
            if naive is not None:
                records["naive"] = naive.store.kept()
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
