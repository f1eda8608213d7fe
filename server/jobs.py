"""Jobs: what users start and stop; runner tasks publish each job's story to the broker.

A job's topic is ``job:<id>``: ``status``, ``progress``, ``log`` … and one ``end``,
after which the topic closes.  Lifecycle changes also go to the ``events`` topic as
``job`` events.  A cancel is a request the job sees at its next ``ctx.sleep``;
asyncio cancellation is kept for server shutdown only.  No FastAPI here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from server import events
from server.events import EndStatus, JobStatus
from server.kinds import KINDS, JobFailedError, JobParams, Level

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pydantic import BaseModel

    from server.broker import Broker

log = logging.getLogger("server.jobs")

EVENTS_TOPIC = "events"


_END: dict[JobStatus, EndStatus] = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}


class UnknownKindError(LookupError):
    """No job kind of that name."""


class UnknownJobError(LookupError):
    """No job of that id (never existed, or finished long ago and was forgotten)."""

    def __init__(self, job_id: str, reason: UnknownReason = "unknown") -> None:
        super().__init__(job_id)
        self.job_id = job_id
        self.reason = reason

    @property
    def message(self) -> str:
        """A sentence a client can show as it is."""
        if self.reason == "other-run":
            return (
                f"job {self.job_id!r} belonged to another server run (the server "
                "restarted since): its story is gone; start the job again"
            )
        if self.reason == "forgotten":
            return f"job {self.job_id!r} finished long ago and was forgotten"
        return f"no job {self.job_id!r}"


UnknownReason = Literal["other-run", "forgotten", "unknown"]


class JobsFullError(Exception):
    """As many jobs run as the server allows: try again once one finished."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"{limit} jobs are running, the most this server runs at once: "
            "try again when one has finished (or cancel one)"
        )
        self.limit = limit


class JobFinishedError(Exception):
    """The job already finished: it cannot be cancelled."""


class JobCancelledError(Exception):
    """Raised inside a job at its next wait after a cancel request."""


@dataclass(slots=True)
class Job:
    """A job and its state, as the routes show it."""

    id: str
    params: JobParams
    state: JobStatus = JobStatus.QUEUED
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    done: int = 0
    total: int = 0
    phase: str | None = None
    omit_end: bool = False
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def topic(self) -> str:
        return f"job:{self.id}"

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.params.kind,
            "params": self.params.model_dump(),
            "status": self.state.value,
            "phase": self.phase,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "progress": {"done": self.done, "total": self.total},
            "events_url": f"/api/jobs/{self.id}/events",
        }


@dataclass(frozen=True, slots=True)
class JobLimits:
    """How much the jobs may hold: running at once, per log, finished ones kept."""

    max_running: int = 64  # a start past it is refused (JobsFullError)
    log_size: int = 10_000  # events each job's log keeps
    log_bytes: int = 4 * 1024 * 1024  # bytes each job's log keeps (StoredEvent.size)
    max_finished: int = 100  # finished jobs kept (their story), then forgotten
    finished_bytes: int = 32 * 1024 * 1024  # bytes of finished jobs' logs kept


class SharedJobs(Protocol):
    """Job records every worker sees (`server.redis_jobs`), besides this process's.

    A job runs in the worker that started it; the others read its record, follow
    its topic and ask its owner to cancel it.
    """

    def on_cancel(self, handler: Callable[[str], None]) -> None:
        """``handler(job_id)`` is called here when any worker asks to cancel."""
        ...

    async def save(self, job: Job) -> None:
        """Write the record of a job of this process (at start and each change)."""
        ...

    async def finished(self, job: Job) -> None:
        """Its final record; forgets the oldest finished jobs past the bound."""
        ...

    async def load(self, job_id: str) -> dict[str, object] | None: ...

    async def list(self) -> list[dict[str, object]]: ...

    async def cancel(self, job_id: str) -> dict[str, object]:
        """Ask the owner to cancel; UnknownJobError, JobFinishedError."""
        ...

    async def follow(self, job_id: str) -> str:
        """The topic of another worker's job, made readable here."""
        ...

    async def forget(self, job_id: str) -> None: ...


