"""App speed and memory, run on demand; prints a table.

    python tests/benchmarks/bench_app.py [--runs 3] [--count 200000]
                                         [--steady-s 60] [--quick]

Against the bundled server's ticker (a child process, as the app starts it):
1. source: a raw byte reader, to check the ticker outpaces both consumers;
2. ``sse-viewer tail --format json > /dev/null`` events/s (a subprocess);
3. the app ingesting into a shown window (offscreen), events/s, with a 10 ms
   timer's lateness on the UI loop (p50/p99/max);
4. a steady 2,000 events/s: lateness and the batch queue over time;
5. RSS growth per retained ~100-byte event at 100,000 events, and after 300,000
   (retention full: should be flat);
6. launch: window up and first event painted, from process start (server included);
7. the rate plot's cost: lateness at a steady 2,000 events/s with the Rate tab
   shown and not shown, alternating in one process (``--rate-plot-only`` runs
   just this);
8. live to the frame (``tests/benchmarks/live_frame.py``; ``--frame-only`` runs just
   this): the app's ingest against headless Chromium's bare ``EventSource`` on the
   same stream, runs alternating; arrival-to-paint (the engine's receive time of
   an event to the end of the first timeline paint that shows its row) at 10,
   2,000 events/s and full speed; 20 tabs each streaming 1,000 events/s.
Every measurement but the source runs in its own process; medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from live_frame import PageServer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # the test helpers (app_driver, chromium)


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# -- children -----------------------------------------------------------------------


def _qt() -> tuple[object, object, object]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop.ui import theme
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    theme.apply(app)
    loop = AppLoop(app)
    asyncio.set_event_loop(loop)
    viewer = Viewer(None)
    if not os.environ.get("BENCH_DEFAULT_GC"):
        from desktop.ui import gc_guard
        from desktop.ui.app import tune_gc

        tune_gc()  # as run() does, collections on the GUI thread included
        gc_guard.install(app)
    viewer.window.resize(1280, 800)
    viewer.window.show()
    return app, loop, viewer


class _Lateness:
    """A 10 ms timer on the UI loop; records how late each tick fires."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.late: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self._last) * 1000 - 10))
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.late.clear()
        self.timer.start()

    def stats(self) -> dict[str, float]:
        self.timer.stop()
        return {
            "p50_ms": _percentile(self.late, 0.5),
            "p99_ms": _percentile(self.late, 0.99),
            "max_ms": max(self.late, default=0.0),
        }


async def _poll(
    done: Callable[[], object], step_s: float = 0.005, limit_s: float = 120
) -> None:
    """Wait for app state that has no event to await (sessions are plain values)."""
    deadline = time.monotonic() + limit_s
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(step_s)


async def _warm_up(viewer: object, url: str) -> None:
    """What the app does before its first stream: paint, HTTP client, jobs probe."""
    from desktop.ui.request import origin

    _ = viewer.controller.client  # type: ignore[attr-defined]
    viewer.jobs.set_server(origin(url))  # type: ignore[attr-defined]
    await _poll(lambda: viewer.jobs.available, 0.05, 5)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)


def child_ingest(url: str, count: int) -> dict[str, object]:
    _app, loop, viewer = _qt()
    from desktop.core.engine.state import State

    from app_driver import open_stream

    async def main() -> dict[str, object]:
        await _warm_up(viewer, url)
        view = open_stream(viewer, url)  # type: ignore[arg-type]
        session = view.handle.session
        await _poll(lambda: session.events, 0.001)
        first = time.perf_counter()
        lateness = _Lateness()  # from the first event: opening a tab is not ingest
        lateness.start()
        await _poll(lambda: session.events >= count or session.state is State.CLOSED)
        await _poll(lambda: not session.store.waiting)
        elapsed = time.perf_counter() - first
        result: dict[str, object] = {"events": session.events, "seconds": elapsed}
        result["events_per_s"] = (session.events - 1) / elapsed
        result.update(lateness.stats())
        await viewer.shutdown()  # type: ignore[attr-defined]
        return result

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


