"""Jobs of one server: probe its API, start and cancel jobs, follow each job's stream.

A job's stream is followed with the engine's close-on ``end``: the server closes
the stream after ``end``, and without close-on a client would reconnect to a
finished job (the classic SSE bug).  Every task is owned here and cancelled and
awaited by :meth:`JobsController.shutdown`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Event
from desktop.core.jobs import (
    END,
    JobsAPIError,
    JobsClient,
    NoJobsAPIError,
    parse_update,
)
from desktop.ui.controller import feed
from desktop.ui.jobs.model import JobsModel
from desktop.ui.session import StreamSession
from desktop.ui.tasks import TaskSet

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from desktop.core.engine.records import Record
    from desktop.core.jobs import Job, JobKind
    from desktop.ui.jobs.model import JobRow

TICK_MS = 500


class JobsController(QObject):
    availabilityChanged = Signal(bool, str)  # noqa: N815 (available, what to say)
    kindsChanged = Signal(object)  # noqa: N815 (list[JobKind])
    messageShown = Signal(str)  # noqa: N815

    def __init__(
        self, client: Callable[[], httpx.AsyncClient], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._http = client  # the app's shared client, made on first use
        self.model = JobsModel(self)
        self.base_url: str | None = None
        self.headers: tuple[tuple[str, str], ...] = ()
        self.kinds: list[JobKind] = []
        self.available = False
        self.server_info = ""  # "name version · url" of the probed server, if any
        self._client: JobsClient | None = None
        self._tasks = TaskSet()
        # Intents are numbered as asked; an answer is told only if no later
        # intent's answer was told already (a slow start's "Started …" must not
        # come after the "Asked … to stop" of a cancel clicked after it).
        self._asked = 0
        self._told = 0
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._refresh)
        self._tick.start()

    # -- which server ------------------------------------------------------------

    def set_server(
        self, base_url: str | None, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Point the panel at ``base_url`` (None: no server); re-probes on change.

        The same server with other headers (another tab's token) keeps its jobs
        and their streams; it is probed again only if it was not usable yet.
        """
        if base_url == self.base_url:
            if headers != self.headers and base_url is not None:
                self.headers = headers
                self._client = JobsClient(
                    base_url, headers=headers, client=self._http()
                )
                if not self.available:
                    self.reprobe()
            return
        self.base_url, self.headers = base_url, headers
        for task in self._followers.values():
            task.cancel()
            self._tasks.keep(task)  # awaited by shutdown like any other
        self._followers.clear()
        self.model.clear()
        self.kinds, self.server_info = [], ""
        self.available = False
        self._client = None
        if base_url is None:
            self.availabilityChanged.emit(False, "No server to run jobs on.")
            return
        self._client = JobsClient(base_url, headers=headers, client=self._http())
        self.availabilityChanged.emit(False, f"Asking {base_url} for its jobs API…")
        self._tasks.spawn(self._probe(self._client))

    def reprobe(self) -> None:
        if self._client is not None:
            self._tasks.spawn(self._probe(self._client))

    async def _probe(self, client: JobsClient) -> None:
        try:
            info = await client.info()
            kinds = await client.kinds()
            jobs = await client.jobs()
        except NoJobsAPIError as exc:
            self._unavailable(
                client, f"{client.base_url} has no jobs API ({exc.message})."
            )
            return
        except JobsAPIError as exc:
            hint = " Add its token in the connection bar." if exc.status == 401 else ""
            self._unavailable(
                client, f"Cannot use jobs on {client.base_url}: {exc}.{hint}"
            )
            return
        if client is not self._client:
            return
        self.kinds, self.available = kinds, True
        self.kindsChanged.emit(kinds)
        for job in reversed(jobs):
            self.model.upsert(job)
        self.server_info = f"{info.name} {info.version} · {client.base_url}"
        self.availabilityChanged.emit(True, self.server_info)

    def _unavailable(self, client: JobsClient, message: str) -> None:
        if client is self._client:
            self.available = False
            self.availabilityChanged.emit(False, message)

    # -- intents -----------------------------------------------------------------

    def start_job(self, kind: str, params: Mapping[str, object]) -> asyncio.Task[None]:
        return self._tasks.spawn(self._start(kind, params, self._next_intent()))

    def _next_intent(self) -> int:
        self._asked += 1
        return self._asked

    def _tell(self, intent: int, message: str) -> None:
        if intent > self._told:
            self._told = intent
            self.messageShown.emit(message)

    async def _start(
        self, kind: str, params: Mapping[str, object], intent: int
    ) -> None:
        client = self._client
        if client is None:
            return
        try:
            job = await client.start(kind, params)
        except JobsAPIError as exc:
            self._tell(intent, f"Could not start {kind}: {exc.message}")
            return
        self._tell(intent, f"Started {job.kind} job {job.id}")
        self.follow(self.model.upsert(job))

    def cancel_job(self, job_id: str) -> asyncio.Task[None]:
        return self._tasks.spawn(self._cancel(job_id, self._next_intent()))

    async def _cancel(self, job_id: str, intent: int) -> None:
        client = self._client
        if client is None:
            return
        try:
            job: Job = await client.cancel(job_id)
        except JobsAPIError as exc:
            self._tell(intent, f"Could not cancel {job_id}: {exc.message}")
            return
        self._tell(intent, f"Asked job {job_id} to stop")
        self.model.upsert(job)

    def follow(self, row: JobRow) -> asyncio.Task[None]:
        """Follow the job's stream until ``end``, resuming after its last id, if any."""
        task = self._followers.get(row.id)
        if task is not None and not task.done():
            return task
        resume = row.follower.last_event_id if row.follower is not None else ""
        options = StreamOptions(
            url=row.events_url,
            headers=self.headers,
            last_event_id=resume,
            close_on=frozenset({END}),
            raw=True,
        )
        row.follower = StreamSession(options)
        task = asyncio.ensure_future(self._follow(row, row.follower))
        self._followers[row.id] = task
        return task

    def stop_following(self, job_id: str) -> asyncio.Task[None] | None:
        """Close the job's stream; the job itself runs on."""
        task = self._followers.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    async def _follow(self, row: JobRow, session: StreamSession) -> None:
        def apply(batch: list[Record]) -> None:
            session.store.clear()  # no timeline here: keep only the state
            for record in batch:
                if isinstance(record, Event):
                    update = parse_update(record.type, record.data)
                    if update is not None:
                        row.apply(update, record.wall)
            self.model.changed(row)

        await feed(session, self._http(), apply, lambda: self.model.changed(row))

    # -- housekeeping ----------------------------------------------------------------

    def _refresh(self) -> None:
        if any(row.finished_at is None for row in self.model.rows):
            self.model.changed()

    async def shutdown(self) -> None:
        self._tick.stop()
        await self._tasks.cancel_all(*self._followers.values())
        self._client = None
