"""doctor against the bundled server: clean streams pass, each lab fault shows.

One real uvicorn server; every examination carries its own lab tag, so they
run side by side (asyncio.gather) and a fault reaches only its own doctor.
The table says, for each fault, exactly which checks differ from the clean
card of the same stream and how.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.doctor.checks import CATALOG, Status
from desktop.core.doctor.examine import examine
from desktop.core.doctor.probe import Plan
from desktop.core.engine.options import StreamOptions

from liveserver import start

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from desktop.core.doctor.checks import Check

    from liveserver import LiveServer

DURATION_S = 3.0
PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL
NA = Status.NOT_APPLICABLE

# fault -> the checks whose status differs from the clean card of its stream.
# The lab's gzip flushes after every write (server/encoding.py, Gzip), so it
# holds nothing back and trips no burst; its buffering proxy does.
FAULTS: dict[str, dict[str, Status]] = {
    "gzip": {"response.content-encoding": WARN},
    "buffering": {"delivery.bursts": WARN},
    "omit-end": {"reconnect.end": WARN},
    "retry-unit": {"reconnect.retry": WARN, "spec.retry-ignored": WARN},
    "empty-id": {"spec.id-reset": WARN, "reconnect.ids": WARN},
    "cut": {"spec.discarded": WARN},
}
STREAM_OF = {
    "gzip": "ticker",
    "buffering": "ticker",
    "omit-end": "job",
    "retry-unit": "ticker",
    "empty-id": "events",
    "cut": "ticker",
}
# A ticker fast enough to fill the buffering fault's buffer twice a second.
TICKER = "/api/ticker?rate=100&size=16"
BUFFER_BYTES = 2600


@dataclass
class Run:
    name: str
    stream: str
    checks: list[Check]

    @property
    def card(self) -> dict[str, Status]:
        return {c.id: c.status for c in self.checks}

    def shown(self) -> str:
        return "\n".join(f"{c.status:>15} {c.id}: {c.evidence}" for c in self.checks)


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = start()
    yield server
    server.stop()


async def _doctor(url: str) -> list[Check]:
    return await examine(StreamOptions(url), Plan(duration_s=DURATION_S))


async def _tagged_streams(
    client: httpx.AsyncClient, tag: str
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (await client.get("/api/streams")).json()[
        "subscriptions"
    ]
    return [r for r in rows if r["tag"] == tag]


async def _until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def _run(client: httpx.AsyncClient, name: str, fault: str | None) -> Run:
    tag = f"doctor-{name}-{uuid.uuid4().hex[:6]}"
    stream = STREAM_OF[fault] if fault else name
    lab = "/api/lab"
    if fault == "gzip":
        await client.post(f"{lab}/encoding", json={"mode": "gzip", "tag": tag})
    elif fault == "buffering":
        body = {"mode": "buffer", "buffer_bytes": BUFFER_BYTES, "tag": tag}
        await client.post(f"{lab}/encoding", json=body)
    elif fault == "retry-unit":
        await client.post(f"{lab}/retry", json={"ms": 20, "unit": "s", "tag": tag})
    elif fault == "omit-end":
        await client.post(f"{lab}/omit-end", json={"count": 1, "tag": tag})
    if stream == "job":
        job = {"kind": "countdown", "params": {"steps": 8, "interval_s": 0.1}}
        answer = await client.post(f"/api/jobs?lab_tag={tag}", json=job)
        path = f"/api/jobs/{answer.json()['id']}/events?lab_tag={tag}"
    elif stream == "events":
        path = f"/api/events?lab_tag={tag}"
    else:
        path = f"{TICKER}&lab_tag={tag}"
    task = asyncio.ensure_future(_doctor(f"{client.base_url}{path}".rstrip("/")))
    try:
        if fault in ("cut", "empty-id"):
            # Once the probe's other clients are done, the watch alone is left;
            # once it has had events with ids, the act-now fault hits it.
            async def watch_alone() -> bool:
                rows = await _tagged_streams(client, tag)
                sent = rows[0]["events_sent"] if len(rows) == 1 else 0
                return isinstance(sent, int) and sent >= 3

            await _until("the watch alone, with events", watch_alone)
            action = "cut" if fault == "cut" else "reset-id"
            await client.post(f"{lab}/{action}", json={"tag": tag})
        checks = await task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return Run(fault or name, stream, checks)


async def _all(url: str) -> list[Run]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        # /api/events carries ids only for what is published: a steady pulse.
        await client.post("/api/lab/pulse", json={"every_ms": 100})
        try:
            return list(
                await asyncio.gather(
                    *(_run(client, s, None) for s in ("ticker", "job", "events")),
                    *(_run(client, f, f) for f in FAULTS),
                )
            )
        finally:
            await client.post("/api/lab/pulse", json={"every_ms": 0})


def test_clean_streams_pass_and_each_fault_changes_the_card_as_the_table_says(
    live: LiveServer,
) -> None:
    runs = asyncio.run(_all(live.url))
    clean = {r.name: r for r in runs[:3]}
    for run in clean.values():
        assert list(run.card) == list(CATALOG), run.shown()
        assert FAIL not in run.card.values(), run.shown()
        assert run.card["response.status"] is PASS, run.shown()
        assert run.card["reconnect.resume"] is PASS, run.shown()
        assert run.card["reconnect.bad-id"] is PASS, run.shown()
    assert clean["job"].card["reconnect.end"] is PASS, clean["job"].shown()
    assert clean["ticker"].card["reconnect.end"] is NA
    for run in runs[3:]:
        base = clean[run.stream].card
        differs = {k: v for k, v in run.card.items() if base[k] is not v}
        assert differs == FAULTS[run.name], f"{run.name}:\n{run.shown()}"