class _Context:
    """The `kinds.Context` of one job: publishes to its topic."""

    def __init__(
        self, job: Job, broker: Broker, shared: SharedJobs | None = None
    ) -> None:
        self._job = job
        self._broker = broker
        self._shared = shared

    async def _save(self) -> None:
        if self._shared is not None:
            await self._shared.save(self._job)

    async def _publish(self, type_: str, payload: BaseModel) -> None:
        await self._broker.publish(self._job.topic, type_, payload.model_dump_json())

    async def phase(self, name: str) -> None:
        self._job.phase = name
        await self._save()
        await self._publish(
            "status",
            events.Status(job=self._job.id, status=JobStatus.RUNNING, phase=name),
        )

    async def progress(
        self,
        done: int,
        total: int,
        *,
        unit: str = "steps",
        rate: float | None = None,
        eta_s: float | None = None,
    ) -> None:
        self._job.done, self._job.total = done, total
        await self._save()
        percent = round(100 * done / total, 2) if total else 0.0
        payload = events.Progress(
            job=self._job.id,
            done=done,
            total=total,
            percent=percent,
            unit=unit,
            rate=rate,
            eta_s=eta_s,
        )
        await self._publish("progress", payload)

    async def log(self, level: Level, line: str) -> None:
        await self._publish("log", events.Log(job=self._job.id, level=level, line=line))

    async def sleep(self, seconds: float) -> None:
        if self._job.cancel_requested.is_set():
            raise JobCancelledError
        try:
            async with asyncio.timeout(seconds):
                await self._job.cancel_requested.wait()
        except TimeoutError:
            return
        raise JobCancelledError


