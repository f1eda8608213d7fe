"""API: the JSON routes (jobs, info) and a readable 422 for every validation error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from server import __version__, events, lab_counts
from server.jobs import (
    JobFinishedError,
    JobsFullError,
    UnknownJobError,
    UnknownKindError,
)
from server.kinds import describe_kinds
from server.labtag import RequestTag  # noqa: TC001 (FastAPI reads it at runtime)
from server.runtime import Runtime, runtime_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request

Rt = Annotated[Runtime, Depends(runtime_of)]
JOBS_FULL_RETRY_S = 5  # Retry-After when every job slot is taken
router = APIRouter(tags=["api"])


class JobRequest(BaseModel):
    """`POST /api/jobs`: a kind and its parameters (every one has a default)."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="see GET /api/jobs/kinds")
    params: dict[str, JsonValue] = Field(default_factory=dict)


def readable(errors: Sequence[object]) -> str:
    """``params.steps: Input should be ...; kind: ...`` from pydantic error dicts."""
    parts = []
    for error in errors:
        if isinstance(error, dict):
            loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query")]
            parts.append(f"{'.'.join(loc) or 'request'}: {error.get('msg', '')}")
    return "; ".join(parts)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's ``detail`` list plus one ``message`` a person can read."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {k: v for k, v in e.items() if k in ("loc", "msg", "type")}
        for e in errors
        if isinstance(e, dict)
    ]
    return JSONResponse(
        {"message": readable(detail), "detail": detail}, status_code=422
    )


async def unknown_job(request: Request, exc: Exception) -> JSONResponse:
    """404 saying why: never existed, forgotten, or made by another server run.

    Job ids carry the run that made them, so after a restart a client resuming a
    job's stream learns that the job is gone for good, in words it can show.
    """
    assert isinstance(exc, UnknownJobError)
    rt: Runtime = request.app.state.runtime
    return JSONResponse(
        {
            "message": exc.message,
            "detail": exc.message,
            "reason": exc.reason,
            "job": exc.job_id,
            "run_id": rt.broker.run_id,
        },
        status_code=404,
    )


@router.get("/api/info")
async def info(rt: Rt) -> dict[str, object]:
    """Name, version, run id, features, settings and the event catalogue."""
    settings = rt.settings
    return {
        "name": settings.name,
        "version": __version__,
        "run_id": rt.broker.run_id,
        "broker": await rt.broker.describe(),
        "worker": {
            "id": rt.worker,
            "workers": settings.workers,
            "per_worker_logs": settings.per_worker_logs,
        },
        "features": {
            "jobs": True,
            "lab": settings.lab,
            "token_required": settings.token is not None,
        },
        "settings": settings.public(),
        "streams": {"all": events.ALL, "job": events.JOB, "ticker": events.TICKER},
        "events": events.catalogue(),
    }


@router.get("/api/jobs/kinds")
async def job_kinds() -> list[dict[str, object]]:
    """Every job kind: name, description, JSON Schema of its parameters."""
    return describe_kinds()


@router.post("/api/jobs", status_code=201, response_model=None)
async def create_job(
    body: JobRequest, rt: Rt, tag: RequestTag
) -> dict[str, object] | JSONResponse:
    """Start a job; 422 for an unknown kind or bad parameters, 429 when full.

    A lab tag (``?lab_tag=`` or ``X-Lab-Tag``) lets ``omit-end`` sent with that
    tag reach this job (the lab's lessons; see `server.labtag`).
    """
    try:
        params = rt.jobs.parse(body.kind, body.params)
    except UnknownKindError as exc:
        msg = str(exc.args[0])
        raise RequestValidationError(
            [{"loc": ("body", "kind"), "msg": msg, "type": "value_error"}]
        ) from None
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "params", *e["loc"]),
                    "msg": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors(include_url=False, include_context=False)
            ]
        ) from None
    try:
        omit_end = await lab_counts.take_omit_end(rt.counts, rt.lab, rt.jobs, tag)
        job = await rt.jobs.start(params, omit_end=omit_end)
    except JobsFullError as exc:
        return JSONResponse(
            {"message": str(exc), "detail": str(exc), "limit": exc.limit},
            status_code=429,
            headers={"Retry-After": str(JOBS_FULL_RETRY_S)},
        )
    return job.describe()


@router.get("/api/jobs")
async def list_jobs(rt: Rt) -> list[dict[str, object]]:
    """Running jobs and the most recent finished ones (of every worker)."""
    return await rt.jobs.describe_all()


@router.get("/api/jobs/{job_id}")
async def get_job(job_id: str, rt: Rt) -> dict[str, object]:
    """One job; 404 (see `unknown_job`) when there is none of that id."""
    return await rt.jobs.describe(job_id)


@router.post("/api/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, rt: Rt) -> dict[str, object]:
    """Ask a job to stop; 409 if it already finished."""
    try:
        return await rt.jobs.request_cancel(job_id)
    except JobFinishedError as exc:
        raise HTTPException(409, str(exc)) from None
