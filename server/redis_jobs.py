"""RedisJobs: job records every worker sharing a Redis sees (`jobs.SharedJobs`).

A job runs in the worker that started it (its *owner*); its record is a hash
``<prefix>job:<id>`` (``record``: the JSON `Job.describe` shows, ``owner``: the
owner's run id), listed in ``<prefix>jobs:all`` (by creation time), with the running
ones in ``<prefix>jobs:running`` and the finished ones in ``<prefix>jobs:finished``
(by end time, the oldest forgotten past ``max_finished``, with their log stream).

A cancel of a job owned elsewhere is a ``cancel`` message on the control channel
(`server.control`), acted on by the owner.

Lease: each worker refreshes ``<prefix>worker:<run id>`` with a TTL of ``lease_s``
every third of it.  A running job whose owner's key expired (the worker died: kill
-9, a crash, a lost machine) is claimed by the first surviving worker to see it
(``HSETNX reaped_by``), which publishes its ``end`` (failed, "worker lost") and
closes its topic: a follower on any worker gets the end within about 1.3 leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server import events
from server.broker import BrokerUnavailableError
from server.events import JobStatus
from server.jobs import EVENTS_TOPIC, JobFinishedError, UnknownJobError
from server.redis_replies import as_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.control import ControlChannel
    from server.jobs import Job
    from server.redis_broker import RedisBroker

log = logging.getLogger("server.jobs")

WORKER_LOST = "worker lost"


class RedisJobs:
    """See the module docstring; `run` is the lease/reaper loop (a lifespan task)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        broker: RedisBroker,
        control: ControlChannel,
        *,
        worker: str,
        lease_s: float,
        log_size: int,
        max_finished: int,
    ) -> None:
        self._prefix = prefix
        self._broker = broker
        self._owner = broker.run_id
        self._worker = worker
        self._lease_s = lease_s
        self._log_size = log_size
        self._max_finished = max_finished
        self._r = aioredis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0
        )
        self._control = control
        self._cancel: Callable[[str], None] = lambda job_id: None
        control.on("cancel", lambda body: self._cancel(str(body)))

    def _k(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def on_cancel(self, handler: Callable[[str], None]) -> None:
        self._cancel = handler

    async def open(self) -> None:
        """Take the lease (before serving)."""
        await self._heartbeat()

    async def _heartbeat(self) -> None:
        key = self._k(f"worker:{self._owner}")
        await self._r.set(key, self._worker, px=int(self._lease_s * 1000))

    async def run(self) -> None:
        """Every third of the lease: renew it, end jobs of lost workers."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._heartbeat()
                await self._reap()
            except (RedisError, BrokerUnavailableError) as exc:
                log.warning("jobs lease: Redis unreachable (%s)", exc)

    # -- records -----------------------------------------------------------------------

    async def save(self, job: Job) -> None:
        record = json.dumps({**job.describe(), "worker": self._worker})
        key = self._k(f"job:{job.id}")
        try:
            async with self._r.pipeline(transaction=True) as p:
                p.hset(key, mapping={"record": record, "owner": self._owner})
                p.zadd(self._k("jobs:all"), {job.id: job.created_at})
                p.sadd(self._k("jobs:running"), job.id)
                await p.execute()
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc

    async def finished(self, job: Job) -> None:
        record = {**job.describe(), "worker": self._worker}
        try:
            await self._write_finished(job.id, record)
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc

    async def _write_finished(self, job_id: str, record: dict[str, object]) -> None:
        finished_at = float(str(record.get("finished_at") or time.time()))
        async with self._r.pipeline(transaction=True) as p:
            p.hset(self._k(f"job:{job_id}"), "record", json.dumps(record))
            p.srem(self._k("jobs:running"), job_id)
            p.zadd(self._k("jobs:finished"), {job_id: finished_at})
            await p.execute()
        excess = int(await self._r.zcard(self._k("jobs:finished"))) - self._max_finished
        if excess > 0:
            popped = await self._r.zpopmin(self._k("jobs:finished"), excess)
            for member in cast("list[tuple[bytes, float]]", popped):
                await self.forget(as_text(member[0]))

    async def forget(self, job_id: str) -> None:
        with contextlib.suppress(RedisError):  # bounded anyway: a later trim retries
            async with self._r.pipeline(transaction=True) as p:
                p.delete(self._k(f"job:{job_id}"))
                p.delete(self._broker.stream_key(f"job:{job_id}"))
                p.zrem(self._k("jobs:all"), job_id)
                p.zrem(self._k("jobs:finished"), job_id)
                p.srem(self._k("jobs:running"), job_id)
                await p.execute()

    async def load(self, job_id: str) -> dict[str, object] | None:
        try:
            raw = await self._r.hget(self._k(f"job:{job_id}"), "record")
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc
        if raw is None:
            return None
        record: dict[str, object] = json.loads(raw)
        return record

    async def list(self) -> list[dict[str, object]]:
        try:
            ids = await self._r.zrange(self._k("jobs:all"), 0, -1)
            if not ids:
                return []
            async with self._r.pipeline(transaction=False) as p:
                for raw in ids:
                    p.hget(self._k(f"job:{as_text(raw)}"), "record")
                records = await p.execute()
        except RedisError as exc:
            raise BrokerUnavailableError(f"Redis: {exc}") from exc
        return [json.loads(r) for r in records if r is not None]

    async def cancel(self, job_id: str) -> dict[str, object]:
        record = await self.load(job_id)
        if record is None:
            raise UnknownJobError(job_id)
        if record.get("finished_at") is not None:
            raise JobFinishedError(f"job {job_id} already {record.get('status')}")
        await self._control.send("cancel", job_id)
        return record

    async def follow(self, job_id: str) -> str:
        if await self.load(job_id) is None:
            raise UnknownJobError(job_id)
        topic = f"job:{job_id}"
        self._broker.borrow_topic(topic, self._log_size)
        return topic

    # -- lost workers ------------------------------------------------------------------

    async def _reap(self) -> None:
        for raw in await self._r.smembers(self._k("jobs:running")):
            job_id = as_text(raw)
            key = self._k(f"job:{job_id}")
            owner, record = await self._r.hmget(key, ["owner", "record"])
            if owner is None or record is None:
                await self._r.srem(self._k("jobs:running"), job_id)
                continue
            if as_text(owner) == self._owner:
                continue
            if await self._r.exists(self._k(f"worker:{as_text(owner)}")):
                continue
            if not await self._r.hsetnx(key, "reaped_by", self._owner):
                continue  # another survivor ends it
            await self._end_lost(job_id, json.loads(record))

    async def _end_lost(self, job_id: str, record: dict[str, object]) -> None:
        """Publish the `end` the dead owner never sent, close its topic, record it."""
        topic = f"job:{job_id}"
        now = time.time()
        started = float(str(record.get("started_at") or record.get("created_at")))
        self._broker.borrow_topic(topic, self._log_size)
        try:
            end = events.End(
                job=job_id,
                status="failed",
                error=WORKER_LOST,
                duration_s=round(max(0.0, now - started), 3),
            )
            await self._broker.publish(topic, "end", end.model_dump_json())
            await self._broker.close_topic(topic)
        finally:
            self._broker.release_topic(topic)
        record.update(status=JobStatus.FAILED.value, error=WORKER_LOST, finished_at=now)
        await self._write_finished(job_id, record)
        lifecycle = events.Job(
            job=job_id,
            kind=str(record.get("kind")),
            status=JobStatus.FAILED,
            error=WORKER_LOST,
        )
        await self._broker.publish(EVENTS_TOPIC, "job", lifecycle.model_dump_json())
        log.warning("job %s: its worker was lost; ended it as failed", job_id)

    async def aclose(self) -> None:
        """Give the lease back (this worker's jobs ended)."""
        with contextlib.suppress(RedisError):
            await self._r.delete(self._k(f"worker:{self._owner}"))
        await self._r.aclose()
