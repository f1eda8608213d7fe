"""Jobs across ``serve --workers 2 --broker redis://``: run in one, seen from all."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import redis

from liveserver import Item, Parser, events_only, fast, start
from redisserver import RedisServer, start_redis
from workerserver import pid_of, request_on, start_workers, stream_on

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LEASE_S = 1.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)  # stopped even when the test fails early
    yield server
    server.stop()


def _until_end(
    chunks: Iterator[bytes], within: float, parser: Parser | None = None
) -> tuple[list[Item], float]:
    """Events up to the job's `end`, and when it came (monotonic)."""
    got: list[Item] = []
    parser = parser or Parser()
    deadline = time.monotonic() + within
    for chunk in chunks:
        got.extend(events_only(parser.feed(chunk)))
        if any(e.type == "end" for e in got):
            return got, time.monotonic()
        assert time.monotonic() < deadline, f"no end within {within} s: {got[-3:]}"
    raise AssertionError(f"the stream closed without an end: {got[-3:]}")


def test_a_job_is_listed_followed_and_cancelled_from_the_other_worker_and_ends_failed_when_its_worker_dies(  # noqa: E501
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{secrets.token_hex(3)}:"
    server = start_workers(
        tmp_path / "serve.log",
        "--broker", redis_server.url, "--redis-prefix", prefix, "--workers", "2",
        "--job-lease", str(LEASE_S),
    )  # fmt: skip
    try:
        body = {"kind": "countdown", "params": {"steps": 600, "interval_s": 0.05}}
        # Cancelled from the worker that does not run it: the follower gets `end`.
        r = request_on(server, "POST", "/api/jobs", lambda w: True, json=body)
        owner, job = r.headers["X-SSE-Worker"], r.json()["id"]
        other = lambda w: w != owner  # noqa: E731
        listed = request_on(server, "GET", "/api/jobs", other).json()
        assert [j["status"] for j in listed if j["id"] == job] == ["running"]
        with stream_on(server, f"/api/jobs/{job}/events", other) as follow:
            cancel = request_on(server, "POST", f"/api/jobs/{job}/cancel", other)
            assert cancel.status_code == 200, cancel.text
            got, _ = _until_end(follow.iter_raw(), 10)
        end = json.loads(got[-1].data)
        assert (end["status"], end["error"]) == ("cancelled", "cancelled on request")
        again = request_on(server, "POST", f"/api/jobs/{job}/cancel", other)
        assert again.status_code == 409

        # Its worker killed outright: a follower on the other gets end/failed.
        r = request_on(server, "POST", "/api/jobs", lambda w: True, json=body)
        owner, job = r.headers["X-SSE-Worker"], r.json()["id"]
        with stream_on(server, f"/api/jobs/{job}/events", other) as follow:
            parser = Parser()
            chunks = follow.iter_raw()
            for chunk in chunks:  # running: progress flows
                if any(e.type == "progress" for e in events_only(parser.feed(chunk))):
                    break
            os.kill(pid_of(owner), signal.SIGKILL)
            killed = time.monotonic()
            got, ended = _until_end(chunks, 15, parser)
        end = json.loads(got[-1].data)
        assert (end["status"], end["error"]) == ("failed", "worker lost")
        assert ended - killed < 1.4 * LEASE_S + 2.0, "ended within the lease"
        record = request_on(server, "GET", f"/api/jobs/{job}", lambda w: True).json()
        assert (record["status"], record["error"]) == ("failed", "worker lost")
    finally:
        server.stop()


def test_job_records_in_redis_are_bounded_as_in_memory(
    redis_server: RedisServer,
) -> None:
    prefix = f"t{secrets.token_hex(3)}:"
    live = start(
        fast(broker_url=redis_server.url, redis_prefix=prefix, max_finished_jobs=2)
    )
    store = redis.Redis.from_url(redis_server.url)
    try:
        ids = []
        with httpx.Client(base_url=live.url, timeout=10) as client:
            for _ in range(4):
                body = {"kind": "countdown", "params": {"steps": 1, "interval_s": 0}}
                ids.append(client.post("/api/jobs", json=body).json()["id"])
                deadline = time.monotonic() + 10
                while not client.get(f"/api/jobs/{ids[-1]}").json()["finished_at"]:
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
            # A job shows finished_at as soon as it ends; its record in Redis and
            # the trim of older ones follow within its last few awaits.
            deadline = time.monotonic() + 10
            while store.zcard(f"{prefix}jobs:finished") != 2 or store.scard(
                f"{prefix}jobs:running"
            ):
                assert time.monotonic() < deadline, "the records did not settle"
                time.sleep(0.01)
            listed = [j["id"] for j in client.get("/api/jobs").json()]
        assert listed == ids[2:]
        records = sorted(k.decode() for k in store.keys(f"{prefix}job:*"))
        assert records == sorted(f"{prefix}job:{i}" for i in ids[2:])
        streams = store.keys(f"{prefix}topic:job:*")
        assert len(streams) == 2
        assert store.zcard(f"{prefix}jobs:all") == 2
        assert store.scard(f"{prefix}jobs:running") == 0
    finally:
        store.close()
        live.stop()
