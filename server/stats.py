"""Stats: the live `stats` gauge on /api/events (no id, never logged)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from server import events
from server.jobs import EVENTS_TOPIC
from server.wire import event_frame

if TYPE_CHECKING:
    from server.runtime import Runtime


class StatsGauge:
    """Computes the gauge; pushes it to every /api/events subscription each period."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._last_published = rt.broker.published
        self._last_at = time.monotonic()
        self._rate = 0.0

    def frame(self, joining: int = 0) -> bytes:
        """The gauge now; ``joining`` counts a subscription not in the hub yet."""
        rt = self._rt
        stats = events.Stats(
            subscriptions=len(rt.hub) + joining,
            running_jobs=rt.jobs.running,
            events_per_s=round(self._rate, 1),
            published=rt.broker.published,
            uptime_s=round(time.monotonic() - rt.started_at, 3),
        )
        return event_frame("stats", stats.model_dump_json())

    def _measure(self) -> None:
        now, published = time.monotonic(), self._rt.broker.published
        elapsed = now - self._last_at
        if elapsed > 0:
            self._rate = (published - self._last_published) / elapsed
        self._last_at, self._last_published = now, published

    async def run(self) -> None:
        """Until cancelled (lifespan end)."""
        while True:
            await asyncio.sleep(self._rt.settings.stats_interval_s)
            self._measure()
            frame = self.frame()
            for sub in self._rt.hub.on_topic(EVENTS_TOPIC):
                sub.push(frame)
