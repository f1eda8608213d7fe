"""Scale-out rows of the server benchmark: ``bench_server.py --scale [--quick]``.

Three set-ups, run alternately ``--runs`` times (medians printed side by side):

- ``memory x1``: one process, the in-memory broker; a bench route publishes;
- ``redis x1``: one process on the Redis broker, the same route (isolates Redis);
- ``redis x2``: ``python -m server --workers 2 --broker …`` takes the subscribers,
  a separate one-process server on the same Redis publishes through its route
  (the load-balancer case: whoever publishes, every worker delivers).

Figures: fan-out of 1,000 subscribers x 10 events/s (p50/p99 publish-to-receive
from the event's scheduled time, CPU per delivered event of every server process
plus redis-server, RSS per stream), publish throughput of one topic through each
broker (a route publishing N events back to back), and resume under kill -9: 200
subscribers reconnecting with Last-Event-ID while a worker is killed 20 times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench_server import (
    ROOT,
    Child,
    GcPauses,
    Receiver,
    http,
    p99_ms,
    row,
    spawn,
    stop_all,
    subscribe,
)

if TYPE_CHECKING:
    from collections.abc import Callable

SUBSCRIBERS = 1000
RATE = 10.0


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a supervisor's workers)."""
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    pids += _tree(int(child))
    except FileNotFoundError:
        pass
    return pids


@dataclass
class Processes:
    """What a set-up's CPU and memory are counted over."""

    pids: list[int]  # roots: servers (with their workers) and redis-server

    def cpu_s(self) -> float:
        ticks = sum(_ticks(p) for root in self.pids for p in _tree(root))
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> int:
        return sum(_rss_kb(p) for root in self.pids for p in _tree(root))