def child_steady(url: str, seconds: float) -> dict[str, object]:
    _app, loop, viewer = _qt()
    from app_driver import open_stream

    async def main() -> dict[str, object]:
        await _warm_up(viewer, url)
        view = open_stream(viewer, url)  # type: ignore[arg-type]
        session = view.handle.session
        await _poll(lambda: session.events >= 100)
        lateness = _Lateness()
        lateness.start()
        queue: list[int] = []  # the most rows waiting for a flush, each second
        start = time.perf_counter()
        events0 = session.events
        while time.perf_counter() - start < seconds:
            peak = 0
            second = time.perf_counter()
            while time.perf_counter() - second < 1.0:
                peak = max(peak, session.store.waiting)
                await asyncio.sleep(0.002)
            queue.append(peak)
        elapsed = time.perf_counter() - start
        result: dict[str, object] = {
            "events_per_s": (session.events - events0) / elapsed
        }
        result.update(lateness.stats())
        third = max(1, len(queue) // 3)
        result["queue_first_third_max"] = max(queue[:third])
        result["queue_last_third_max"] = max(queue[-third:])
        await viewer.shutdown()  # type: ignore[attr-defined]
        return result

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


def child_rate_plot(url: str, phase_s: float) -> dict[str, object]:
    """p99 lateness at a steady rate with the Rate tab hidden, then shown, x3.

    The phases alternate (and swap order every round) in one process on one
    stream, so drift in load or retained rows falls on both alike.  The plot is
    built before measuring: its one-off import is not a per-frame cost.
    """
    _app, loop, viewer = _qt()
    from app_driver import open_stream

    async def main() -> dict[str, object]:
        await _warm_up(viewer, url)
        view = open_stream(viewer, url)  # type: ignore[arg-type]
        session = view.handle.session
        await _poll(lambda: session.events >= 100)
        tabs = view.bottom
        rate = [tabs.tabText(i) for i in range(tabs.count())].index("Rate")
        tabs.setCurrentIndex(rate)
        await asyncio.sleep(1.5)
        late: dict[str, list[float]] = {"hidden": [], "shown": []}
        events0, start = session.events, time.perf_counter()
        for round_ in range(3):
            order = ("hidden", "shown") if round_ % 2 == 0 else ("shown", "hidden")
            for phase in order:
                tabs.setCurrentIndex(rate if phase == "shown" else 0)
                await asyncio.sleep(0.5)  # the switch's own repaint is not measured
                lateness = _Lateness()
                lateness.start()
                await asyncio.sleep(phase_s)
                lateness.timer.stop()
                late[phase].extend(lateness.late)
        rate_s = (session.events - events0) / (time.perf_counter() - start)
        drawn = view.rate.plot is not None and view.rate.plot.current is not None
        await viewer.shutdown()  # type: ignore[attr-defined]
        result: dict[str, object] = {"events_per_s": rate_s, "drawn": drawn}
        for phase, values in late.items():
            result[f"{phase}_p50_ms"] = _percentile(values, 0.5)
            result[f"{phase}_p99_ms"] = _percentile(values, 0.99)
        return result

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


def child_memory(base_url: str) -> dict[str, object]:
    """RSS per retained event: 1,000 rows, 100,000 (full), then twice 300,000 more."""
    import gc

    from desktop.core.engine.state import State

    _app, loop, viewer = _qt()
    from app_driver import open_stream

    def ticker(count: int) -> str:
        return f"{base_url}/api/ticker?rate=0&size=100&count={count}"

    async def main() -> dict[str, object]:
        await _warm_up(viewer, base_url)
        view = open_stream(viewer, ticker(1_000))  # type: ignore[arg-type]
        session, model = view.handle.session, view.handle.timeline

        async def settle() -> int:
            await _poll(
                lambda: session.state is State.CLOSED and not session.store.waiting
            )
            await asyncio.sleep(0.3)
            gc.collect()
            return _rss()

        def reconnect(count: int) -> None:
            view.bar.url.setText(ticker(count))
            view.bar.connect_button.click()

        base = await settle()
        base_rows = model.rowCount()
        reconnect(99_000)
        full = await settle()
        rows = model.rowCount() - base_rows
        reconnect(300_000)
        later = await settle()
        reconnect(300_000)
        last = await settle()
        await viewer.shutdown()  # type: ignore[attr-defined]
        return {
            "bytes_per_event": (full - base) / rows,
            "rows_at_full": model.rowCount(),
            # a full-speed burst leaves a high-water mark (freed memory stays in
            # the allocator's arenas); "flat" means the next 300k add nothing
            "growth_first_300k_mb": (later - full) / 1e6,
            "growth_next_300k_mb": (last - later) / 1e6,
            "dropped": model.store.dropped,
        }

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


# Run as ``python -c`` so nothing but what ``sse-viewer`` itself imports comes first
# (the CLI adds argparse): the window-up time is the app's, not this script's.
LAUNCH = """
import sys, time
t0 = float(sys.argv[1])
marks = {}
from desktop.ui.app import launch
def shown(_window):
    marks["window_up_s"] = time.time() - t0
_app, loop, viewer = launch(None, no_server=False, window_shown=shown)
sys.path.insert(0, sys.argv[2])
from bench_app import watch_first_paint
loop.run_until_complete(watch_first_paint(viewer, marks, t0))
import json
print(json.dumps(marks))
"""


async def watch_first_paint(viewer: object, marks: dict[str, float], t0: float) -> None:
    """Start the app as run() does and note when the timeline paints an event."""
    from PySide6.QtCore import QEvent, QObject

    from desktop.core.engine.records import Event
    from desktop.ui.timeline.model import RECORD_ROLE

    viewer.start()  # type: ignore[attr-defined]
    view = viewer.window.current_view()  # type: ignore[attr-defined]

    def has_event() -> bool:
        proxy = view.proxy
        return any(
            isinstance(proxy.index(r, 0).data(RECORD_ROLE), Event)
            for r in range(proxy.rowCount())
        )

    class Painted(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if (
                event.type() == QEvent.Type.Paint
                and "first_event_painted_s" not in marks
                and has_event()
            ):
                marks["first_event_painted_s"] = time.time() - t0
            return False

    painted = Painted()
    view.table.viewport().installEventFilter(painted)
    await _poll(lambda: "first_event_painted_s" in marks, 0.005, 20)
    await viewer.shutdown()  # type: ignore[attr-defined]


def _launch_once() -> dict[str, object]:
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(time.time()), here],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- parent -----------------------------------------------------------------------


def _child(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def _source_rate(url: str) -> float:
    import httpx

    async with httpx.AsyncClient(timeout=None) as client:
        start = time.perf_counter()
        events = 0
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_raw():
                events += chunk.count(b"\n\n")
        return (events - 1) / (time.perf_counter() - start)


def _tail_rate(url: str, count: int) -> float:
    """From its first output to its exit, so start-up is not counted (as for the app).

    Its stdout is a pipe we drain in 1 MB reads: as cheap as ``> /dev/null``.
    """
    command = [sys.executable, "-m", "desktop.cli", "tail", "--format", "json"]
    command += ["--count", str(count), url]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as tail:
        assert tail.stdout is not None
        tail.stdout.read(1)
        first = time.perf_counter()
        while tail.stdout.read(1 << 20):
            pass
        elapsed = time.perf_counter() - first
    assert tail.returncode == 0
    return (count - 1) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description="App speed and memory benchmark")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--steady-s", type=float, default=60.0)
    parser.add_argument(
        "--quick", action="store_true", help="fewer events, 10 s steady"
    )
    parser.add_argument(
        "--rate-plot-only", action="store_true", help="only the rate plot's cost"
    )
    parser.add_argument(
        "--frame-only", action="store_true", help="only live to the frame (8.)"
    )
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "ingest":
            result = child_ingest(rest[0], int(rest[1]))
        elif kind == "steady":
            result = child_steady(rest[0], float(rest[1]))
        elif kind == "rate-plot":
            result = child_rate_plot(rest[0], float(rest[1]))
        elif kind == "latency":
            from live_frame import child_latency

            result = child_latency(rest[0], float(rest[1]), int(rest[2]))
        elif kind == "tabs":
            from live_frame import child_tabs

            result = child_tabs(rest[0], int(rest[1]), float(rest[2]))
        else:
            result = child_memory(rest[0])
        print(json.dumps(result))
        return 0
    if args.quick:
        args.count, args.steady_s = 50_000, 10.0

    from live_frame import PageServer

    from desktop.ui.server_child import ServerChild

    page = PageServer()  # Chromium's counting page, allowed by --cors-origin
    server = ServerChild(("--ping", "15", "--cors-origin", page.origin))
    server.spawn(0)
    while server.url is None:
        time.sleep(0.02)
    try:
        return _report(server.url, args, page)
    finally:
        asyncio.run(server.stop())
        page.close()


def _num(result: dict[str, object], key: str) -> float:
    value = result[key]
    assert isinstance(value, int | float), (key, value)
    return float(value)


def _median(results: list[dict[str, object]], key: str) -> float:
    return statistics.median(_num(r, key) for r in results)


def _verdict(ok: bool, bad: str = "over") -> str:
    return "ok" if ok else bad


def _rate_plot_rows(base: str, args: argparse.Namespace) -> list[tuple[str, ...]]:
    """Tab shown vs not shown at 2,000 ev/s: medians over runs of both p99s."""
    url = f"{base}/api/ticker?rate=2000&size=40&count=100000000"
    phase_s = max(3.0, args.steady_s / 6)
    results = [_child("rate-plot", url, str(phase_s)) for _ in range(args.runs)]
    assert all(r["drawn"] for r in results), "the rate plot never drew"
    hidden, shown = _median(results, "hidden_p99_ms"), _median(results, "shown_p99_ms")
    cost = statistics.median(
        _num(r, "shown_p99_ms") - _num(r, "hidden_p99_ms") for r in results
    )
    per_run = ", ".join(
        f"{_num(r, 'hidden_p99_ms'):.1f}/{_num(r, 'shown_p99_ms'):.1f}" for r in results
    )
    return [
        (
            f"rate plot cost @2,000 ev/s ({_median(results, 'events_per_s'):,.0f})",
            f"{hidden:.1f} -> {shown:.1f} ms",
            f"{cost:+.1f} ms < 5 ms",
            _verdict(cost < 5),
        ),
        ("  p99 not shown / shown, per run", per_run, "", ""),
        (
            "  p50 not shown / shown",
            f"{_median(results, 'hidden_p50_ms'):.1f} / "
            f"{_median(results, 'shown_p50_ms'):.1f} ms",
            "",
            "",
        ),
    ]


def _print(rows: list[tuple[str, ...]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':{width}}  {'absolute':>22}  {'ratio / target':>18}  verdict")
    for name, value, ratio, verdict in rows:
        print(f"{name:{width}}  {value:>22}  {ratio:>18}  {verdict}")


def _report(base: str, args: argparse.Namespace, page: PageServer) -> int:
    if args.frame_only:
        from live_frame import frame_rows

        _print(frame_rows(base, args, page))
        print(f"(median of {args.runs} runs; load {os.getloadavg()[0]:.2f})")
        return 0
    if args.rate_plot_only:
        _print(_rate_plot_rows(base, args))
        print(f"(median of {args.runs} runs; load {os.getloadavg()[0]:.2f})")
        return 0
    count = args.count
    fast = f"{base}/api/ticker?rate=0&size=40&count={count}"
    runs = range(args.runs)
    source = statistics.median(asyncio.run(_source_rate(fast)) for _ in runs)
    tail = statistics.median(_tail_rate(fast, count) for _ in runs)
    ingests = [_child("ingest", fast, str(count)) for _ in runs]
    app, p50, p99 = (_median(ingests, k) for k in ("events_per_s", "p50_ms", "p99_ms"))
    steady_url = f"{base}/api/ticker?rate=2000&size=40&count=100000000"
    steady = _child("steady", steady_url, str(args.steady_s))
    memory = _child("memory", base)
    launches = [_launch_once() for _ in runs]
    window = _median(launches, "window_up_s")
    first = _median(launches, "first_event_painted_s")
    queue_first = _num(steady, "queue_first_third_max")
    queue_last = _num(steady, "queue_last_third_max")
    per_event = _num(memory, "bytes_per_event")
    flat = _num(memory, "growth_next_300k_mb")
    rows = [
        (
            "source: raw reader (ticker, max rate)",
            f"{source:,.0f} ev/s",
            "beats both",
            _verdict(source > max(tail, app), "SLOWER"),
        ),
        ("sse-viewer tail --format json", f"{tail:,.0f} ev/s", "1.00x", ""),
        (
            "app ingest (shown window)",
            f"{app:,.0f} ev/s",
            f"{app / tail:.2f}x of tail",
            _verdict(app >= 0.3 * tail, "below 0.3x"),
        ),
        (
            "  10 ms timer lateness p50 / p99",
            f"{p50:.1f} / {p99:.1f} ms",
            "p99 < 50 ms",
            _verdict(p99 < 50),
        ),
        (
            f"steady 2,000 ev/s for {args.steady_s:.0f} s",
            f"{_num(steady, 'events_per_s'):,.0f} ev/s",
            "",
            "",
        ),
        (
            "  lateness p50 / p99",
            f"{_num(steady, 'p50_ms'):.1f} / {_num(steady, 'p99_ms'):.1f} ms",
            "p99 < 20 ms",
            _verdict(_num(steady, "p99_ms") < 20),
        ),
        (
            "  batch queue peak, first / last third",
            f"{queue_first:.0f} / {queue_last:.0f} rows",
            "no growth",
            _verdict(queue_last <= 2 * queue_first + 100, "grows"),
        ),
        (
            "memory per retained ~100 B event @100k",
            f"{per_event:,.0f} B",
            "< 700 B",
            _verdict(per_event < 700),
        ),
        (
            "  RSS growth, next 300k / 300k after (full)",
            f"{_num(memory, 'growth_first_300k_mb'):.1f} / {flat:.1f} MB",
            "flat",
            _verdict(flat < 5, "grows"),
        ),
        (
            "window up (process start, server incl.)",
            f"{window * 1000:,.0f} ms",
            "< 500 ms",
            _verdict(window < 0.5),
        ),
        (
            "first event painted",
            f"{first * 1000:,.0f} ms",
            "< 1,500 ms",
            _verdict(first < 1.5),
        ),
    ]
    rows += _rate_plot_rows(base, args)
    from live_frame import frame_rows

    rows += frame_rows(base, args, page)
    _print(rows)
    load = os.getloadavg()[0]
    print(f"(median of {args.runs} runs, {count:,} events of 40 B; load {load:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
