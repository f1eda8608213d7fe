"""Jobs API: kinds, lifecycle, validation, cancel, forgetting finished jobs."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import events_only, fast, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import Item, LiveServer

pytestmark = pytest.mark.anyio


async def job_story(client: httpx.AsyncClient, job_id: str) -> list[Item]:
    async with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
        assert r.status_code == 200
        return events_only([i async for i in items_of(r)])


async def test_kinds_list_names_descriptions_and_param_schemas(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/jobs/kinds")
    assert r.status_code == 200
    kinds = {k["name"]: k for k in r.json()}
    assert {"countdown", "build", "download", "flaky"} <= set(kinds)
    for kind in kinds.values():
        assert kind["description"]
        schema = kind["params"]
        assert schema["type"] == "object"
        for prop in schema["properties"].values():
            assert "default" in prop  # every parameter has a default


@pytest.mark.parametrize("kind", ["countdown", "build", "download", "flaky"])
async def test_every_kind_runs_to_one_end_event_that_comes_last(
    client: httpx.AsyncClient, kind: str
) -> None:
    params = {
        "countdown": {"steps": 3, "interval_s": 0.01},
        "build": {"lines": 30, "interval_s": 0, "warning_every": 10},
        "download": {"size_bytes": 1000, "rate_bps": 10_000, "tick_s": 0.01},
        "flaky": {"steps": 5, "fail_at": 3, "interval_s": 0.01},
    }[kind]
    r = await client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["kind"] == kind
    story = await job_story(client, job["id"])
    types = [e.type for e in story]
    assert types[0] == "status"
    assert types.count("end") == 1 and types[-1] == "end"
    assert "progress" in types and "log" in types
    final = json.loads(story[-1].data)
    assert final["status"] == ("failed" if kind == "flaky" else "succeeded")
    if kind == "build":
        levels = [json.loads(e.data)["level"] for e in story if e.type == "log"]
        assert levels.count("warning") == 3
    got = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert got["status"] == final["status"]
    assert got["finished_at"] is not None


async def test_defaults_alone_make_a_valid_job(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/jobs", json={"kind": "countdown"})
    assert r.status_code == 201
    assert r.json()["params"] == {"steps": 10, "interval_s": 1.0}
    listed = (await client.get("/api/jobs")).json()
    assert [j["id"] for j in listed] == [r.json()["id"]]
    await client.post(f"/api/jobs/{r.json()['id']}/cancel")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": "nope"}, "kind: unknown job kind 'nope'"),
        ({"kind": "countdown", "params": {"steps": 0}}, "params.steps"),
        ({"kind": "countdown", "params": {"steps": "many"}}, "params.steps"),
        ({"kind": "countdown", "params": {"bogus": 1}}, "params.bogus"),
        ({"kind": "flaky", "params": {"steps": 3, "fail_at": 5}}, "fail_at (5)"),
        ({"params": {}}, "kind: Field required"),
        ({"kind": "countdown", "extra": 1}, "extra"),
    ],
)
async def test_bad_requests_are_422_with_a_readable_message(
    client: httpx.AsyncClient, body: dict[str, object], where: str
) -> None:
    r = await client.post("/api/jobs", json=body)
    assert r.status_code == 422
    assert where in r.json()["message"]
    assert r.json()["detail"]


async def test_cancel_running_then_409_and_unknown_404(
    client: httpx.AsyncClient,
) -> None:
    job = (
        await client.post(
            "/api/jobs", json={"kind": "countdown", "params": {"steps": 1000}}
        )
    ).json()
    r = await client.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 200
    story = await job_story(client, job["id"])
    assert story[-1].type == "end"
    assert json.loads(story[-1].data)["status"] == "cancelled"
    assert (await client.post(f"/api/jobs/{job['id']}/cancel")).status_code == 409
    assert (await client.post("/api/jobs/nope/cancel")).status_code == 404
    assert (await client.get("/api/jobs/nope")).status_code == 404
    assert (await client.get("/api/jobs/nope/events")).status_code == 404


async def test_lifecycle_is_published_on_api_events(client: httpx.AsyncClient) -> None:
    seen: list[dict[str, object]] = []
    async with client.stream("GET", "/api/events") as r:
        job = (
            await client.post(
                "/api/jobs",
                json={"kind": "countdown", "params": {"steps": 1, "interval_s": 0}},
            )
        ).json()
        async for item in items_of(r):
            if item.type == "job":
                assert item.id is not None
                seen.append(json.loads(item.data))
                if seen[-1]["status"] == "succeeded":
                    break
    assert [s["status"] for s in seen] == ["queued", "running", "succeeded"]
    assert {s["job"] for s in seen} == {job["id"]}


async def test_finished_jobs_are_forgotten_past_the_bound(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(max_finished_jobs=2))
    async with httpx.AsyncClient(base_url=live.url) as client:
        ids = []
        for _ in range(3):
            r = await client.post(
                "/api/jobs",
                json={"kind": "countdown", "params": {"steps": 1, "interval_s": 0}},
            )
            ids.append(r.json()["id"])
            for _ in range(100):
                if (await client.get(f"/api/jobs/{ids[-1]}")).json()["finished_at"]:
                    break
                await asyncio.sleep(0.01)
        assert (await client.get(f"/api/jobs/{ids[0]}")).status_code == 404
        assert (await client.get(f"/api/jobs/{ids[0]}/events")).status_code == 404
        assert (await client.get(f"/api/jobs/{ids[2]}")).status_code == 200
        assert [j["id"] for j in (await client.get("/api/jobs")).json()] == ids[1:]
