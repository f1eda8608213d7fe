"""Ids a client sends back that the server never gave: no 500, a readable answer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import FAST, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def first_event(
    client: httpx.AsyncClient, path: str, last_event_id: str
) -> tuple[int, str, dict[str, object]]:
    """Status, and the first event's type and data (of a 200 stream)."""
    headers = {"Last-Event-ID": last_event_id}
    async with client.stream("GET", path, headers=headers) as r:
        if r.status_code != 200:
            await r.aread()
            return r.status_code, "", {}
        async for item in items_of(r):
            if item.kind == "event":
                return 200, item.type, json.loads(item.data)
    raise AssertionError("the stream ended without an event")


def bad_ids(run_id: str) -> list[str]:
    return [
        "9" * 5000,
        f"{run_id}-0-{'9' * 5000}",  # this run's events topic, a 5,000-digit position
        f"{run_id}-1-{'1' * 5000}",
        "-1",
        f"{run_id}--5",
        "garbage \x7f\t!",
        "12345678-0-3",  # another run
        "1" * 40,
    ]


async def test_a_malformed_last_event_id_is_a_replay_gap_on_every_stream(
    client: httpx.AsyncClient, live: LiveServer
) -> None:
    job = (
        await client.post(
            "/api/jobs", json={"kind": "countdown", "params": {"steps": 1}}
        )
    ).json()["id"]
    paths = ["/api/events", f"/api/jobs/{job}/events", "/api/ticker?count=100"]
    for path in paths:
        for bad in bad_ids(live.rt.broker.run_id):
            status, type_, data = await first_event(client, path, bad)
            assert (status, type_) == (200, "replay-gap"), (path, bad[:40])
            assert data["reason"] == "unknown" and data["lost"] is None


async def test_a_job_of_another_run_gets_a_readable_json_answer(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    before, after = make_server(FAST), make_server(FAST)
    async with httpx.AsyncClient(base_url=before.url) as a:
        job = (
            await a.post("/api/jobs", json={"kind": "countdown", "params": {}})
        ).json()["id"]
    async with httpx.AsyncClient(base_url=after.url) as b:
        for path in (f"/api/jobs/{job}/events", f"/api/jobs/{job}"):
            r = await b.get(path, headers={"Last-Event-ID": f"{job}-x"})
            assert r.status_code == 404
            assert r.headers["content-type"] == "application/json"
            body = r.json()
            assert body["reason"] == "other-run"
            assert "another server run" in body["message"]
            assert body["run_id"] == after.rt.broker.run_id
        r = await b.get("/api/jobs/nope/events")
        assert r.status_code == 404 and r.json()["reason"] == "unknown"