class JobManager:
    """Creates, runs, cancels and forgets jobs; owns their tasks."""

    def __init__(
        self, broker: Broker, limits: JobLimits, shared: SharedJobs | None = None
    ) -> None:
        self._broker = broker
        self._limits = limits
        self._shared = shared
        if shared is not None:
            shared.on_cancel(self._cancel_asked)
        self._jobs: dict[str, Job] = {}
        self._finished: deque[tuple[str, int]] = deque()  # id, bytes its log holds
        self._finished_bytes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_number = 1
        self.omit_end_next = 0  # lab: this many next jobs end without an `end` event

    def get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownJobError(job_id, self._why_unknown(job_id)) from None

    def _why_unknown(self, job_id: str) -> UnknownReason:
        """Ids are ``<run>-j<n>`` (see `start`): the run says which server made it."""
        run, sep, n = job_id.rpartition("-j")
        if not sep or not (n.isascii() and n.isdigit()) or len(n) > 18:
            return "unknown"
        if run != self._broker.run_id:
            return "other-run" if run else "unknown"
        return "forgotten" if int(n) < self._next_number else "unknown"

    def all(self) -> list[Job]:
        return list(self._jobs.values())

    async def describe(self, job_id: str) -> dict[str, object]:
        """One job's record, run here or (shared) by any worker."""
        if job_id in self._jobs or self._shared is None:
            return self.get(job_id).describe()
        record = await self._shared.load(job_id)
        if record is None:
            raise UnknownJobError(job_id, self._why_unknown(job_id))
        return record

    async def describe_all(self) -> list[dict[str, object]]:
        """Every job's record: this process's, and (shared) every worker's."""
        mine = {job.id: job.describe() for job in self._jobs.values()}
        if self._shared is None:
            return list(mine.values())
        others = [r for r in await self._shared.list() if r.get("id") not in mine]
        return sorted(
            [*mine.values(), *others], key=lambda r: float(str(r["created_at"]))
        )

    async def request_cancel(self, job_id: str) -> dict[str, object]:
        """Cancel a job run here, or ask its worker to (shared)."""
        if job_id in self._jobs or self._shared is None:
            return self.cancel(job_id).describe()
        return await self._shared.cancel(job_id)

    async def topic_of(self, job_id: str) -> str:
        """The topic to follow for a job, run here or by another worker."""
        if job_id in self._jobs or self._shared is None:
            return self.get(job_id).topic
        try:
            return await self._shared.follow(job_id)
        except UnknownJobError as exc:
            raise UnknownJobError(job_id, self._why_unknown(job_id)) from exc

    def _cancel_asked(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None and not job.state.finished:
            job.cancel_requested.set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    def parse(self, kind: str, params: Mapping[str, object]) -> JobParams:
        """Validated parameters; pydantic's ValidationError on bad ones."""
        try:
            model = KINDS[kind]
        except KeyError:
            known = ", ".join(KINDS)
            raise UnknownKindError(
                f"unknown job kind {kind!r}; known kinds: {known}"
            ) from None
        return model.model_validate(params)

    async def start(self, params: JobParams, *, omit_end: bool = False) -> Job:
        """Run a job; ``omit_end`` (a tagged lab omit-end) or the untagged count
        makes it finish without an `end` event.  JobsFullError when
        ``max_running`` jobs run already."""
        if len(self._tasks) >= self._limits.max_running:
            raise JobsFullError(self._limits.max_running)
        job = Job(f"{self._broker.run_id}-j{self._next_number}", params)
        self._next_number += 1
        if omit_end:
            job.omit_end = True
        elif self.omit_end_next > 0:
            self.omit_end_next -= 1
            job.omit_end = True
        self._jobs[job.id] = job
        await self._broker.open_topic(
            job.topic, self._limits.log_size, self._limits.log_bytes
        )
        if self._shared is not None:
            await self._shared.save(job)
        await self._lifecycle(job)
        task = asyncio.create_task(self._run(job), name=f"job {job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state.finished:
            raise JobFinishedError(f"job {job_id} already {job.state.value}")
        job.cancel_requested.set()
        return job

    async def close(self) -> None:
        """Server shutdown: cancel every running job and wait for their `end`."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _lifecycle(self, job: Job) -> None:
        payload = events.Job(
            job=job.id, kind=job.params.kind, status=job.state, error=job.error
        )
        await self._broker.publish(EVENTS_TOPIC, "job", payload.model_dump_json())

    async def _run(self, job: Job) -> None:
        ctx = _Context(job, self._broker, self._shared)
        job.state, job.started_at = JobStatus.RUNNING, time.time()
        await ctx._save()
        started = time.monotonic()
        await ctx._publish(
            "status", events.Status(job=job.id, status=JobStatus.RUNNING)
        )
        await self._lifecycle(job)
        try:
            await job.params.run(ctx)
        except JobCancelledError:
            await self._finish(
                job, JobStatus.CANCELLED, "cancelled on request", started
            )
        except JobFailedError as exc:
            await self._finish(job, JobStatus.FAILED, str(exc), started)
        except asyncio.CancelledError:
            await self._finish(
                job, JobStatus.CANCELLED, "server shutting down", started
            )
            raise
        except Exception as exc:
            log.exception("job %s (%s) crashed", job.id, job.params.kind)
            await self._finish(
                job, JobStatus.FAILED, f"{type(exc).__name__}: {exc}", started
            )
        else:
            await self._finish(job, JobStatus.SUCCEEDED, None, started)

    async def _finish(
        self, job: Job, state: JobStatus, error: str | None, started: float
    ) -> None:
        job.state, job.error, job.finished_at = state, error, time.time()
        if not job.omit_end:
            end = events.End(
                job=job.id,
                status=_END[state],
                error=error,
                duration_s=round(time.monotonic() - started, 3),
            )
            await self._broker.publish(job.topic, "end", end.model_dump_json())
        await self._broker.close_topic(job.topic)
        if self._shared is not None:
            await self._shared.finished(job)
        await self._lifecycle(job)
        size = self._broker.retained_bytes(job.topic)
        self._finished.append((job.id, size))
        self._finished_bytes += size
        limits = self._limits
        while self._finished and (
            len(self._finished) > limits.max_finished
            or self._finished_bytes > limits.finished_bytes
        ):
            old_id, old_size = self._finished.popleft()
            self._finished_bytes -= old_size
            old = self._jobs.pop(old_id)
            await self._broker.delete_topic(old.topic)
            if self._shared is not None:
                await self._shared.forget(old_id)
