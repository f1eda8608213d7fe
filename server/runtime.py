"""Runtime: the live parts of one server (broker, jobs, hub, lab); lifespan-made."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request  # noqa: TC002 (FastAPI reads it at runtime)

from server import __version__, events
from server.broker import BrokerUnavailableError
from server.jobs import EVENTS_TOPIC

if TYPE_CHECKING:
    from pydantic import BaseModel

    from server.broker import Broker
    from server.control import ControlChannel
    from server.faults import LabState
    from server.jobs import JobManager
    from server.lab_counts import SharedCounts
    from server.settings import Settings
    from server.subscriptions import Hub


@dataclass(slots=True)
class Runtime:
    """Everything a route needs; one per app, on ``app.state.runtime``."""

    settings: Settings
    broker: Broker
    hub: Hub
    jobs: JobManager
    lab: LabState
    worker: str = "w1"  # this process's worker id (server/workerid.py)
    control: ControlChannel | None = None  # to the other workers (Redis broker)
    started_at: float = field(default_factory=time.monotonic)
    counts: SharedCounts | None = None  # lab counts all workers share (Redis)

    async def publish(self, type_: str, payload: BaseModel) -> None:
        """Publish on the all-events topic (logged, with an id)."""
        await self.broker.publish(EVENTS_TOPIC, type_, payload.model_dump_json())

    async def begin_shutdown(self) -> None:
        """SIGTERM: say so, cancel jobs (their `end` goes out), end every stream.

        Jobs go first so a job stream's client gets its `end` and does not reconnect.
        """
        if self.hub.closing:
            return
        self.hub.closing = True  # new streams get 503 from here on
        with contextlib.suppress(BrokerUnavailableError):  # stop all the same
            await self.publish(
                "server",
                events.Server(
                    state="stopping", run_id=self.broker.run_id, version=__version__
                ),
            )
        await self.jobs.close()
        self.hub.shutdown()


def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the app's runtime."""
    rt: Runtime = request.app.state.runtime
    return rt
