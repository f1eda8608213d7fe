"""Lab faults with ``serve --workers 2 --broker redis://``: every worker's streams."""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import TYPE_CHECKING

import pytest

from liveserver import Parser, events_only
from redisserver import RedisServer, start_redis
from workerserver import request_on, start_workers, stream_on

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)  # stopped even when the test fails early
    yield server
    server.stop()


def test_a_drop_sent_to_one_worker_ends_the_streams_of_both_and_the_published_log_is_the_same_on_each(  # noqa: E501
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{secrets.token_hex(3)}:"
    server = start_workers(
        tmp_path / "serve.log",
        "--broker", redis_server.url, "--redis-prefix", prefix,
        "--workers", "2", "--lab",
    )  # fmt: skip
    try:
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(
                stream_on(server, "/api/events", lambda w: True)
            )
            one = first.headers["X-SSE-Worker"]
            second = stack.enter_context(
                stream_on(server, "/api/events", lambda w: w != one)
            )
            started = time.time()
            request_on(
                server, "POST", "/api/lab/pulse", lambda w: True, json={"every_ms": 20}
            )
            drop = request_on(server, "POST", "/api/lab/drop", lambda w: w == one)
            assert drop.status_code == 200
            ended = []
            deadline = time.monotonic() + 10
            for stream in (first, second):
                parser = Parser()
                got = []
                for chunk in stream.iter_raw():
                    got.extend(events_only(parser.feed(chunk)))
                    assert time.monotonic() < deadline, "the stream was not dropped"
                ended.append(stream.headers["X-SSE-Worker"])
                assert any(e.type == "pulse" for e in got)
        assert len(set(ended)) == 2, "both workers' streams ended"
        request_on(server, "POST", "/api/lab/reset", lambda w: w != one)
        logs = [
            request_on(
                server,
                "GET",
                f"/api/lab/published?since={started}&until={time.time()}",
                want,
            ).json()["events"]
            for want in (lambda w: w == one, lambda w: w != one)
        ]
        assert logs[0] == logs[1]
        assert [e["type"] for e in logs[0]].count("pulse") >= 1
    finally:
        server.stop()
