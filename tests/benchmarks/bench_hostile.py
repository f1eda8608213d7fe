"""Hostile-localhost probes at full size, run on demand; prints a table.

    /work/main/.venv/bin/python tests/benchmarks/bench_hostile.py [--quick]

The scaled-down versions are tests/hostile/test_resource_probes.py.  Each probe
starts its own server child (`python -m server`, defaults unless said) and reads
its RSS, descriptors and stderr through /proc; the figures in the "before"
column are those a black-box probe measured on the server before these bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
from server_kinds import Child, spawn

KIND = "uvicorn-h11"
MB = 1024 * 1024


@dataclass
class Row:
    probe: str
    figure: str
    before: str
    target: str


class Peak:
    """Samples a child's RSS every 20 ms in a thread until stopped."""

    def __init__(self, child: Child) -> None:
        self.child, self.peak = child, child.rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, self.child.rss_mb())
            except (FileNotFoundError, RuntimeError):
                return
            time.sleep(0.02)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak


async def ticker_gaps(child: Child, stop: asyncio.Event) -> list[float]:
    """Gaps (s) between reads of a 100/s ticker until ``stop``: what a stall does."""
    reader, writer = await asyncio.open_connection(child.host, child.port)
    writer.write(
        b"GET /api/ticker?rate=100&count=10000000 HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    await reader.readuntil(b"\r\n\r\n")  # gaps count from the first bytes on
    gaps, last = [], time.monotonic()
    try:
        while not stop.is_set():
            try:
                async with asyncio.timeout(0.5):
                    if not await reader.read(65536):
                        break
            except TimeoutError:
                continue
            now = time.monotonic()
            gaps.append(now - last)
            last = now
    finally:
        writer.close()
    return gaps


# -- probes --------------------------------------------------------------------------


def fd_flood(seconds: float) -> list[Row]:
    """`ulimit -n 1024`, 1,100 sockets sending partial headers for ``seconds``."""
    child = spawn(KIND, nofile=1024)
    socks: list[socket.socket] = []
    info_ms: list[float] = []
    failures = 0
    try:
        for _ in range(1100):
            try:
                s = socket.create_connection((child.host, child.port), timeout=2)
                s.sendall(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                socks.append(s)
            except OSError:
                failures += 1
        fds_peak = child.open_fds()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                r = httpx.get(f"{child.url}/api/info", timeout=5)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            info_ms.append((time.monotonic() - started) * 1000 if ok else float("inf"))
            fds_peak = max(fds_peak, child.open_fds())
            time.sleep(0.25)
        log = child.log()
    finally:
        for s in socks:
            s.close()
        child.stop()
    answered = sum(1 for ms in info_ms if ms != float("inf"))
    finite = [ms for ms in info_ms if ms != float("inf")] or [float("nan")]
    return [
        Row(
            f"fd flood 1,100 half-headers, {seconds:.0f}s: /api/info answered",
            f"{answered}/{len(info_ms)}",
            "0 (unreachable)",
            "all",
        ),
        Row(
            "  /api/info p50 / max ms",
            f"{statistics.median(finite):.0f} / {max(finite):.0f}",
            "-",
            "< 1000",
        ),
        Row("  server fds peak (limit 1024)", f"{fds_peak}", "1024", "< 1024"),
        Row(
            "  stderr bytes / tracebacks",
            f"{len(log):,} / {log.count('Traceback')}",
            "156 MB / 384,953 in 40 s",
            "a few lines / 0",
        ),
    ]


async def upload(size_mb: int) -> list[Row]:
    """``size_mb`` chunked to /api/jobs while a ticker streams; RSS and stall."""
    child = spawn(KIND)
    try:
        rss0 = child.rss_mb()
        stop = asyncio.Event()
        gaps_task = asyncio.create_task(ticker_gaps(child, stop))
        await asyncio.sleep(0.5)
        peak = Peak(child)
        reader, writer = await asyncio.open_connection(child.host, child.port)
        writer.write(
            b"POST /api/jobs HTTP/1.1\r\n"
            b"Host: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (MB, b" " * MB)
        started = time.monotonic()
        try:
            for _ in range(size_mb):
                writer.write(chunk)
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            pass
        head = await reader.readuntil(b"\r\n")
        elapsed = time.monotonic() - started
        writer.close()
        await asyncio.sleep(0.5)
        rss_peak = peak.stop()
        rss_after = child.rss_mb()
        stop.set()
        gaps = await gaps_task
    finally:
        child.stop()
    return [
        Row(
            f"upload {size_mb:,} MB chunked: answer",
            head.decode().split(" ", 1)[1].strip(),
            "201/422 after reading it all",
            "413",
        ),
        Row(
            "  RSS peak / after MB",
            f"{rss_peak:.0f} / {rss_after:.0f}",
            "2,800 / 928",
            f"~{rss0:.0f} (idle)",
        ),
        Row("  longest ticker stall s", f"{max(gaps, default=0):.2f}", "6.3", "< 0.5"),
        Row("  upload time s (client)", f"{elapsed:.1f}", "-", ""),
    ]


def jobs(count: int) -> list[Row]:
    """``count`` build jobs started as fast as the API takes them."""
    child = spawn(KIND)
    refused = 0
    try:
        rss0, peak = child.rss_mb(), Peak(child)
        started = time.monotonic()
        with httpx.Client(base_url=child.url, timeout=30) as client:
            for _ in range(count):
                body = {"kind": "build", "params": {"lines": 5000, "interval_s": 0.001}}
                r = client.post("/api/jobs", json=body)
                refused += r.status_code == 429
            elapsed = time.monotonic() - started
            time.sleep(5)
        rss_peak = peak.stop()
        rss_end = child.rss_mb()
    finally:
        child.stop()
    return [
        Row(
            f"{count:,} build jobs in {elapsed:.0f}s: refused (429)",
            f"{refused:,}",
            "0",
            "past 64 running",
        ),
        Row(
            "  RSS idle / peak / 5 s later MB",
            f"{rss0:.0f} / {rss_peak:.0f} / {rss_end:.0f}",
            "1,900 at 90 s",
            "< 400",
        ),
    ]


async def sent_log(subscribers: int, seconds: float) -> list[Row]:
    """``subscribers`` on /api/events for ``seconds`` of a 10 ms pulse, lab on."""
    child = spawn(KIND, "--lab")
    conns = []
    try:
        for _ in range(subscribers):
            reader, writer = await asyncio.open_connection(child.host, child.port)
            writer.write(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            conns.append((reader, writer))

        async def drain(reader: asyncio.StreamReader) -> None:
            while await reader.read(65536):
                pass

        readers = [asyncio.create_task(drain(r)) for r, _ in conns]
        async with httpx.AsyncClient(base_url=child.url, timeout=60) as client:
            await client.post("/api/lab/pulse", json={"every_ms": 10})
            peak = Peak(child)
            stop = asyncio.Event()
            gaps_task = asyncio.create_task(ticker_gaps(child, stop))
            await asyncio.sleep(seconds)
            await client.post("/api/lab/pulse", json={"every_ms": 0})
            started = time.monotonic()
            r = await client.get("/api/lab/sent")
            first_page_s = time.monotonic() - started
            page_bytes = len(r.content)
            pages, params, total_s = 1, {}, first_page_s
            answer = r.json()
            while answer["next"] is not None:
                params["since"] = answer["next"]
                started = time.monotonic()
                answer = (await client.get("/api/lab/sent", params=params)).json()
                total_s += time.monotonic() - started
                pages += 1
            stop.set()
            gaps = await gaps_task
            rss_peak = peak.stop()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for _, writer in conns:
            writer.close()
        child.stop()
    return [
        Row(
            f"sent log {subscribers} subs x {seconds:.0f}s of 10 ms pulse: page KB",
            f"{page_bytes / 1024:,.0f}",
            "117,000 (one answer)",
            "bounded",
        ),
        Row("  pages / seconds for all", f"{pages} / {total_s:.1f}", "1 / -", ""),
        Row("  RSS peak MB", f"{rss_peak:.0f}", "779", "< 400"),
        Row("  longest ticker stall s", f"{max(gaps, default=0):.2f}", "2.4", "< 0.5"),
    ]


def stopped_reader() -> list[Row]:
    """A client that never reads /api/events under a 100 ms pulse (send timeout 10)."""
    child = spawn(KIND, "--lab", "--log-level", "info")
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((child.host, child.port))
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with httpx.Client(base_url=child.url, timeout=10) as client:
            client.post("/api/lab/pulse", json={"every_ms": 100})
            started = time.monotonic()
            while client.get("/api/streams").json()["count"] and (
                time.monotonic() - started < 120
            ):
                time.sleep(0.1)
            dropped_after = time.monotonic() - started
        sock.close()
        logged = child.log().count("stalled (the client stopped reading")
    finally:
        child.stop()
    return [
        Row(
            "stopped reader, 100 ms pulse: dropped after s",
            f"{dropped_after:.1f}",
            "~32 (TCP timeout)",
            "~10 (send timeout)",
        ),
        Row("  drops logged with reason", f"{logged}", "0", "1"),
    ]


def bad_ids() -> list[Row]:
    child = spawn(KIND)
    statuses = set()
    try:
        with httpx.Client(base_url=child.url, timeout=10) as client:
            run = client.get("/api/info").json()["run_id"]
            job = client.post("/api/jobs", json={"kind": "countdown"}).json()["id"]
            for path in ("/api/events", f"/api/jobs/{job}/events", "/api/ticker"):
                for bad in ("9" * 5000, f"{run}-0-{'9' * 5000}", "-1", "x"):
                    with client.stream(
                        "GET", path, headers={"Last-Event-ID": bad}
                    ) as r:
                        statuses.add(r.status_code)
    finally:
        child.stop()
    return [
        Row(
            "malformed Last-Event-ID, 3 routes x 4: statuses",
            ",".join(map(str, sorted(statuses))),
            "500",
            "200",
        )
    ]


async def main(quick: bool) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    rows: list[Row] = []
    rows += fd_flood(10 if quick else 40)
    rows += await upload(200 if quick else 1024)
    rows += jobs(300 if quick else 1000)
    rows += await sent_log(100 if quick else 300, 15 if quick else 60)
    rows += stopped_reader()
    rows += bad_ids()
    print()
    print(f"| {'probe':<58} | {'now':>17} | {'before':>24} | {'target':<17} |")
    print(f"|{'-' * 60}|{'-' * 19}|{'-' * 26}|{'-' * 19}|")
    for r in rows:
        print(f"| {r.probe:<58} | {r.figure:>17} | {r.before:>24} | {r.target:<17} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, ~1 min")
    asyncio.run(main(parser.parse_args().quick))
