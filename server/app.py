"""App: ``create_app(settings) -> FastAPI``; its lifespan owns broker, jobs, gauge."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Match

from server import __version__, api, docs, events, lab, page, streams
from server.accesslog import AccessLog
from server.admission import Admission
from server.auth import TokenGuard
from server.bodylimit import BodyLimit, too_large, too_slow
from server.broker import MemoryBroker
from server.control import ControlChannel
from server.faults import LabState
from server.jobs import EVENTS_TOPIC, JobLimits, JobManager, UnknownJobError
from server.lab_counts import SharedCounts
from server.runtime import Runtime
from server.stats import StatsGauge
from server.subscriptions import Hub
from server.trust import HostGuard, OriginGuard, TimingAllow
from server.workerid import WorkerHeader, worker_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.responses import Response

    from server.broker import Broker
    from server.redis_jobs import RedisJobs
    from server.settings import Settings


async def not_found(request: Request, exc: Exception) -> JSONResponse:
    """404; a path one trailing slash away from a route says which one it meant.

    Starlette's default answers those with a 307 whose Location is absolute, built
    from the Host header with the query kept: the token and an untrusted Host
    echoed back.  Every route here is declared without a trailing slash, so a
    readable 404 serves a client better than any redirect: a relative Location
    without the query would lose the token (a 401 next), one with it repeats it.
    """
    detail = getattr(exc, "detail", "Not Found")
    path: str = request.scope["path"]
    if detail == "Not Found" and path != "/":
        other = path.rstrip("/") if path.endswith("/") else f"{path}/"
        scope = {**request.scope, "path": other}
        if any(r.matches(scope)[0] is not Match.NONE for r in request.app.routes):
            detail = f"no route at {path}: did you mean {other}?"
    return JSONResponse({"detail": detail}, status_code=404)


def make_broker(settings: Settings) -> Broker:
    """The in-memory log, or Redis Streams when a broker URL is set.

    redis-py is imported only then: the embedded server needs no Redis.
    """
    if settings.broker_url is None:
        return MemoryBroker()
    from server.redis_broker import RedisBroker

    return RedisBroker(settings.broker_url, settings.redis_prefix)


async def shared_jobs(
    settings: Settings, broker: Broker, control: ControlChannel | None, worker: str
) -> RedisJobs | None:
    """With Redis, job records every worker sees (and the lease); else None."""
    if settings.broker_url is None or control is None:
        return None
    from server.redis_broker import RedisBroker
    from server.redis_jobs import RedisJobs

    assert isinstance(broker, RedisBroker)
    shared = RedisJobs(
        settings.broker_url,
        settings.redis_prefix,
        broker,
        control,
        worker=worker,
        lease_s=settings.job_lease_s,
        log_size=settings.job_log_size,
        max_finished=settings.max_finished_jobs,
    )
    await shared.open()
    return shared


def create_app(settings: Settings) -> FastAPI:
    """A server instance; nothing runs until uvicorn starts its lifespan."""
    worker = settings.worker_id or worker_id()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker = make_broker(settings)
        await broker.open_topic(EVENTS_TOPIC, settings.log_size, settings.log_bytes)
        limits = JobLimits(
            max_running=settings.max_running_jobs,
            log_size=settings.job_log_size,
            log_bytes=settings.job_log_bytes,
            max_finished=settings.max_finished_jobs,
            finished_bytes=settings.finished_jobs_bytes,
        )
        control = None
        if settings.broker_url is not None:  # other workers may share the log
            control = ControlChannel(broker)
            await control.open()
        shared = await shared_jobs(settings, broker, control, worker)
        jobs = JobManager(broker, limits, shared)
        rt = Runtime(
            settings,
            broker,
            Hub(200 if settings.lab else 0, settings.lab_sent_bytes),
            jobs,
            LabState(),
            worker,
            control,
        )
        if settings.broker_url is not None and settings.lab:
            rt.counts = SharedCounts(settings.broker_url, settings.redis_prefix)
        if control is not None:
            lab.listen(rt, control)
        stats = StatsGauge(rt)
        app.state.runtime, app.state.stats = rt, stats
        await rt.publish(
            "server",
            events.Server(state="started", run_id=broker.run_id, version=__version__),
        )
        tasks = {
            *(
                {asyncio.create_task(shared.run(), name="jobs lease")}
                if shared is not None
                else set()
            ),
            *(
                {asyncio.create_task(control.run(), name="control channel")}
                if control is not None
                else set()
            ),
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
            if shared is not None:
                await shared.aclose()
            if control is not None:
                control.close()
            if rt.counts is not None:
                await rt.counts.aclose()
            await broker.aclose()

    app = FastAPI(
        title=settings.name,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # server.docs serves Swagger UI from a package, not a CDN
        redoc_url=None,
        redirect_slashes=False,  # see `not_found`
    )
    app.add_exception_handler(RequestValidationError, api.validation_error)
    app.add_exception_handler(404, not_found)
    app.add_exception_handler(UnknownJobError, api.unknown_job)

    async def body_too_large(request: Request, exc: Exception) -> Response:
        return too_large(settings.max_body_bytes)

    app.add_exception_handler(413, body_too_large)

    async def body_too_slow(request: Request, exc: Exception) -> Response:
        return too_slow(settings.body_timeout_s, request.scope["http_version"])

    app.add_exception_handler(408, body_too_slow)
    app.include_router(api.router)
    app.include_router(streams.router)
    app.include_router(lab.router if settings.lab else lab.off_router)
    app.include_router(page.router)
    app.include_router(docs.router)
    # Added innermost first: Admission wraps AccessLog wraps HostGuard wraps CORS
    # wraps OriginGuard wraps TokenGuard wraps BodyLimit wraps the routes.  A
    # foreign Host is refused before anything (a CORS preflight included) is
    # answered; every refusal is logged.
    app.add_middleware(
        BodyLimit,
        max_body=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    if settings.token is not None:
        app.add_middleware(TokenGuard, token=settings.token, public=docs.ASSET_PATHS)
    app.add_middleware(OriginGuard, cors_origins=settings.cors_origins)
    if settings.cors_origins or settings.own_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(
                dict.fromkeys(settings.cors_origins + settings.own_origins)
            ),
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Last-Event-ID",
                "X-Lab-Tag",
            ],
        )
    if settings.own_origins:
        app.add_middleware(TimingAllow, origins=settings.own_origins)
    app.add_middleware(
        HostGuard, allowed_hosts=settings.allowed_hosts, any_ip=settings.any_ip_host
    )
    app.add_middleware(AccessLog)
    app.add_middleware(Admission, max_requests=settings.request_cap())
    app.add_middleware(WorkerHeader, worker=worker)  # outermost: every response
    app.state.settings = settings  # the runner reads the connection limits
    return app
