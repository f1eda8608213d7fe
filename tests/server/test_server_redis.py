"""The Redis Streams broker against a real redis-server (tests/redisserver.py)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from server.__main__ import main as serve_main
from server.redis_broker import RedisBroker, mask_url

from children import start_child
from liveserver import Item, Parser, events_only, fast, start
from redisserver import RedisServer, start_redis

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from server.broker import StoredEvent

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{secrets.token_hex(3)}:"


class Collect:
    """A sink that keeps what it is given live (the replay is returned apart)."""

    def __init__(self) -> None:
        self.live: list[str] = []
        self.finished = False

    def deliver(self, event: StoredEvent) -> None:
        self.live.append(event.id)

    def finish(self) -> None:
        self.finished = True


async def _until(check: Callable[[], bool], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_replay_to_live_hand_over_under_concurrent_publishing_loses_and_repeats_nothing(  # noqa: E501
    redis_server: RedisServer, prefix: str
) -> None:
    publisher = RedisBroker(redis_server.url, prefix)  # another process, in effect
    broker = RedisBroker(redis_server.url, prefix)
    await publisher.open_topic("t", 100_000)
    await broker.open_topic("t", 100_000)
    published: list[str] = []
    joined: list[tuple[Collect, list[str], str | None, bool]] = []

    async def publish() -> None:
        for i in range(1500):
            published.append((await publisher.publish("t", "tick", str(i))).id)

    async def join() -> None:
        for k in range(40):
            await asyncio.sleep(0.004)
            sink = Collect()
            resume = published[len(published) // 2] if k % 2 and published else None
            history = resume is None and k % 4 == 0
            replay = await broker.subscribe("t", sink, resume, history=history)
            assert replay.gap is None
            joined.append((sink, [e.id for e in replay.events], resume, history))

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(publish())
            tg.create_task(join())
        await _until(lambda: all(s.live[-1:] == published[-1:] for s, *_ in joined))
        for sink, replayed, resume, history in joined:
            got = replayed + sink.live
            if resume is not None:
                start_at = published.index(resume) + 1
                assert got == published[start_at:]
            elif history:
                assert got == published
            else:  # from "now": a suffix of the log, every event once
                assert got == published[len(published) - len(got) :]
        clients = await broker._cmd.client_list()  # sockets to Redis
        assert len(clients) <= 4, "one reading connection, not one per subscriber"
    finally:
        await publisher.aclose()
        await broker.aclose()


def _child_env() -> dict[str, str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    return {"PYTHONPATH": root}


async def _read(url: str, headers: dict[str, str], count: int) -> list[Item]:
    got: list[Item] = []
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{url}/api/events", headers=headers) as r,
    ):
        assert r.status_code == 200
        parser = Parser()
        async for chunk in r.aiter_raw():
            got.extend(events_only(parser.feed(chunk)))
            if len([e for e in got if e.id]) >= count:
                break
    return got


async def test_a_client_resumes_on_another_server_process_right_after_its_id(
    redis_server: RedisServer, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _child_env().items():
        monkeypatch.setenv(name, value)
    args = ("--broker", redis_server.url, "--redis-prefix", prefix)
    a, b = start_child(args), start_child(args)
    publisher = RedisBroker(redis_server.url, prefix)
    try:
        await publisher.open_topic("events", 10_000)
        ids = [
            (await publisher.publish("events", "note", str(i))).id for i in range(30)
        ]
        from_a = await _read(str(a.url), {"Last-Event-ID": ids[4]}, 10)
        got_a = [e.id for e in from_a if e.id]
        assert got_a[:10] == ids[5:15]
        from_b = await _read(str(b.url), {"Last-Event-ID": got_a[9]}, 15)
        assert [e.id for e in from_b if e.id][:15] == ids[15:30]
        assert all(e.type != "replay-gap" for e in from_b)
    finally:
        await publisher.aclose()
        await a.stop()
        await b.stop()


async def test_a_resume_from_a_trimmed_or_unknown_id_gets_replay_gap(
    redis_server: RedisServer, prefix: str
) -> None:
    live = start(fast(broker_url=redis_server.url, redis_prefix=prefix))
    publisher = RedisBroker(redis_server.url, prefix)
    try:
        await publisher.open_topic("events", 10)  # MAXLEN ~ 10 trims whole nodes
        ids = [
            (await publisher.publish("events", "note", str(i))).id for i in range(600)
        ]
        for resume, reason in ((ids[0], "evicted"), ("nonsense", "unknown")):
            got = await _read(live.url, {"Last-Event-ID": resume}, 1)
            assert got[0].type == "replay-gap"
            assert json.loads(got[0].data)["reason"] == reason
            assert got[1].id is not None
            assert got[1].id != ids[1]
    finally:
        await publisher.aclose()
        live.stop()


async def test_subscribers_reconnect_and_continue_after_redis_restarts(
    redis_server: RedisServer, prefix: str
) -> None:
    live = start(fast(broker_url=redis_server.url, redis_prefix=prefix))
    publisher = RedisBroker(redis_server.url, prefix)
    seen: list[Item] = []
    statuses: list[int] = []

    async def follow() -> None:  # an EventSource: reconnect with Last-Event-ID
        async with httpx.AsyncClient(timeout=10) as client:
            while not any(e.data == "after" for e in seen):
                last = [e.id for e in seen if e.id]
                headers = {"Last-Event-ID": last[-1]} if last else {}
                try:
                    async with client.stream(
                        "GET", f"{live.url}/api/events", headers=headers
                    ) as r:
                        statuses.append(r.status_code)
                        parser = Parser()
                        async for chunk in r.aiter_raw():
                            seen.extend(events_only(parser.feed(chunk)))
                            if any(e.data == "after" for e in seen):
                                return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.02)

    async def publish_until_done(data: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                await publisher.publish("events", "note", data)
                return
            except RuntimeError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)

    try:
        await publisher.open_topic("events", 1000)
        async with asyncio.TaskGroup() as tg:
            follower = tg.create_task(follow())
            await _until(lambda: bool(seen))  # subscribed: its `stats` frame came
            await publish_until_done("before")
            await _until(lambda: any(e.data == "before" for e in seen))
            redis_server.stop()
            async with httpx.AsyncClient() as client:
                info = (await client.get(f"{live.url}/api/info")).json()
            assert info["broker"]["state"] == "unreachable"
            await asyncio.sleep(0.2)  # reconnections are refused meanwhile
            redis_server.start()
            await publish_until_done("after")
            await asyncio.wait_for(follower, 15)
        assert 503 in statuses
        assert statuses[-1] == 200
        gaps = [e for e in seen if e.type == "replay-gap"]
        assert gaps, "the emptied log is announced as a gap"
    finally:
        await publisher.aclose()
        live.stop()


async def test_the_lab_pulse_beats_on_through_a_redis_outage_and_stops_when_asked(
    redis_server: RedisServer, prefix: str
) -> None:
    """A beat that cannot be published is skipped, not the end of the pulse: once
    Redis is back the pulses come again, and stopping it answers at once."""
    live = start(fast(broker_url=redis_server.url, redis_prefix=prefix, lab=True))
    try:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            r = await client.post("/api/lab/pulse", json={"every_ms": 20})
            assert r.status_code == 200
            redis_server.stop()
            await asyncio.sleep(0.3)  # about 15 beats fail meanwhile
            redis_server.start()
            pulses: list[Item] = []
            async with asyncio.timeout(10):
                while not pulses:  # a stream refused (503) until Redis answers
                    async with client.stream("GET", "/api/events") as stream:
                        parser = Parser()
                        async for chunk in stream.aiter_raw():
                            got = events_only(parser.feed(chunk))
                            pulses += [e for e in got if e.type == "pulse"]
                            if pulses:
                                break
                    await asyncio.sleep(0.05)
            assert json.loads(pulses[0].data)["n"] > 10  # the beat went on
            started = time.monotonic()
            r = await client.post("/api/lab/pulse", json={"every_ms": 0})
            assert r.status_code == 200
            assert time.monotonic() - started < 1
            assert (await client.get("/api/lab")).json()["pulse_ms"] == 0
    finally:
        live.stop()


async def test_the_redis_password_is_masked_wherever_the_url_is_shown(
    tmp_path: Path, prefix: str
) -> None:
    redis_server = start_redis(tmp_path, password="s3cret-pw")
    live = start(fast(broker_url=redis_server.url, redis_prefix=prefix))
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{live.url}/api/info")
        assert "s3cret-pw" not in r.text
        broker = r.json()["broker"]
        assert broker["kind"] == "redis"
        assert broker["state"] == "connected"
        assert broker["url"] == f"redis://:***@127.0.0.1:{redis_server.port}/0"
        assert (
            mask_url("rediss://user:pw@[::1]:6380/2")
            == "rediss://user:***@[::1]:6380/2"
        )
        assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    finally:
        live.stop()
        redis_server.stop()


def test_serve_refuses_a_broker_url_that_is_not_redis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve_main(["--port", "0", "--broker", "http://u:pw@127.0.0.1:1/0"]) == 2
    err = capsys.readouterr().err
    assert "--broker must be a redis:// or rediss:// URL" in err
    assert "pw" not in err
    assert serve_main(["--port", "0", "--broker", "redis://:pw@127.0.0.1:1/0"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot reach Redis at redis://:***@127.0.0.1:1/0" in err
    assert "pw@" not in err


def test_the_default_server_needs_no_redis() -> None:
    code = (
        "import sys, server.app, server.__main__; "
        "sys.exit('redis' in sys.modules or 'server.redis_broker' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **_child_env()}, check=False
    )
    assert done.returncode == 0


async def test_a_job_streams_its_story_through_redis_and_its_end_id_gets_204(
    redis_server: RedisServer, prefix: str
) -> None:
    live = start(fast(broker_url=redis_server.url, redis_prefix=prefix))
    try:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            params = {"lines": 50, "interval_s": 0.002}
            job = (
                await client.post("/api/jobs", json={"kind": "build", "params": params})
            ).json()["id"]
            got: list[Item] = []
            async with client.stream("GET", f"/api/jobs/{job}/events") as r:
                parser = Parser()
                async for chunk in r.aiter_raw():
                    got.extend(events_only(parser.feed(chunk)))
            assert got[-1].type == "end"
            assert len({e.id for e in got}) == len(got)
            middle = got[len(got) // 2].id or ""
            async with client.stream(
                "GET", f"/api/jobs/{job}/events", headers={"Last-Event-ID": middle}
            ) as r:
                parser = Parser()
                rest = [
                    e for chunk in [c async for c in r.aiter_raw()]
                    for e in events_only(parser.feed(chunk))
                ]  # fmt: skip
            assert [e.id for e in rest] == [e.id for e in got[len(got) // 2 + 1 :]]
            end = await client.get(
                f"/api/jobs/{job}/events", headers={"Last-Event-ID": got[-1].id or ""}
            )
            assert end.status_code == 204
    finally:
        live.stop()
