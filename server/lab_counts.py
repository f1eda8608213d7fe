"""Counted lab faults shared by every worker: "refuse the next N" is N in all.

``refuse`` and ``omit-end`` arm a count on every worker (the control channel
carries the switch, `server.lab`).  With a Redis broker each worker that is about
to use one also takes it from one counter in Redis (``DECR`` on
``<prefix>lab:count:<name>``, set by the worker that answered the fault): below
zero means other workers took them all, so this worker's own count goes to 0.
Redis is asked only while the worker's own count says a fault is armed, so a
connect costs nothing more otherwise.  With the in-memory broker the worker's own
count is the only one, as before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from server.faults import LabState, RefuseWith
    from server.jobs import JobManager

log = logging.getLogger("server.lab_counts")

ARMED_S = 24 * 3600  # a count left unused expires with its key


class SharedCounts:
    """Counters under the deployment's key prefix; see the module docstring."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as aioredis  # only with a Redis broker

        self._prefix = prefix
        self._r: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0
        )

    def _k(self, name: str) -> str:
        return f"{self._prefix}lab:count:{name}"

    async def arm(self, name: str, count: int) -> None:
        await self._r.set(self._k(name), count, ex=ARMED_S)

    async def take(self, name: str) -> bool:
        """One of ``name``'s count, if any is left (Redis away: none)."""
        from redis.exceptions import RedisError

        try:
            left = await self._r.decr(self._k(name))
        except RedisError as exc:
            log.warning("lab count %s: Redis did not answer (%s)", name, exc)
            return False
        return int(left) >= 0

    async def left(self, name: str, own: int) -> int:
        """What is left of ``name``'s count for all workers (Redis away: ``own``,
        this worker's own count)."""
        from redis.exceptions import RedisError

        try:
            value = await self._r.get(self._k(name))
        except RedisError as exc:
            log.warning("lab count %s: Redis did not answer (%s)", name, exc)
            return own
        return max(0, int(value)) if value is not None else 0

    async def aclose(self) -> None:
        await self._r.aclose()


def refuse_name(tag: str | None) -> str:
    return f"refuse:{tag or ''}"


def omit_end_name(tag: str | None) -> str:
    return f"omit-end:{tag or ''}"


async def take_refusal(
    counts: SharedCounts | None, lab: LabState, tag: str
) -> tuple[RefuseWith, int] | None:
    """`LabState.take_refusal`, counted across workers when they share Redis."""
    while True:
        own = lab.tags.get(tag) if tag else None
        pool = own if own is not None and own.refuse_left > 0 else None
        refusal = lab.take_refusal(tag)
        if refusal is None or counts is None:
            return refusal
        if await counts.take(refuse_name(tag if pool is not None else None)):
            return refusal
        (pool or lab).refuse_left = 0  # the others took the rest: try the next


async def take_omit_end(
    counts: SharedCounts | None, lab: LabState, jobs: JobManager, tag: str
) -> bool:
    """Whether a job started now (with ``tag``) ends without `end`: the tag's
    count first, then the untagged one, counted across workers with Redis."""
    if lab.take_omit_end(tag):
        if counts is None or await counts.take(omit_end_name(tag)):
            return True
        lab.switches(tag).omit_end_next = 0
    if counts is None or jobs.omit_end_next <= 0:
        return False  # (in memory the job manager takes the untagged count)
    jobs.omit_end_next -= 1
    if await counts.take(omit_end_name(None)):
        return True
    jobs.omit_end_next = 0
    return False
