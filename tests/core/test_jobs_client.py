"""The typed jobs client against the real server (uvicorn in a thread, port 0)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Closed, Event, Outcome
from desktop.core.engine.stream import EventStream
from desktop.core.jobs import (
    JobEnd,
    JobsAPIError,
    JobsClient,
    LogLine,
    NoJobsAPIError,
    ProgressUpdate,
    StatusUpdate,
    parse_update,
)

from liveserver import fast, start
from rawserver import RawServer, respond

if TYPE_CHECKING:
    from collections.abc import Iterator

    from liveserver import LiveServer


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = start(fast())
    yield server
    server.stop()


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_info_and_kinds_are_typed_values(live: LiveServer) -> None:
    async def main() -> None:
        async with JobsClient(live.url) as client:
            info = await client.info()
            kinds = {k.name: k for k in await client.kinds()}
        assert info.jobs and info.lab and not info.token_required
        assert info.version and info.run_id
        assert {"countdown", "build", "download", "flaky"} <= set(kinds)
        steps = {p.name: p for p in kinds["countdown"].params}["steps"]
        assert (steps.type, steps.minimum, steps.maximum, steps.default) == (
            "integer",
            1,
            100_000,
            10,
        )
        flaky = {p.name: p for p in kinds["flaky"].params}
        assert flaky["message"].type == "string" and flaky["message"].max_length == 500
        assert flaky["interval_s"].type == "number"
        assert {p.name: p for p in kinds["build"].params}["fail"].type == "boolean"
        assert kinds["download"].description

    run(main())


def test_start_get_list_cancel_and_readable_errors(live: LiveServer) -> None:
    async def main() -> None:
        async with JobsClient(live.url) as client:
            job = await client.start("countdown", {"steps": 50, "interval_s": 0.05})
            assert job.kind == "countdown" and not job.finished
            assert job.events_url == f"{live.url}/api/jobs/{job.id}/events"
            assert job.id in {j.id for j in await client.jobs()}
            cancelled = await client.cancel(job.id)
            assert cancelled.id == job.id
            for _ in range(100):
                job = await client.get(job.id)
                if job.finished:
                    break
                await asyncio.sleep(0.02)
            assert job.status == "cancelled" and job.finished_at is not None
            with pytest.raises(JobsAPIError) as again:
                await client.cancel(job.id)
            assert again.value.status == 409
            with pytest.raises(JobsAPIError) as bad:
                await client.start("countdown", {"steps": 0})
            assert bad.value.status == 422 and "steps" in bad.value.message
            with pytest.raises(JobsAPIError) as unknown:
                await client.get("nope")
            assert unknown.value.status == 404

    run(main())


def test_a_jobs_stream_parses_into_updates_and_closes_on_end(live: LiveServer) -> None:
    async def main() -> None:
        async with JobsClient(live.url) as client:
            job = await client.start("countdown", {"steps": 3, "interval_s": 0.01})
        options = StreamOptions(url=job.events_url, close_on=frozenset({"end"}))
        updates = []
        last = None
        async with EventStream(options) as stream:
            async for record in stream:
                last = record
                if isinstance(record, Event):
                    updates.append(parse_update(record.type, record.data))
        assert isinstance(last, Closed) and last.outcome is Outcome.CLOSE_ON
        kinds = {type(u) for u in updates}
        assert {StatusUpdate, ProgressUpdate, LogLine, JobEnd} <= kinds
        end = updates[-1]
        assert isinstance(end, JobEnd) and end.status == "succeeded"
        progress = [u for u in updates if isinstance(u, ProgressUpdate)]
        assert progress[-1].percent == 100.0 and progress[-1].done == 3

    run(main())


def test_parse_update_ignores_what_it_does_not_know() -> None:
    assert parse_update("progress", "not json") is None
    assert parse_update("progress", '{"done": "x"}') is None
    assert parse_update("tick", '{"i": 1}') is None
    assert parse_update("log", "[1]") is None
    assert parse_update("log", '{"line": "hi"}') == LogLine("hi", "info")


def test_a_server_without_the_api_and_a_token_are_told_apart() -> None:
    with RawServer([respond(404, b"not found")]) as raw:

        async def absent() -> None:
            async with JobsClient(raw.url("")) as client:
                with pytest.raises(NoJobsAPIError):
                    await client.info()

        run(absent())

    secured = start(fast(token="s3cret"))
    try:

        async def token() -> None:
            async with JobsClient(secured.url) as client:
                with pytest.raises(JobsAPIError) as denied:
                    await client.info()
                assert denied.value.status == 401
                assert not isinstance(denied.value, NoJobsAPIError)
            auth = (("Authorization", "Bearer s3cret"),)
            async with JobsClient(secured.url, headers=auth) as client:
                assert (await client.info()).token_required

        run(token())
    finally:
        secured.stop()
