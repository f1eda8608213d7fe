"""Clients that close, stop reading or vanish are noticed, dropped and freed."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from server.runner import bind
from server.tcp import USER_TIMEOUT_MS

from liveserver import fast

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def streams(client: httpx.AsyncClient) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (await client.get("/api/streams")).json()[
        "subscriptions"
    ]
    return rows


async def wait_count(client: httpx.AsyncClient, count: int, within: float) -> float:
    """Seconds until /api/streams lists ``count`` subscriptions."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if len(await streams(client)) == count:
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"still {len(await streams(client))} open, wanted {count}")


def raw_get(url: str, path: str) -> socket.socket:
    """A client that sends a GET and then never reads (small buffer: fills fast)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> str:
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return "reset"
    return "eof"


async def test_a_client_that_closes_is_noticed_within_a_second(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/api/events") as r:
        await wait_count(client, 1, 2)
        row = (await streams(client))[0]
        assert row["path"] == "/api/events" and row["topic"] == "events"
        assert str(row["client"]).startswith("127.0.0.1:")
        del r
    assert await wait_count(client, 0, 1.0) < 1.0


async def test_streams_rows_count_events_and_last_id(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/api/ticker?rate=0&count=100") as r:
        body = b"".join([c async for c in r.aiter_raw()])
        del body
    async with client.stream("GET", "/api/ticker?rate=1000&count=100000") as r:
        async for _ in r.aiter_raw():
            rows = await streams(client)
            if rows and rows[0]["events_sent"]:
                assert rows[0]["last_id"] is not None
                break


async def test_a_client_that_stops_reading_a_fast_ticker_is_dropped(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(send_timeout_s=0.5))
    async with httpx.AsyncClient(base_url=live.url) as client:
        sock = raw_get(live.url, "/api/ticker?rate=0&size=1000&count=100000000")
        try:
            await wait_count(client, 1, 2)
            sent = []
            for _ in range(40):  # its writes block once the socket buffers are full
                rows = await streams(client)
                if not rows:
                    break
                sent.append(int(str(rows[0]["bytes_sent"])))
                await asyncio.sleep(0.05)
            await wait_count(client, 0, 3)
            assert sent and max(sent) < 64_000_000  # bounded by kernel buffers
            # The server aborted the connection: the socket ends (reset or EOF).
            assert read_until_closed(sock, timeout=5) in ("reset", "eof")
        finally:
            sock.close()


async def test_a_stalled_reader_of_a_busy_topic_is_dropped_at_the_backlog_bound(
    make_server: Callable[[Settings], LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="server.streams")
    live = make_server(fast(send_timeout_s=30, backlog_bytes=200_000))
    async with httpx.AsyncClient(base_url=live.url) as client:
        job = (
            await client.post(
                "/api/jobs",
                json={"kind": "build", "params": {"lines": 100_000, "interval_s": 0}},
            )
        ).json()["id"]
        sock = raw_get(live.url, f"/api/jobs/{job}/events")
        try:
            await wait_count(client, 1, 2)
            await wait_count(client, 0, 10)
            assert (await client.get(f"/api/jobs/{job}")).json()["status"] == "running"
        finally:
            sock.close()
            await client.post(f"/api/jobs/{job}/cancel")
    assert any("overflow" in r.getMessage() for r in caplog.records)


async def test_fifty_killed_clients_leave_no_subscription(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(ping_s=5))
    host, port = live.url.removeprefix("http://").split(":")
    script = (
        "import socket, sys, time\n"
        "socks = []\n"
        "for _ in range(50):\n"
        f"    s = socket.create_connection(({host!r}, {port}))\n"
        f"    s.sendall(b'GET /api/events HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n')\n"
        "    socks.append(s)\n"
        "print('ok', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert (await child.stdout.readline()).strip() == b"ok"
        async with httpx.AsyncClient(base_url=live.url) as client:
            await wait_count(client, 50, 5)
            child.kill()
            await child.wait()
            assert await wait_count(client, 0, 2) < 2
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


def test_listening_socket_has_keepalive_and_a_user_timeout() -> None:
    sock = bind("127.0.0.1", 0)
    with sock:
        assert sock.proto == socket.IPPROTO_TCP  # so asyncio sets TCP_NODELAY
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            value = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
            assert value == USER_TIMEOUT_MS


@pytest.mark.parametrize(
    "path", ["/api/events", "/api/ticker?rate=100&size=100&count=100000"]
)
async def test_a_stopped_reader_of_a_slow_stream_is_dropped_and_logged(
    make_server: Callable[[Settings], LiveServer],
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """~10 KB/s: the kernel's send buffer would take minutes to fill and block a
    write; the client's closed window shows it within the send timeout."""
    caplog.set_level(logging.INFO, logger="server.streams")
    live = make_server(fast(send_timeout_s=0.5))
    async with httpx.AsyncClient(base_url=live.url) as client:
        await client.post("/api/lab/pulse", json={"every_ms": 10})
        sock = raw_get(live.url, path)
        try:
            await wait_count(client, 1, 2)
            assert await wait_count(client, 0, 6) < 6
            assert read_until_closed(sock, timeout=5) in ("reset", "eof")
        finally:
            sock.close()
            await client.post("/api/lab/pulse", json={"every_ms": 0})
    lines = [r.getMessage() for r in caplog.records if "stalled" in r.getMessage()]
    assert len(lines) == 1 and path.split("?")[0] in lines[0]
