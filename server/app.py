"""App: ``create_app(settings) -> FastAPI``; its lifespan owns broker, jobs, gauge."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.middleware.cors import CORSMiddleware

from server import __version__, api, events, lab, page, streams
from server.accesslog import AccessLog
from server.admission import Admission
from server.auth import TokenGuard
from server.bodylimit import BodyLimit, too_large
from server.broker import MemoryBroker
from server.faults import LabState
from server.jobs import EVENTS_TOPIC, JobLimits, JobManager, UnknownJobError
from server.runtime import Runtime
from server.stats import StatsGauge
from server.subscriptions import Hub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.responses import Response

    from server.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """A server instance; nothing runs until uvicorn starts its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker = MemoryBroker()
        await broker.open_topic(EVENTS_TOPIC, settings.log_size, settings.log_bytes)
        limits = JobLimits(
            max_running=settings.max_running_jobs,
            log_size=settings.job_log_size,
            log_bytes=settings.job_log_bytes,
            max_finished=settings.max_finished_jobs,
            finished_bytes=settings.finished_jobs_bytes,
        )
        jobs = JobManager(broker, limits)
        rt = Runtime(
            settings,
            broker,
            Hub(200 if settings.lab else 0, settings.lab_sent_bytes),
            jobs,
            LabState(),
        )
        stats = StatsGauge(rt)
        app.state.runtime, app.state.stats = rt, stats
        await rt.publish(
            "server",
            events.Server(state="started", run_id=broker.run_id, version=__version__),
        )
        tasks = {
            asyncio.create_task(stats.run(), name="stats gauge"),
            asyncio.create_task(
                rt.hub.watch(settings.ping_s, settings.send_timeout_s), name="watchdog"
            ),
        }
        try:
            yield
        finally:
            await rt.begin_shutdown()  # no-op when the runner already began it
            await rt.lab.stop_pulse()
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            await jobs.close()

    app = FastAPI(
        title=settings.name,
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_exception_handler(RequestValidationError, api.validation_error)
    app.add_exception_handler(UnknownJobError, api.unknown_job)

    async def body_too_large(request: Request, exc: Exception) -> Response:
        return too_large(settings.max_body_bytes)

    app.add_exception_handler(413, body_too_large)
    app.include_router(api.router)
    app.include_router(streams.router)
    app.include_router(lab.router if settings.lab else lab.off_router)
    app.include_router(page.router)
    # Added innermost first: Admission wraps AccessLog wraps CORS wraps TokenGuard
    # wraps BodyLimit wraps the routes.
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes)
    if settings.token is not None:
        app.add_middleware(TokenGuard, token=settings.token)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Last-Event-ID",
                "X-Lab-Tag",
            ],
        )
    app.add_middleware(AccessLog)
    app.add_middleware(Admission, max_requests=settings.request_cap())
    app.state.settings = settings  # the runner reads the connection limits
    return app
