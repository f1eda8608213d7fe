"""Events: every event type's JSON payload as a pydantic model, and their catalogue.

`GET /api/info` serves the catalogue (type, meaning, topics, JSON Schema), so the
wire format is written down in one place and checked by the same models that
produce it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

JSONScalar = str | int | float | bool | None


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"  # created, its task not started yet
    RUNNING = "running"  # its task runs
    SUCCEEDED = "succeeded"  # finished its work
    FAILED = "failed"  # raised, on purpose or not
    CANCELLED = "cancelled"  # stopped on request, or by server shutdown

    @property
    def finished(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


EndStatus = Literal["succeeded", "failed", "cancelled"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Status(_Payload):
    """A job's state or phase changed."""

    job: str
    status: JobStatus
    phase: str | None = None


class Progress(_Payload):
    """How far a job is: ``done`` of ``total`` units, and a rate where it has one."""

    job: str
    done: int
    total: int
    percent: float
    unit: str = "steps"
    rate: float | None = None  # units per second
    eta_s: float | None = None


class Log(_Payload):
    """One log line of a job."""

    job: str
    level: Literal["debug", "info", "warning", "error"]
    line: str


class End(_Payload):
    """A job's last event: the stream closes after it; a client must not reconnect."""

    job: str
    status: EndStatus
    error: str | None = None
    duration_s: float


class Job(_Payload):
    """A job's lifecycle on /api/events: created, running, finished."""

    job: str
    kind: str
    status: JobStatus
    error: str | None = None


class Lab(_Payload):
    """A lab fault the server applied, and what it did."""

    action: str
    detail: dict[str, JSONScalar]


class Pulse(_Payload):
    """The lab's steady beat on /api/events (``POST /api/lab/pulse``), with an id.

    ``n`` counts the beats since the pulse started, ``every_ms`` is its period.
    """

    n: int
    every_ms: int


class Server(_Payload):
    """The server's own lifecycle."""

    state: Literal["started", "stopping"]
    run_id: str
    version: str


class Stats(_Payload):
    """A live gauge, on connect and every second; no id, never logged."""

    subscriptions: int
    running_jobs: int
    events_per_s: float
    published: int
    uptime_s: float


class ReplayGap(_Payload):
    """The Last-Event-ID is not in the log: ``lost`` events are gone (null if unknown).

    The oldest retained events follow.  ``reason`` is "evicted" (the bounded log
    moved past it, or the lab forgot it) or "unknown" (another run, another topic).
    """

    last_event_id: str
    lost: int | None
    reason: Literal["evicted", "unknown"]


class Tick(_Payload):
    """Ticker event i: a pure function of i; its id is i."""

    i: int
    pad: str


@dataclass(frozen=True, slots=True)
class EventType:
    """One row of the catalogue."""

    name: str
    model: type[BaseModel]
    topics: tuple[str, ...]

    def describe(self) -> dict[str, object]:
        doc = (self.model.__doc__ or "").strip()
        return {
            "type": self.name,
            "meaning": " ".join(doc.split()),
            "topics": list(self.topics),
            "schema": self.model.model_json_schema(),
        }


JOB = "/api/jobs/{id}/events"
ALL = "/api/events"
TICKER = "/api/ticker"

CATALOGUE: tuple[EventType, ...] = (
    EventType("status", Status, (JOB,)),
    EventType("progress", Progress, (JOB,)),
    EventType("log", Log, (JOB,)),
    EventType("end", End, (JOB,)),
    EventType("job", Job, (ALL,)),
    EventType("lab", Lab, (ALL,)),
    EventType("pulse", Pulse, (ALL,)),
    EventType("server", Server, (ALL,)),
    EventType("stats", Stats, (ALL,)),
    EventType("replay-gap", ReplayGap, (JOB, ALL, TICKER)),
    EventType("tick", Tick, (TICKER,)),
)


def catalogue() -> list[dict[str, object]]:
    return [row.describe() for row in CATALOGUE]
