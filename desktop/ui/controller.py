"""Owns one engine task per stream, feeds the models, cancels everything on close.

The engine's batches go into each stream's :class:`StreamSession` (one pass per
network read), whose record store keeps the rows; a single-shot timer then has
the shown timelines publish what arrived, one insertion per model per flush, when
:class:`~desktop.core.flush.FlushPolicy` says: at once on a quiet stream, a frame
apart when busy, 50 ms apart under heavy load.  Timelines not shown (background
tabs) publish on a slow timer, :data:`BACKGROUND_MS`, and at once when shown.
Every task started here is kept in a handle or in ``_tasks`` and is cancelled and
awaited by :meth:`shutdown`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from desktop.core.engine.stream import EventStream
from desktop.core.engine.transport import DEFAULT_TRANSPORT, Transport, make_client
from desktop.core.flush import FlushPolicy
from desktop.core.store import DEFAULT_RETENTION, RecordStore
from desktop.ui import gc_guard
from desktop.ui.form_error import RequestError
from desktop.ui.request import RequestForm, build_options
from desktop.ui.session import StreamSession
from desktop.ui.state.attempts import AttemptsModel
from desktop.ui.tasks import TaskSet
from desktop.ui.timeline.model import TimelineModel

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    import httpx

    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import Record
    from desktop.core.files.recording import RecordingHeader

log = logging.getLogger(__name__)
# Timelines not shown repaint nothing; what they publish is only seen when shown
# (at once, then), so they catch up 4 times a second, as the numbers refresh.
BACKGROUND_MS = 250
_GIVE_BACK_MS = 200  # after a tab closes: its view's deleteLater has run by then


def make_app_client(transport: Transport = DEFAULT_TRANSPORT) -> httpx.AsyncClient:
    """One client for every stream and API call of the app that connect alike.

    Building one loads the CA bundle (0.1-0.2 s here), so the app does it once, at
    start-up, for the default transport.  So are httpcore's anyio modules, which
    it otherwise imports on the first request: PySide6's import hook reads and
    tokenizes the source of every new module, a 50 ms stall on the UI loop just as
    the first stream opens.  A streaming response that is cancelled is closed, not
    pooled: Stop still closes the socket at once.
    """
    importlib.import_module("anyio._backends._asyncio")
    return make_client(transport)


@dataclass(eq=False)
class StreamHandle:
    """One stream of the app: its bookkeeping, its models and its engine task."""

    session: StreamSession
    timeline: TimelineModel
    attempts: AttemptsModel
    form: RequestForm
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    recording: RecordingHeader | None = None  # a read-only stream from a file
    shown: bool = True  # its timeline is on screen (its view says when it is not)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def now(self) -> float:
        """The monotonic time the view measures against; a recording's stopped
        when it was saved (its records carry that machine's clock)."""
        if self.recording is None:
            return time.monotonic()
        if self.recording.clock is not None:
            return self.recording.clock
        last = self.session.store.rows(-1)
        return last[0].at if last else 0.0


async def feed(
    session: StreamSession,
    client: httpx.AsyncClient,
    on_batch: Callable[[list[Record]], None],
    on_end: Callable[[], None],
) -> None:
    """Run the engine for ``session`` until the stream closes or the task is cancelled.

    ``on_batch`` follows each ingested batch, ``on_end`` the last record whatever
    ended the stream.
    """
    try:
        async with EventStream(session.options, client=client) as stream:
            async for batch in stream.batches():
                session.ingest(batch)
                on_batch(batch)
    except asyncio.CancelledError:
        session.stopped()
        raise
    except Exception as exc:
        # The engine maps network failures to records; anything that still
        # escapes is a bug, shown in the stream (type and message), never a dialog.
        log.exception("stream %s crashed", session.options.url)
        session.crashed(f"internal error: {type(exc).__name__}: {exc}")
    else:
        session.stopped("the stream ended")
    finally:
        on_end()


class StreamController(QObject):
    """Streams and their tasks.  Widgets call in with intents; views poll sessions."""

    streamsChanged = Signal()  # noqa: N815

    def __init__(
        self, client: httpx.AsyncClient | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._clients: dict[Transport, httpx.AsyncClient] = {}  # besides the default
        # What the default client is made with: trust the bundled server's local
        # CA too once it serves https (trust_ca); clients it replaced, still used
        # by streams that started on them, are closed at shutdown.
        self._default = DEFAULT_TRANSPORT
        self._retired: list[httpx.AsyncClient] = []
        self.handles: list[StreamHandle] = []
        self._tasks = TaskSet()
        self._policy = FlushPolicy()
        self._flush = QTimer(self)  # the shown timelines, when the policy says
        self._flush.setSingleShot(True)
        self._flush.setTimerType(Qt.TimerType.PreciseTimer)  # a frame is 16 ms
        self._flush.timeout.connect(self._flush_shown)
        self._background = QTimer(self)
        self._background.setSingleShot(True)
        self._background.setInterval(BACKGROUND_MS)
        self._background.timeout.connect(self._flush_background)
        self._closing = False

    @property
    def client(self) -> httpx.AsyncClient:
        """The client of the default transport: the bundled server, jobs, the lab."""
        if self._client is None:
            self._client = make_app_client(self._default)
        return self._client

    def trust_ca(self, ca_file: str | None) -> None:
        """Trust ``ca_file`` (PEM) besides the system's store on the default client.

        For the bundled server's local CA: a stream with the default TLS settings
        (and jobs, the lab) then verifies its certificate as any other.
        """
        transport = replace(DEFAULT_TRANSPORT, ca_file=ca_file)
        if transport == self._default:
            return
        self._default = transport
        if self._client is not None:
            self._retired.append(self._client)
            self._client = None

    def client_for(self, transport: Transport) -> httpx.AsyncClient:
        """The shared client of streams that connect as ``transport`` says."""
        if transport == DEFAULT_TRANSPORT:
            return self.client
        client = self._clients.get(transport)
        if client is None:
            client = self._clients[transport] = make_app_client(transport)
        return client

    # -- streams ----------

    def new_stream(
        self, form: RequestForm | None = None, retention: int = DEFAULT_RETENTION
    ) -> StreamHandle:
        form = form or RequestForm(url="")
        try:
            options = build_options(form)
        except RequestError:
            options = build_options(RequestForm(url="http://localhost/"))
        session = StreamSession(options, store=RecordStore(retention))
        handle = StreamHandle(
            session,
            TimelineModel(session.store, self),
            AttemptsModel(session.attempts, self),
            form,
        )
        self.handles.append(handle)
        self.streamsChanged.emit()
        return handle

    def connect_stream(self, handle: StreamHandle, form: RequestForm) -> str:
        """Start (or restart) ``handle`` with ``form``; returns an error or ""."""
        if self._closing:
            return "The app is closing."
        if handle.recording is not None:
            return "A recording is read-only: use Connect live to open the URL."
        try:
            options = build_options(form)
        except RequestError as exc:
            return exc.message
        try:  # reads the CA file, client certificate and key now, not mid-connect
            self.client_for(options.transport)
        except (OSError, ssl.SSLError) as exc:
            return f"TLS settings: {exc}"
        handle.form = form
        previous = handle.task
        if previous is not None:
            previous.cancel()
        other_url = options.url != handle.session.options.url
        handle.session.reset_options(options)
        handle.task = asyncio.ensure_future(
            self._run(handle, options, previous, fresh=other_url)
        )
        return ""

    def stop(self, handle: StreamHandle) -> asyncio.Task[None] | None:
        """Cancel the stream's task: the engine closes its socket at once."""
        task = handle.task
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    def close_stream(self, handle: StreamHandle) -> None:
        """Stop the stream and let go of its rows: its models were children of
        this controller, and kept every record of a closed tab alive."""
        task = self.stop(handle)
        if task is not None:
            self._tasks.keep(task)  # shutdown still awaits it
        if handle in self.handles:
            self.handles.remove(handle)
            self.streamsChanged.emit()
            handle.timeline.deleteLater()
            handle.attempts.deleteLater()
            # Once the task let go too: memory back to the system where it can.
            if task is None or task.done():
                QTimer.singleShot(_GIVE_BACK_MS, gc_guard.give_back)
            else:
                task.add_done_callback(
                    lambda _t: QTimer.singleShot(_GIVE_BACK_MS, gc_guard.give_back)
                )

    async def _run(
        self,
        handle: StreamHandle,
        options: StreamOptions,
        previous: asyncio.Task[None] | None,
        *,
        fresh: bool = False,
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        # Once the old run has said its last (its "stopped" row): a new session,
        # and with another URL a fresh list, so two streams' rows never mix.
        handle.session.start_over()
        handle.attempts.reset(handle.session.attempts)
        if fresh:
            self.clear(handle)
            handle.session.raw.clear()
        client = self.client_for(options.transport)

        def wake() -> None:
            self._wake(handle)

        await feed(handle.session, client, lambda _batch: wake(), wake)

    def new_recording_stream(
        self,
        header: RecordingHeader,
        batches: AsyncIterator[list[Record]],
        form: RequestForm,
    ) -> StreamHandle:
        """A read-only stream whose session ingests a recording's batches."""
        retention = max(DEFAULT_RETENTION, header.rows or 0)
        session = StreamSession(header.options, store=RecordStore(retention))
        handle = StreamHandle(
            session,
            TimelineModel(session.store, self),
            AttemptsModel(session.attempts, self),
            form,
            recording=header,
        )
        handle.task = asyncio.ensure_future(self._replay(handle, batches))
        self.handles.append(handle)
        self.streamsChanged.emit()
        return handle

    async def _replay(
        self, handle: StreamHandle, batches: AsyncIterator[list[Record]]
    ) -> None:
        try:
            async for batch in batches:
                handle.session.ingest(batch)
                self._wake(handle)
        finally:
            if handle.recording is not None:  # raw bytes may be a part, or none
                handle.session.received_bytes = max(
                    handle.session.received_bytes, handle.recording.received_bytes
                )
            self._wake(handle)

    def _wake(self, handle: StreamHandle) -> None:
        """Rows arrived for ``handle``: schedule the flush that shows them."""
        if not handle.shown:
            if not self._background.isActive():
                self._background.start()
            return
        delay = self._policy.arrived(time.monotonic())
        if delay is not None:
            self._flush.start(round(delay * 1000))

    def _flush_shown(self) -> None:
        rows = 0
        for handle in self.handles:
            if handle.shown and not handle.session.paused:
                rows += handle.session.store.waiting
                handle.timeline.sync()
        self._policy.flushed(time.monotonic(), rows)

    def _flush_background(self) -> None:
        for handle in self.handles:
            if not handle.shown and not handle.session.paused:
                handle.timeline.sync()

    # -- what the stream view asks ----------

    def flush(self) -> None:
        """Every timeline not paused shows its new rows: one insertion per model."""
        for handle in self.handles:
            if not handle.session.paused:
                handle.timeline.sync()

    def set_shown(self, handle: StreamHandle, shown: bool) -> None:
        """Its view came on screen (it shows what arrived meanwhile, now) or left."""
        handle.shown = shown
        if handle.session.paused:
            return
        if shown:
            handle.timeline.sync()
        elif handle.session.store.waiting and not self._background.isActive():
            self._background.start()  # a stream that ended meanwhile is published

    def set_paused(self, handle: StreamHandle, paused: bool) -> None:
        handle.session.paused = paused
        if not paused:
            self._wake(handle)

    def clear(self, handle: StreamHandle) -> None:
        handle.session.types.clear()
        handle.timeline.clear()

    def set_retention(self, handle: StreamHandle, retention: int) -> None:
        """Keep ``retention`` rows, now (a paused timeline keeps its rows back)."""
        handle.session.store.set_retention(retention)
        handle.timeline.sync(publish=not handle.session.paused)

    # -- tasks that are not streams ----------

    def spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        """Run a helper task (lab polling, the naive client) that shutdown cancels."""
        return self._tasks.spawn(coro)

    async def shutdown(self) -> None:
        """Cancel every task and wait for them: sockets are closed when this returns."""
        self._closing = True
        await self._tasks.cancel_all(*(handle.task for handle in self.handles))
        self._flush.stop()
        self._background.stop()
        self._policy.cancel()
        for client in [self._client, *self._clients.values(), *self._retired]:
            if client is not None:
                await client.aclose()
        self._clients.clear()
        self._retired.clear()
