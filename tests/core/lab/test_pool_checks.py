"""The "six connections" checklist is computed: HTTP/2-like observations fail the
HTTP/1.1 lines and HTTP/1.1-like ones fail the HTTP/2 lines (no browser needed)."""

from __future__ import annotations

import httpx

from desktop.core.lab.client import LabClient, SentLog
from desktop.core.lab.lessons.base import Timing
from desktop.core.lab.lessons.pool import PageRun, _check_h2, _check_http1
from desktop.core.lab.lessons.run import LessonRun


class _Ctx:
    base_url = "http://127.0.0.1:9"
    timing = Timing.fast()

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.lab = LabClient(self.base_url, client)

    def on_records(self, lane: str, batch: object) -> None:
        pass


def _sub(n: int, client: str, opened: float) -> SentLog:
    return SentLog(n, "events", client, opened, None, "", None, [], 0)


def _page(opened: dict[int, float], clients: list[str], fetch_ms: float) -> PageRun:
    created = dict.fromkeys(range(1, 21), 0.0)
    sent = [_sub(i, c, 0.1) for i, c in enumerate(clients, 1)]
    return PageRun(
        created, opened, {1: 2.0, 2: 3.0}, 1.0, 1.0 + fetch_ms / 1000, "", sent
    )


async def _run_checks() -> tuple[list[bool], list[bool]]:
    async with httpx.AsyncClient() as client:
        run = LessonRun(_Ctx(client), "six")  # type: ignore[arg-type]
        # All 7 open at once on one connection, the fetch answered at once: h2.
        h2_like = _page(dict.fromkeys(range(1, 8), 0.2), ["a:1"] * 7, 20)
        h2_like.fetch_protocol = "h2"
        _check_http1(run, h2_like)
        h1 = [c.ok for c in run.checks]
        run.checks.clear()
        # Six open, the 7th after the first close, the fetch after it: HTTP/1.1.
        opened = {**dict.fromkeys(range(1, 7), 0.2), 7: 2.01}
        h1_like = _page(opened, [f"a:{i}" for i in range(6)], 2100)
        h1_like.fetch_protocol = "http/1.1"
        _check_h2(run, h1_like)
        return h1, [c.ok for c in run.checks]


def test_the_checks_fail_on_the_other_protocols_observations() -> None:
    import asyncio

    h1_lines, h2_lines = asyncio.run(_run_checks())
    assert h1_lines == [False, False, False, False, False]
    assert h2_lines == [False, False, False, False]
