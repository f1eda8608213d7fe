"""Scaled-down hostile probes of the server's resources: tens of MB, seconds each.

Each runs against a child server process (`server_kinds`) and only speaks HTTP
over loopback sockets and reads /proc, with loose bounds; the full-size probes
are tests/benchmarks/bench_hostile.py.
"""

from __future__ import annotations

import json
import resource
import ssl
import threading
import time
from typing import TYPE_CHECKING

import pytest

from server_kinds import make_child, server_kind, wait_for

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from server_kinds import Child

__all__ = ["make_child", "server_kind"]  # fixtures, used by name

MB = 1024 * 1024
pytestmark = pytest.mark.timeout(60)


def connect(child: Child) -> socket.socket:
    return child.connect()


def half_request(child: Child) -> socket.socket:
    """A connection that sends part of a request's headers, then nothing."""
    sock = connect(child)
    sock.sendall(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """The server closed the connection (EOF or reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return True


def not_on(kind: str, reason: str) -> None:
    """Skip this probe on Hypercorn, saying why (shown by ``pytest -rs``)."""
    if kind == "hypercorn-h2":
        pytest.skip(f"not on hypercorn-h2: {reason}")


def head_of(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request``; the response's status line and headers."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_connections_that_never_finish_their_headers_are_closed(
    make_child: Callable[..., Child],
) -> None:
    child = make_child("--headers-timeout", "1")
    socks = [half_request(child) for _ in range(50)]
    keep_alive = connect(child)  # one good request, then half of the next
    assert head_of(
        keep_alive, b"GET /api/info HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ).startswith(b"HTTP/1.1 200")
    keep_alive.sendall(b"GET /api/info HTTP/1.1\r\nHo")
    socks.append(keep_alive)
    try:
        started = time.monotonic()
        assert all(closed_within(s, 5) for s in socks)
        assert time.monotonic() - started < 4  # 1 s deadline, loose
        assert child.get("/api/info").status_code == 200
    finally:
        for sock in socks:
            sock.close()


def test_a_body_sent_a_byte_a_second_gets_408_and_frees_its_slot(
    make_child: Callable[..., Child],
) -> None:
    # 5 connections leave 1 request at once (Settings.request_cap): the trickle
    # holds the only slot until its deadline.
    child = make_child("--max-connections", "5", "--body-timeout", "2")
    slow = connect(child)
    with child.client(5) as client:

        def start_job() -> int:
            return client.post("/api/jobs", json={"kind": "countdown"}).status_code

        try:
            slow.sendall(
                b"POST /api/jobs HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            started = time.monotonic()
            wait_for(lambda: start_job() == 503, within=1.5)  # the slot is held
            answer, closed = b"", False
            slow.settimeout(1.0)
            while not closed and time.monotonic() - started < 15:
                try:
                    slow.sendall(b" ")  # 1 byte a second, never the 100
                    chunk = slow.recv(65536)
                except TimeoutError:
                    continue
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                    chunk = b""
                answer += chunk
                closed = not chunk
            took = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"--body-timeout" in answer and b"connection: close" in answer
            assert closed and 1.5 < took < 8, took  # 2 s; Hypercorn drains 1 s more
            # The slot is free again (Hypercorn lets go just after the close).
            wait_for(lambda: start_job() == 201, within=2.0)
        finally:
            slow.close()


def test_a_flood_past_the_fd_limit_leaves_api_info_answering(
    make_child: Callable[..., Child], server_kind: str
) -> None:
    not_on(server_kind, "Hypercorn has no connection cap (server/hyper.py)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024:  # the probe's own 400 sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    child = make_child("--headers-timeout", "60", nofile=256)
    socks: list[socket.socket] = []
    try:
        for _ in range(400):
            socks.append(half_request(child))
        started = time.monotonic()
        r = child.get("/api/info")
        assert r.status_code == 200
        assert time.monotonic() - started < 3
        assert child.open_fds() < 256
        log = child.log()
        assert "Traceback" not in log and len(log) < 20_000
        assert 1 <= log.count("--max-connections") <= 3  # rate-limited
    finally:
        for sock in socks:
            sock.close()


def test_past_the_cap_a_stream_gets_200_and_retry_and_the_api_503(
    make_child: Callable[..., Child], server_kind: str
) -> None:
    not_on(server_kind, "Hypercorn has no connection cap (server/hyper.py)")
    child = make_child("--max-connections", "20")  # 16 requests at once
    streams = [connect(child) for _ in range(16)]
    try:
        for sock in streams:
            head = head_of(
                sock,
                b"GET /api/ticker?rate=1&count=1000 HTTP/1.1\r\n"
                b"Host: localhost\r\n\r\n",
            )
            assert head.startswith(b"HTTP/1.1 200")
        extra = connect(child)
        streams.append(extra)
        extra.sendall(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        extra.settimeout(5)
        while not answer.endswith(b"0\r\n\r\n"):  # the body ends: a retry, no 503
            chunk = extra.recv(65536)
            assert chunk, answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b"retry: 2000\n" in answer
        with child.client(5) as client:
            r = client.post("/api/jobs", json={"kind": "countdown"})
            assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
            assert "try again" in r.json()["message"]
            assert client.get("/api/info").status_code == 200
    finally:
        for sock in streams:
            sock.close()


def test_a_64_mb_chunked_upload_gets_413_and_memory_stays_flat(
    make_child: Callable[..., Child],
) -> None:
    child = make_child()
    before = child.rss_mb()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, child.rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    sock = connect(child)
    try:
        sock.sendall(
            b"POST /api/jobs HTTP/1.1\r\n"
            b"Host: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (MB, b"[" * MB)
        try:
            for _ in range(64):
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            pass  # the server answered and closed: fine too
        head = head_of(sock, b"")
    finally:
        done.set()
        sampler.join()
        sock.close()
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert peak - before < 40, f"RSS grew {peak - before:.0f} MB"


def test_jobs_past_the_cap_get_429_and_their_logs_stay_bounded(
    make_child: Callable[..., Child], server_kind: str
) -> None:
    # 16 s; the job cap is the app's (server/jobs.py), the same code on any server.
    not_on(server_kind, "app-level, run once on uvicorn-h11 to keep the suite short")
    child = make_child("--max-jobs", "20")
    with child.client(10) as client:
        statuses = []
        # Each job runs >= 6 s (3,000 lines, 2 ms apart), so none ends while the
        # 30 starts go in, however loaded the machine: the cap is what refuses.
        for _ in range(30):
            body = {"kind": "build", "params": {"lines": 3000, "interval_s": 0.002}}
            r = client.post("/api/jobs", json=body)
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) > 0
        assert statuses.count(201) <= 20 and statuses.count(429) >= 10
        wait_for(
            lambda: all(
                j["status"] != "running" for j in client.get("/api/jobs").json()
            ),
            within=30,
            step=0.2,
        )
        assert child.rss_mb() < 400


def test_the_sent_log_of_a_fast_pulse_comes_in_bounded_pages(
    make_child: Callable[..., Child],
) -> None:
    child = make_child("--lab")
    subscribers = [connect(child) for _ in range(30)]
    try:
        for sock in subscribers:
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with child.client(10) as client:
            wait_for(lambda: client.get("/api/streams").json()["count"] == 30, 5)
            client.post("/api/lab/pulse", json={"every_ms": 10})
            time.sleep(2)
            client.post("/api/lab/pulse", json={"every_ms": 0})
            entries, pages, params = 0, 0, {"topic": "events"}
            while True:
                r = client.get("/api/lab/sent", params=params)
                assert len(r.content) < 300_000  # ~1,000 entries a page
                answer = r.json()
                pages += 1
                entries += sum(len(row["sent"]) for row in answer["subscriptions"])
                if answer["next"] is None:
                    break
                params["since"] = answer["next"]
        assert entries >= 30 * 150 and pages >= 4
    finally:
        for sock in subscribers:
            sock.close()


def test_stopped_readers_are_dropped_and_each_drop_is_logged(
    make_child: Callable[..., Child], server_kind: str
) -> None:
    not_on(
        server_kind,
        "what the client acknowledged is read from uvicorn's transport "
        "(server/response.py); under Hypercorn only a write blocked for "
        "--send-timeout drops a reader, once the kernel's buffers are full",
    )
    child = make_child("--lab", "--log-level", "info", "--send-timeout", "2")
    readers = []
    for _ in range(10):
        sock = child.connect(rcvbuf=4096)
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        readers.append(sock)  # and never read
    try:
        with child.client(10) as client:
            wait_for(lambda: client.get("/api/streams").json()["count"] == 10, 5)
            client.post("/api/lab/pulse", json={"every_ms": 10})
            # 2 s of send timeout; a write would block only after minutes
            wait_for(lambda: client.get("/api/streams").json()["count"] == 0, 10)
            client.post("/api/lab/pulse", json={"every_ms": 0})
        assert child.log().count("stalled (the client stopped reading") == 10
    finally:
        for sock in readers:
            sock.close()


def test_no_last_event_id_gives_a_500(make_child: Callable[..., Child]) -> None:
    child = make_child()
    with child.client(10) as client:
        run = client.get("/api/info").json()["run_id"]
        job = client.post("/api/jobs", json={"kind": "countdown"}).json()["id"]
        for path in ("/api/events", f"/api/jobs/{job}/events", "/api/ticker"):
            for bad in ("9" * 5000, f"{run}-0-{'9' * 5000}", "-1", "\x01\x7f"):
                headers = {"Last-Event-ID": bad}
                with client.stream("GET", path, headers=headers) as r:
                    assert r.status_code == 200, (path, bad[:20])
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            assert json.loads(line[5:])["reason"] == "unknown"
                            break
