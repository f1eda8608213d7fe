"""``serve --workers N``: N processes on one port (tests/workerserver.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from server.__main__ import main as serve_main
from server.redis_broker import RedisBroker

from liveserver import Item, Parser, events_only
from redisserver import RedisServer, start_redis
from workerserver import pid_of, request_on, start_workers, stream_on

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    server.stop()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")  # a zombie is gone too
    except FileNotFoundError:
        return True


def _wait_for(check: Callable[[], bool], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_workers_share_one_port_say_ready_once_are_replaced_and_stop_together_on_sigterm(  # noqa: E501
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{secrets.token_hex(3)}:"
    args = ("--broker", redis_server.url, "--redis-prefix", prefix, "--workers", "2")
    server = start_workers(tmp_path / "serve.log", *args)
    try:
        # READY comes after both workers said they are up, not after the first.
        assert server.log_text().count(" ready\n") == 2
        ids = server.workers(2)
        for _ in range(6):  # the header names the worker /api/info describes
            r = httpx.get(f"{server.url}/api/info", headers={"Connection": "close"})
            assert r.headers["X-SSE-Worker"] == r.json()["worker"]["id"]
            assert r.json()["worker"]["workers"] == 2
            assert r.headers["X-SSE-Worker"] in ids
        # A worker killed outright is replaced, in the same slot; while Redis is
        # away its replacement cannot start, and is tried again after a pause.
        victim = sorted(ids)[0]
        slot = victim.partition("-")[0]
        redis_server.stop()
        os.kill(pid_of(victim), signal.SIGKILL)
        first = f"worker {slot} died (exit 3): replacing it in 1 s"
        _wait_for(lambda: first in server.log_text())  # a pause, not a spin
        redis_server.start()
        _wait_for(lambda: server.log_text().count(f"worker {slot}-") == 2, 20)
        # SIGTERM with a stream open on each worker: all stop within the drain time.
        # (Each stream is placed on its worker: the kernel may hand a burst of
        # connections on the shared socket all to the worker that is awake.)
        with contextlib.ExitStack() as streams:
            workers = server.workers(2)
            for worker in workers:
                streams.enter_context(
                    stream_on(server, "/api/events", lambda w, x=worker: w == x)
                )
            pids = [pid_of(w) for w in workers]
            took = server.stop()
        assert took < 4.0, f"stopped in {took:.1f} s (drain time 2 s)"
        assert all(_gone(pid) for pid in pids)
        assert server.process.returncode == 0
    finally:
        if server.process.poll() is None:
            server.stop()
    assert "READY" not in server.log_text()


def test_workers_with_the_in_memory_broker_are_refused_unless_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve_main(["--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "--workers 2 with the in-memory broker would give each worker its own" in err
    assert "--broker redis://HOST:PORT/DB" in err and "--per-worker-logs" in err
    broker = ["--broker", "redis://127.0.0.1:1/0", "--per-worker-logs"]
    assert serve_main(["--port", "0", *broker]) == 2
    assert "--per-worker-logs is for the in-memory broker" in capsys.readouterr().err
    assert serve_main(["--port", "0", "--workers", "0"]) == 2


@pytest.mark.anyio
async def test_kill_9_of_a_worker_under_50_subscribers_loses_and_repeats_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{secrets.token_hex(3)}:"
    args = ("--broker", redis_server.url, "--redis-prefix", prefix, "--workers", "2")
    server = start_workers(tmp_path / "serve.log", *args)
    publisher = RedisBroker(redis_server.url, prefix)
    await publisher.open_topic("events", 10_000)
    published: list[str] = []
    got: list[list[str]] = [[] for _ in range(50)]
    served_by: list[set[str]] = [set() for _ in range(50)]
    done = asyncio.Event()

    async def follow(i: int, client: httpx.AsyncClient) -> None:  # an EventSource
        while not done.is_set():
            headers = {"Last-Event-ID": got[i][-1]} if got[i] else {}
            try:
                async with client.stream(
                    "GET", f"{server.url}/api/events", headers=headers
                ) as r:
                    served_by[i].add(r.headers["X-SSE-Worker"])
                    parser = Parser()
                    async for chunk in r.aiter_raw():
                        items = events_only(parser.feed(chunk))
                        # Only ours: a replacement worker publishes "server".
                        got[i] += [e.id or "" for e in items if e.type == "n"]
                        if (
                            published
                            and got[i][-1:] == published[-1:]
                            and done.is_set()
                        ):
                            return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)

    try:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(timeout=10, limits=limits) as client,
            asyncio.TaskGroup() as tg,
        ):
            for i in range(50):
                tg.create_task(follow(i, client))
            deadline = time.monotonic() + 15
            while not all(served_by):
                assert time.monotonic() < deadline, "subscribers did not connect"
                await asyncio.sleep(0.02)
            victim = max(
                {w for ws in served_by for w in ws},
                key=lambda w: sum(w in ws for ws in served_by),
            )
            for n in range(150):
                published.append((await publisher.publish("events", "n", str(n))).id)
                if n == 50:
                    os.kill(pid_of(victim), signal.SIGKILL)
                await asyncio.sleep(0.01)
            done.set()
            while not all(g[-1:] == published[-1:] for g in got):
                assert time.monotonic() < deadline + 15, "the resumes did not finish"
                await asyncio.sleep(0.05)
        moved = sum(victim in ws and len(ws) > 1 for ws in served_by)
        assert moved > 0, "some subscribers were on the killed worker and moved"
        for ids in got:
            assert ids == published, "every event once, in order"
    finally:
        await publisher.aclose()
        server.stop()


def test_per_worker_logs_a_resume_on_the_other_worker_gets_replay_gap(
    tmp_path: Path,
) -> None:
    server = start_workers(
        tmp_path / "serve.log", "--workers", "2", "--per-worker-logs", "--lab"
    )
    try:
        with stream_on(server, "/api/events", lambda w: True) as first:
            one = first.headers["X-SSE-Worker"]
            # a pulse on that worker's own log: ids only that log holds
            pulse = {"every_ms": 20}
            request_on(server, "POST", "/api/lab/pulse", lambda w: w == one, json=pulse)
            last = _first_events(first, lambda e: e.type == "pulse")[-1].id
        assert last
        resume = {"Last-Event-ID": last}
        with stream_on(server, "/api/events", lambda w: w != one, resume) as again:
            got = _first_events(again, lambda e: True)
        assert got[0].type == "replay-gap", got
    finally:
        server.stop()


def _first_events(stream: httpx.Response, until: Callable[[Item], bool]) -> list[Item]:
    """The stream's events up to the first ``until`` accepts (10 s at most)."""
    parser = Parser()
    got: list[Item] = []
    deadline = time.monotonic() + 10
    for chunk in stream.iter_raw():
        got.extend(events_only(parser.feed(chunk)))
        if any(until(e) for e in got):
            return got
        assert time.monotonic() < deadline, f"not seen in {got}"
    raise AssertionError(f"the stream ended: {got}")
