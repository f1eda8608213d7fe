"""Client of the server's jobs API (httpx, typed results).

``GET /api/info`` says whether a server speaks it (``features.jobs``); then
``/api/jobs/kinds`` gives each kind's parameters as JSON Schema, ``POST /api/jobs``
starts one, ``POST /api/jobs/{id}/cancel`` asks it to stop, and
``/api/jobs/{id}/events`` streams its ``status``, ``progress``, ``log`` and final
``end`` events (the stream closes after ``end``: follow it with
``close_on={"end"}``, or a client reconnects after completion).  JSON is parsed
into the values below here, at the edge, and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from desktop.core.engine.transport import make_client
from desktop.core.files.codec import BadValueError, read

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

JSON = dict[str, object]
END = "end"
FINISHED = frozenset({"succeeded", "failed", "cancelled"})


class JobsAPIError(Exception):
    """A call failed; ``status`` is the HTTP status when there was a response."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NoJobsAPIError(JobsAPIError):
    """The server does not speak our jobs API (no /api/info, or jobs not listed)."""


@dataclass(frozen=True, slots=True)
class Features:
    """What ``/api/info`` says a server can do (absent: it cannot)."""

    jobs: bool = False
    lab: bool = False
    token_required: bool = False


@dataclass(frozen=True, slots=True)
class ServerInfo:
    name: str = ""
    version: str = ""
    run_id: str = ""
    features: Features = Features()

    @property
    def jobs(self) -> bool:
        return self.features.jobs

    @property
    def lab(self) -> bool:
        return self.features.lab

    @property
    def token_required(self) -> bool:
        return self.features.token_required


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a job kind, from its JSON Schema property."""

    name: str
    type: str  # integer | number | string | boolean | enum | json
    title: str
    description: str
    default: object
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    description: str
    params: tuple[Param, ...]


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    status: str  # queued | running | succeeded | failed | cancelled
    phase: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    done: int
    total: int
    events_url: str  # absolute

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    status: str
    phase: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    done: int
    total: int
    percent: float
    unit: str = "steps"
    rate: float | None = None
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    line: str
    level: str = "info"


@dataclass(frozen=True, slots=True)
class JobEnd:
    status: str
    duration_s: float
    error: str | None = None


JobUpdate = StatusUpdate | ProgressUpdate | LogLine | JobEnd
_UPDATES: dict[str, type[JobUpdate]] = {
    "status": StatusUpdate,
    "progress": ProgressUpdate,
    "log": LogLine,
    END: JobEnd,
}


def parse_update(event_type: str, data: str) -> JobUpdate | None:
    """A job stream's event as a value; None for types we do not know or bad data."""
    cls = _UPDATES.get(event_type)
    if cls is None:
        return None
    try:
        return read(cls, json.loads(data))
    except (ValueError, RecursionError):  # BadValueError is a ValueError too
        return None


class JobsClient:
    """Calls one server's jobs API with the stream's auth headers."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self._own = client is None
        self._client = client or make_client(timeout=timeout_s)

    async def __aenter__(self) -> JobsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def info(self) -> ServerInfo:
        try:
            raw = await self._call("GET", "/api/info")
        except JobsAPIError as exc:
            if exc.status in (401, 403):
                raise
            raise NoJobsAPIError(exc.message, exc.status) from exc
        try:
            info = read(ServerInfo, raw)
        except BadValueError as exc:
            raise NoJobsAPIError(f"/api/info: {exc}") from None
        if not info.jobs:
            raise NoJobsAPIError("its /api/info turns jobs off")
        return info

    async def kinds(self) -> list[JobKind]:
        raw = await self._call("GET", "/api/jobs/kinds")
        return [_kind(item) for item in _list(raw)]

    async def start(self, kind: str, params: Mapping[str, object]) -> Job:
        raw = await self._call("POST", "/api/jobs", {"kind": kind, "params": params})
        return self._job(raw)

    async def jobs(self) -> list[Job]:
        raw = await self._call("GET", "/api/jobs")
        return [self._job(item) for item in _list(raw)]

    async def get(self, job_id: str) -> Job:
        return self._job(await self._call("GET", f"/api/jobs/{job_id}"))

    async def cancel(self, job_id: str) -> Job:
        return self._job(await self._call("POST", f"/api/jobs/{job_id}/cancel"))

    async def _call(self, method: str, path: str, body: object = None) -> object:
        url = self.base_url + path
        try:
            response = await self._client.request(
                method, url, headers=list(self.headers), json=body
            )
        except httpx.HTTPError as exc:
            raise JobsAPIError(f"{method} {path}: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise JobsAPIError(_error_text(response), response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise JobsAPIError(
                f"{method} {path}: not JSON", response.status_code
            ) from exc

    def _job(self, raw: object) -> Job:
        item = _dict(raw)
        progress = _dict(item.get("progress") or {})
        job_id = item.get("id")
        events = item.get("events_url") or f"/api/jobs/{job_id}/events"
        flat = {  # the progress counters sit in Job itself, the URL is made absolute
            **item,
            "done": progress.get("done", 0),
            "total": progress.get("total", 0),
            "events_url": str(httpx.URL(self.base_url + "/").join(str(events))),
        }
        try:
            return read(Job, flat)
        except BadValueError as exc:
            raise JobsAPIError(f"unexpected job from the server: {exc}") from None


def _error_text(response: httpx.Response) -> str:
    try:
        raw = response.json()
    except ValueError:
        raw = None
    if isinstance(raw, dict):
        for key in ("message", "detail"):
            if isinstance(raw.get(key), str):
                return f"HTTP {response.status_code}: {raw[key]}"
    return f"HTTP {response.status_code} {response.reason_phrase}"


def _kind(raw: object) -> JobKind:
    item = _dict(raw)
    schema = _dict(item.get("params", {}))
    properties = _dict(schema.get("properties", {}))
    required = schema.get("required", [])
    params = tuple(
        _param(
            name, _dict(prop), name in required if isinstance(required, list) else False
        )
        for name, prop in properties.items()
    )
    return JobKind(_str(item, "name"), _opt_str(item, "description") or "", params)


def _param(name: str, prop: JSON, required: bool) -> Param:
    kind = prop.get("type")
    choices = prop.get("enum")
    if isinstance(choices, list):
        kind, options = "enum", tuple(str(c) for c in choices)
    else:
        options = ()
        if kind not in ("integer", "number", "string", "boolean"):
            kind = "json"
    max_length = prop.get("maxLength")
    return Param(
        name=name,
        type=str(kind),
        title=_label(name),
        description=_opt_str(prop, "description") or "",
        default=prop.get("default"),
        minimum=_opt_float(prop, "minimum"),
        maximum=_opt_float(prop, "maximum"),
        max_length=max_length if isinstance(max_length, int) else None,
        choices=options,
        required=required,
    )


_UNITS = {"_s": "s", "_bytes": "bytes", "_bps": "B/s", "_ms": "ms"}


def _label(name: str) -> str:
    """``interval_s`` -> ``interval (s)``: schema titles ("Interval S") read worse."""
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} ({unit})"
    return name.replace("_", " ")


def _dict(raw: object) -> JSON:
    if not isinstance(raw, dict):
        raise JobsAPIError(f"expected a JSON object, got {type(raw).__name__}")
    return raw


def _list(raw: object) -> list[object]:
    if not isinstance(raw, list):
        raise JobsAPIError(f"expected a JSON array, got {type(raw).__name__}")
    return raw


def _str(raw: JSON, key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise JobsAPIError(f"{key!r} should be a string")
    return value


def _opt_str(raw: JSON, key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _opt_float(raw: JSON, key: str) -> float | None:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
