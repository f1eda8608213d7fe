"""The lab's records and counted faults with ``serve --workers 2 --broker redis://``."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from liveserver import Parser, events_only
from redisserver import RedisServer, start_redis
from workerserver import WorkerServer, request_on, start_workers, stream_on

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)  # stopped even when the test fails early
    yield server
    server.stop()


@pytest.fixture
def two(redis_server: RedisServer, tmp_path: Path) -> Iterator[WorkerServer]:
    server = start_workers(
        tmp_path / "serve.log",
        "--broker", redis_server.url, "--redis-prefix", f"t{secrets.token_hex(3)}:",
        "--workers", "2", "--lab",
    )  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def _pulses(stream: httpx.Response, count: int) -> None:
    parser, seen = Parser(), 0
    deadline = time.monotonic() + 10
    for chunk in stream.iter_raw():
        seen += sum(e.type == "pulse" for e in events_only(parser.feed(chunk)))
        if seen >= count:
            return
        assert time.monotonic() < deadline, "no pulses came"


def test_sent_and_browser_asked_of_one_worker_hold_every_workers_records(
    two: WorkerServer,
) -> None:
    tag = f"t{secrets.token_hex(3)}"
    path = f"/api/events?lab_tag={tag}"
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(stream_on(two, path, lambda w: True))
        one = first.headers["X-SSE-Worker"]
        second = stack.enter_context(stream_on(two, path, lambda w: w != one))
        other = second.headers["X-SSE-Worker"]
        request_on(two, "POST", "/api/lab/pulse", lambda w: True, json={"every_ms": 20})
        _pulses(first, 2)
        _pulses(second, 2)
        for worker in (one, other):
            obs = {"kind": "open", "ready_state": 1, "at": time.time(), "stream": path}
            r = request_on(
                two, "POST", "/api/lab/browser", lambda w, x=worker: w == x, json=obs
            )
            assert r.status_code == 200
        for asked in (one, other):
            page = request_on(
                two, "GET", f"/api/lab/sent?tag={tag}", lambda w, x=asked: w == x
            ).json()
            # (stream_on's probes that landed elsewhere are closed rows, empty)
            holders = {row["worker"] for row in page["subscriptions"] if row["sent"]}
            assert holders == {one, other}, page
            seen = request_on(
                two, "GET", "/api/lab/browser", lambda w, x=asked: w == x
            ).json()["observations"]
            assert {o["worker"] for o in seen if o["stream"] == path} == {one, other}


def test_sent_pages_across_workers_give_every_event_once(two: WorkerServer) -> None:
    tag = f"t{secrets.token_hex(3)}"
    path = f"/api/events?lab_tag={tag}"
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(stream_on(two, path, lambda w: True))
        one = first.headers["X-SSE-Worker"]
        second = stack.enter_context(stream_on(two, path, lambda w: w != one))
        request_on(two, "POST", "/api/lab/pulse", lambda w: True, json={"every_ms": 10})
        _pulses(first, 6)
        _pulses(second, 6)
        # (_pulses closed both streams: what they sent is final)
        whole = request_on(
            two, "GET", f"/api/lab/sent?tag={tag}&limit=10000", lambda w: w == one
        ).json()
        want = {
            (row["worker"], e["id"])
            for row in whole["subscriptions"]
            for e in row["sent"]
        }
        got: list[tuple[str, str]] = []
        since = ""
        with httpx.Client(base_url=two.url, timeout=10) as client:
            for _ in range(100):
                page = client.get(f"/api/lab/sent?tag={tag}&limit=2{since}").json()
                got += [
                    (row["worker"], e["id"])
                    for row in page["subscriptions"]
                    for e in row["sent"]
                ]
                if page["next"] is None:
                    break
                since = f"&since={page['next']}"
        assert len(got) == len(set(got))
        assert want <= set(got)


def _on_each(
    server: WorkerServer, method: str, path: str, per_worker: int, **kw: Any
) -> list[tuple[int, Any]]:
    """``per_worker`` requests answered by each of the 2 workers, on new
    connections: (status, JSON body or None for a stream, left unread)."""
    got: dict[str, list[tuple[int, Any]]] = {}
    for _ in range(400):
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream(method, path, headers={"Connection": "close"}, **kw) as r,
        ):
            is_json = r.headers.get("content-type", "") == "application/json"
            answer = (r.status_code, json.loads(r.read()) if is_json else None)
        got.setdefault(r.headers["X-SSE-Worker"], []).append(answer)
        if len(got) == 2 and all(len(a) >= per_worker for a in got.values()):
            return [a for answers in got.values() for a in answers]
    raise AssertionError(f"the requests did not reach both workers: {list(got)}")


def test_refuse_the_next_one_refuses_one_connect_of_all_the_workers(
    two: WorkerServer,
) -> None:
    r = request_on(two, "POST", "/api/lab/refuse", lambda w: True, json={"count": 1})
    assert r.status_code == 200
    # the other worker applies the switch off the control channel: a moment
    time.sleep(0.3)
    statuses = [status for status, _ in _on_each(two, "GET", "/api/events", 3)]
    assert statuses.count(503) == 1, statuses


def test_the_lab_state_counts_what_is_left_for_all_the_workers(
    two: WorkerServer,
) -> None:
    """A refusal taken on one worker is gone for the other one too: its own count
    still says 2, the shared counter 1 (`GET /api/lab` reads the counter)."""
    r = request_on(two, "POST", "/api/lab/refuse", lambda w: True, json={"count": 2})
    one = r.headers["X-SSE-Worker"]
    time.sleep(0.3)  # the other worker arms its own count off the control channel
    refused = request_on(two, "GET", "/api/events", lambda w: w == one)
    assert refused.status_code == 503
    state = request_on(two, "GET", "/api/lab", lambda w: w != one).json()
    assert state["refuse_left"] == 1, state


def test_omit_end_of_the_next_one_omits_one_end_of_all_the_workers(
    two: WorkerServer,
) -> None:
    r = request_on(two, "POST", "/api/lab/omit-end", lambda w: True, json={"count": 1})
    assert r.status_code == 200
    time.sleep(0.3)
    body = {"kind": "countdown", "params": {"steps": 2, "interval_s": 0}}
    jobs = [job["id"] for _, job in _on_each(two, "POST", "/api/jobs", 2, json=body)]
    ended = []
    with httpx.Client(base_url=two.url, timeout=10) as client:
        for job in jobs:
            deadline = time.monotonic() + 10
            while client.get(f"/api/jobs/{job}").json()["status"] == "running":
                assert time.monotonic() < deadline, f"job {job} did not finish"
                time.sleep(0.05)
            with client.stream("GET", f"/api/jobs/{job}/events") as r:
                parser = Parser()
                got = [e for c in r.iter_raw() for e in events_only(parser.feed(c))]
            ended.append(any(e.type == "end" for e in got))
    assert ended.count(False) == 1, ended


def test_a_fault_answers_the_subscriptions_of_every_worker(two: WorkerServer) -> None:
    tag = f"t{secrets.token_hex(3)}"
    path = f"/api/events?lab_tag={tag}"
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(stream_on(two, path, lambda w: True))
        one = first.headers["X-SSE-Worker"]
        second = stack.enter_context(stream_on(two, path, lambda w: w != one))
        other = second.headers["X-SSE-Worker"]
        r = request_on(
            two,
            "POST",
            "/api/lab/retry",
            lambda w: w == one,
            json={"ms": 50, "tag": tag},
        )
        answer = r.json()
        assert answer["subscriptions"] == 2, answer
        assert answer["workers"] == {one: 1, other: 1}
        state = request_on(two, "GET", "/api/lab", lambda w: w == other).json()
        assert state["subscriptions"] == 2, state
        assert state["workers"] == {one: 1, other: 1}