@dataclass
class Redis:
    proc: subprocess.Popen[bytes]
    port: int
    directory: tempfile.TemporaryDirectory[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.directory.cleanup()


def start_redis() -> Redis:
    program = shutil.which("redis-server")
    if program is None:
        sys.exit("redis-server is missing: apt-get install -y redis-server")
    directory = tempfile.TemporaryDirectory(prefix="bench-redis-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--dir",
         directory.name, "--save", "", "--appendonly", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return Redis(proc, port, directory)
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("redis-server did not start")


def spawn_workers(redis: Redis, workers: int) -> Child:
    """``python -m server --workers N`` on the Redis broker."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--broker", redis.url,
         "--redis-prefix", "bench:", "--workers", str(workers)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"workers did not start: {line!r}")
    return Child(proc, line.split()[1])


def stop_workers(child: Child) -> None:
    child.proc.send_signal(signal.SIGTERM)
    child.proc.wait(10)
    if child.proc.stdout is not None:
        child.proc.stdout.close()


@dataclass
class SetUp:
    """Where subscribers connect, where the bench route publishes, what to count."""

    name: str
    subscribe_to: Child
    publish_to: Child
    counted: Processes


@dataclass
class Fan:
    p50_ms: float
    p99_ms: float
    # Each event's first receive, whichever subscriber: the broker's own hop,
    # without the time a process takes to write to 1,000 sockets one by one.
    first_p50_ms: float
    cpu_us_per_event: float
    kb_per_stream: float
    complete: int
    server_gc: dict[str, float] | None  # None: the workers have no bench route
    client_gc: dict[str, float]


CLIENT_GC = GcPauses()  # the measuring side's own pauses delay what it reads


async def _server_gc(setup: SetUp) -> dict[str, float] | None:
    if setup.subscribe_to is not setup.publish_to:  # `--workers`: no bench routes
        return None
    raw = await http(setup.subscribe_to.port, "POST", "/bench/gc")
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])  # type: ignore[no-any-return]


async def fan_out(setup: SetUp, seconds: float) -> Fan:
    receivers = [Receiver() for _ in range(SUBSCRIBERS)]
    rss_idle = setup.counted.rss_kb()
    tasks = []
    for i in range(0, SUBSCRIBERS, 100):  # connect in waves, as a crowd would
        for r in receivers[i : i + 100]:
            tasks.append(asyncio.create_task(subscribe(setup.subscribe_to.port, r)))
        await asyncio.gather(*(r.connected.wait() for r in receivers[i : i + 100]))
    await asyncio.sleep(0.5)
    await _server_gc(setup)  # from here on
    CLIENT_GC.take()
    cpu0 = setup.counted.cpu_s()
    await http(
        setup.publish_to.port, "POST", f"/bench/start?rate={RATE}&seconds={seconds}"
    )
    await asyncio.sleep(seconds / 2)
    rss_busy = setup.counted.rss_kb()
    expected = int(seconds * RATE)
    for _ in range(int(seconds / 2 / 0.1) + 300):
        if all(len(r.numbers) >= expected for r in receivers):
            break
        await asyncio.sleep(0.1)
    cpu = setup.counted.cpu_s() - cpu0
    server_gc, client_gc = await _server_gc(setup), CLIENT_GC.take()
    await stop_all(tasks)
    delivered = sum(len(r.numbers) for r in receivers)
    latencies = [x for r in receivers for x in r.latencies]
    first: dict[int, float] = {}
    for r in receivers:
        for n, latency in zip(r.numbers, r.latencies, strict=True):
            first[n] = min(latency, first.get(n, latency))
    complete = sum(1 for r in receivers if r.numbers == list(range(expected)))
    return Fan(
        statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms(latencies),
        statistics.median(first.values()) * 1000 if first else float("nan"),
        cpu / max(1, delivered) * 1e6,
        (rss_busy - rss_idle) / SUBSCRIBERS,
        complete,
        server_gc,
        client_gc,
    )


async def burst(child: Child, count: int) -> float:
    """Events/s of one topic through the child's broker (its bench route)."""
    import json

    body = await http(child.port, "POST", f"/bench/burst?count={count}")
    seconds = float(json.loads(body.split(b"\r\n\r\n", 1)[1])["seconds"])
    return count / seconds


async def resume_under_kills(
    workers: Child, publisher: Child, subscribers: int, kills: int, seconds: float
) -> tuple[int, int, int, int]:
    """Lost, repeated, received, kills done: subscribers reconnect with
    Last-Event-ID while a random worker gets SIGKILL every ``seconds / kills``."""
    receivers = [Receiver() for _ in range(subscribers)]
    done = asyncio.Event()

    async def follow(receiver: Receiver) -> None:  # an EventSource, retry 50 ms
        while not done.is_set():
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await subscribe(workers.port, receiver)
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(follow(r)) for r in receivers]
    await asyncio.gather(*(r.connected.wait() for r in receivers))
    rate = 20.0
    await http(publisher.port, "POST", f"/bench/start?rate={rate}&seconds={seconds}")
    rng = random.Random(7)
    killed = 0
    started = time.monotonic()
    for k in range(kills):
        await asyncio.sleep(
            max(0.0, started + (k + 0.5) * seconds / kills - time.monotonic())
        )
        alive = [p for p in _tree(workers.proc.pid)[1:] if _is_worker(p)]
        if len(alive) >= 2:  # the supervisor replaced the last one killed
            os.kill(rng.choice(alive), signal.SIGKILL)
            killed += 1
    expected = int(seconds * rate)
    deadline = time.monotonic() + seconds + 30
    while time.monotonic() < deadline:
        if all(r.numbers and max(r.numbers) >= expected - 1 for r in receivers):
            break
        await asyncio.sleep(0.2)
    done.set()
    await stop_all(tasks)
    lost = repeated = got = 0
    for r in receivers:
        lost += len(set(range(expected)) - set(r.numbers))
        repeated += len(r.numbers) - len(set(r.numbers))
        got += len(r.numbers)
    return lost, repeated, got, killed


def _is_worker(pid: int) -> bool:
    """A spawned worker (not multiprocessing's resource tracker)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except FileNotFoundError:
        return False
    return b"spawn_main" in cmdline


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def main_scale(quick: bool, runs: int | None) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = runs or (3 if quick else 5)
    seconds = 6.0 if quick else 20.0
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start; {runs} alternating runs, "
        f"fan-out {seconds:.0f} s each{' (--quick)' if quick else ''}"
    )
    redis = start_redis()
    memory = spawn("serve-ours")
    single = spawn("serve-ours", redis.url)
    publisher = spawn("serve-ours", redis.url)
    workers = spawn_workers(redis, 2)
    setups = [
        SetUp("memory x1", memory, memory, Processes([memory.proc.pid])),
        SetUp("redis x1", single, single, Processes([single.proc.pid, redis.proc.pid])),
        SetUp(
            "redis x2",
            workers,
            publisher,
            Processes([workers.proc.pid, publisher.proc.pid, redis.proc.pid]),
        ),
    ]
    fans: dict[str, list[Fan]] = {s.name: [] for s in setups}
    bursts: dict[str, list[float]] = {"memory": [], "redis": []}
    try:
        for _ in range(runs):
            for setup in setups:
                fans[setup.name].append(await fan_out(setup, seconds))
            bursts["memory"].append(await burst(memory, 20_000))
            bursts["redis"].append(await burst(single, 20_000))
        r_seconds = 15.0 if quick else 60.0
        kills = 5 if quick else 20
        lost, repeated, got, killed = await resume_under_kills(
            workers, publisher, 200, kills, r_seconds
        )
    finally:
        for child in (memory, single, publisher):
            child.stop()
        stop_workers(workers)
        redis.stop()

    def med(name: str, attr: str) -> float:
        return _median([getattr(f, attr) for f in fans[name]])

    print()
    print(f"| {'metric (median of ' + str(runs) + ')':<40} | {'memory x1':>11} | "
          f"{'redis x1':>11} | {'redis x2':>11} | {'target':<24} |")  # fmt: skip
    print(f"|{'-' * 42}|{'-' * 13}|{'-' * 13}|{'-' * 13}|{'-' * 26}|")

    def cells(metric: str, values: list[str], target: str = "") -> None:
        print(f"| {metric:<40} | {values[0]:>11} | {values[1]:>11} | "
              f"{values[2]:>11} | {target:<24} |")  # fmt: skip

    def line(metric: str, fmt: str, attr: str, target: str) -> None:
        cells(metric, [format(med(s.name, attr), fmt) for s in setups], target)

    line(f"fan-out {SUBSCRIBERS} x {RATE:.0f}/s: p50 ms", ".1f", "p50_ms", "")
    line("fan-out p99 ms", ".1f", "p99_ms", "redis x1 <= memory + 5 ms")
    line("first subscriber's receive p50 ms", ".1f", "first_p50_ms", "")
    line("CPU us per delivered event (+redis)", ".1f", "cpu_us_per_event",
         "redis x1 <= 1.5x memory")  # fmt: skip
    line("KB per stream (all processes)", ".1f", "kb_per_stream", "")
    line("subscribers with every event", ".0f", "complete", f"{SUBSCRIBERS}")

    def gc_line(
        metric: str, side: str, summary: Callable[[list[dict[str, float]]], str]
    ) -> None:
        """A row of what `GcPauses.take` gave over the runs ("-": not measured,
        the workers have no bench route)."""
        values = []
        for setup in setups:
            taken = [getattr(f, side) for f in fans[setup.name]]
            values.append("-" if None in taken else summary(taken))
        cells(metric, values)

    gc_line(
        "GC-tracked objects per stream (server)",
        "server_gc",
        lambda taken: f"{_median([t['tracked'] / SUBSCRIBERS for t in taken]):.0f}",
    )
    for metric, side in (("server", "server_gc"), ("measuring client", "client_gc")):
        gc_line(
            f"full GCs (all runs), longest ms: {metric}",
            side,
            lambda taken: (
                f"{sum(t['full'] for t in taken):.0f}, "
                f"{max(t['full_max_ms'] for t in taken):.0f}"
            ),
        )
        gc_line(  # every generation's collections, summed over a window
            f"GC pauses per window, ms: {metric}",
            side,
            lambda taken: f"{_median([t['total_ms'] for t in taken]):.0f}",
        )
    mem_p99, red_p99 = med("memory x1", "p99_ms"), med("redis x1", "p99_ms")
    mem_cpu, red_cpu = (
        med("memory x1", "cpu_us_per_event"),
        med("redis x1", "cpu_us_per_event"),
    )
    print()
    row("metric", "value", "", "", "target")
    row(
        "redis x1 p99 - memory x1 p99, ms",
        f"{red_p99 - mem_p99:+.1f}",
        "",
        "",
        "<= +5 ms",
    )
    paired = [
        r.p99_ms - m.p99_ms
        for m, r in zip(fans["memory x1"], fans["redis x1"], strict=True)
    ]
    print("  the same, run by run (each redis x1 run against the memory x1 run before "
          "it): " + ", ".join(f"{d:+.1f}" for d in paired))  # fmt: skip
    row(
        "redis x1 / memory x1 CPU per event",
        f"{red_cpu / mem_cpu:.2f}x",
        "",
        "",
        "<= 1.5x",
    )
    row(
        "publish ev/s, one topic: memory",
        f"{_median(bursts['memory']):,.0f}",
        "",
        "",
        "",
    )
    row(
        "publish ev/s, one topic: redis", f"{_median(bursts['redis']):,.0f}", "", "", ""
    )
    row(
        f"resume 200 x {killed} kill -9, {r_seconds:.0f}s: lost", f"{lost}", "", "", "0"
    )
    row("resume: repeated", f"{repeated}", "", "", "0")
    row("resume: events received", f"{got:,}", "", "", "")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
