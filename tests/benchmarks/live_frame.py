"""Live to the frame, for bench_app.py: arrival-to-paint, many tabs, and Chromium.

- ``PaintProbe``: a paint hook on the timeline's viewport; each event row, the
  first time a finished paint shows it, gives ``paint end - record.at`` (the
  engine's monotonic receive time of the network read it came in).
- ``child_latency``: one stream at a set rate (0: as fast as the ticker goes),
  arrival-to-paint and the 10 ms timer's lateness meanwhile.
- ``child_tabs``: many tabs each streaming at a set rate; lateness, and how many
  timeline insertions and front-tab paints that made per second.
- ``PageServer`` and ``chromium_rate``: headless Chromium's bare ``EventSource``
  on the same ticker, on a page that only counts (served from its own origin,
  allowed by the server's ``--cors-origin``), reporting back to that origin.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from bench_app import _Lateness, _percentile, _poll, _qt, _warm_up

if TYPE_CHECKING:
    import argparse

    from PySide6.QtCore import QEvent, QObject

    from desktop.ui.stream_view import StreamView


def _probe_class() -> type:
    from PySide6.QtCore import QEvent, QObject

    from desktop.core.engine.records import Event

    class PaintProbe(QObject):
        """Times each event row's first finished paint against its arrival."""

        def __init__(self, view: StreamView, since: float) -> None:
            super().__init__()
            self.view, self.since = view, since
            self.latencies_ms: list[float] = []
            self.paints = 0
            self._last_seq = -1
            view.table.viewport().installEventFilter(self)

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() != QEvent.Type.Paint:
                return False
            table = self.view.table
            rect = event.rect()  # type: ignore[attr-defined]
            # Paint now, inside this filter, so the time taken is the paint's end.
            table.viewportEvent(event)
            now = time.monotonic()
            self.paints += 1
            proxy, store = self.view.proxy, self.view.handle.session.store
            first = table.rowAt(rect.top())
            if first < 0:
                return True
            last = table.rowAt(rect.bottom())
            if last < 0:
                last = proxy.rowCount() - 1
            for row in range(first, last + 1):
                seq = proxy.seq(row)
                if seq <= self._last_seq:
                    continue
                record = store.at_seq(seq)
                if record.__class__ is Event and record.at >= self.since:  # type: ignore[union-attr]
                    self.latencies_ms.append((now - record.at) * 1000)  # type: ignore[union-attr]
            self._last_seq = max(self._last_seq, proxy.seq(last))
            return True  # painted

    return PaintProbe


def child_latency(url: str, seconds: float, count: int) -> dict[str, object]:
    """Arrival-to-paint on one shown stream: for ``seconds``, or ``count`` events."""
    _app, loop, viewer = _qt()
    from desktop.core.engine.state import State

    from app_driver import open_stream

    async def main() -> dict[str, object]:
        await _warm_up(viewer, url)
        view = open_stream(viewer, url)  # type: ignore[arg-type]
        session = view.handle.session
        probe = _probe_class()(view, time.monotonic())
        lateness = _Lateness()
        if count:  # all of it: a full-speed stream is over in a second or two
            await _poll(lambda: session.events, 0.001)
            lateness.start()
            events0, start = session.events, time.perf_counter()
            await _poll(
                lambda: session.events >= count or session.state is State.CLOSED
            )
            await _poll(lambda: not session.store.waiting)
            await asyncio.sleep(0.1)  # the last flush's paint
        else:  # from a steady state: connected, first rows painted
            await _poll(lambda: session.events >= 3, 0.001)
            await asyncio.sleep(0.3)
            probe.since = time.monotonic()
            probe.latencies_ms.clear()
            probe.paints = 0
            lateness.start()
            events0, start = session.events, time.perf_counter()
            await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - start
        late = lateness.stats()
        values = probe.latencies_ms
        result: dict[str, object] = {
            "events_per_s": (session.events - events0) / elapsed,
            "samples": len(values),
            "paints_per_s": probe.paints / elapsed,
            "median_ms": _percentile(values, 0.5),
            "p99_ms": _percentile(values, 0.99),
            "max_ms": max(values, default=0.0),
            "late_p99_ms": late["p99_ms"],
        }
        await viewer.shutdown()  # type: ignore[attr-defined]
        return result

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


def child_tabs(url: str, tabs: int, seconds: float) -> dict[str, object]:
    """``tabs`` streams at once (the last in front): lateness, insertions, paints."""
    _app, loop, viewer = _qt()
    from app_driver import open_stream

    async def main() -> dict[str, object]:
        await _warm_up(viewer, url)
        views = [open_stream(viewer, url) for _ in range(tabs)]  # type: ignore[arg-type]
        sessions = [v.handle.session for v in views]
        await _poll(lambda: all(s.events >= 100 for s in sessions), 0.01, 30)
        await asyncio.sleep(1.0)
        inserts = [0]

        def inserted(*_args: object) -> None:
            inserts[0] += 1

        for view in views:
            view.handle.timeline.rowsInserted.connect(inserted)
        probe = _probe_class()(views[-1], time.monotonic())
        lateness = _Lateness()
        lateness.start()
        events0, start = sum(s.events for s in sessions), time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - start
        result: dict[str, object] = {
            "events_per_s": (sum(s.events for s in sessions) - events0) / elapsed,
            "inserts_per_s": inserts[0] / elapsed,
            "front_paints_per_s": probe.paints / elapsed,
            "front_median_ms": _percentile(probe.latencies_ms, 0.5),
        }
        result.update(lateness.stats())
        await viewer.shutdown()  # type: ignore[attr-defined]
        return result

    return loop.run_until_complete(main())  # type: ignore[attr-defined, no-any-return]


# -- Chromium -----------------------------------------------------------------------

PAGE = b"""<!doctype html><meta charset="utf-8"><title>count</title><script>
const q = new URLSearchParams(location.search), want = +q.get("count");
let seen = 0, first = 0;
const report = (body) => fetch("/done", {method: "POST", body: JSON.stringify(body)});
const source = new EventSource(q.get("stream"));
source.addEventListener("tick", () => {
  if (seen++ === 0) first = performance.now();
  if (seen === want) {
    const seconds = (performance.now() - first) / 1000;
    source.close();
    report({events: seen, seconds: seconds});
  }
});
source.onerror = () => { if (seen < want) report({error: "error after " + seen}); };
</script>"""


class PageServer:
    """The counting page on its own origin; the page posts its result to /done."""

    def __init__(self) -> None:
        results: list[dict[str, object]] = []
        arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                results.append(json.loads(self.rfile.read(length)))
                arrived.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.results, self.arrived = results, arrived
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def chromium_rate(page: PageServer, stream: str, count: int) -> dict[str, object]:
    """Events/s of Chromium's EventSource, first event to the ``count``-th."""
    from chromium import browser

    page.results.clear()
    page.arrived.clear()
    url = f"{page.origin}/?{urlencode({'stream': stream, 'count': count})}"
    with tempfile.TemporaryDirectory() as profile, browser(url, profile):
        if not page.arrived.wait(120):
            raise RuntimeError("Chromium never reported")
    result = page.results[0]
    if "error" in result:
        raise RuntimeError(f"Chromium's EventSource: {result['error']}")
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    return {"events_per_s": (count - 1) / seconds}


# -- the table ----------------------------------------------------------------------


def frame_rows(
    base: str, args: argparse.Namespace, page: PageServer
) -> list[tuple[str, ...]]:
    """Runs alternate (Chromium and the app swap order each run); medians."""
    from bench_app import _child, _median, _num, _verdict

    count = args.count
    fast = f"{base}/api/ticker?rate=0&size=40&count={count}"
    steady = f"{base}/api/ticker?rate={{}}&size=40&count=100000000"
    slow_s, steady_s, tabs_s = (5.0, 3.0, 5.0) if args.quick else (8.0, 5.0, 10.0)
    chrome: list[dict[str, object]] = []
    ingest: list[dict[str, object]] = []
    at10: list[dict[str, object]] = []
    at2k: list[dict[str, object]] = []
    full: list[dict[str, object]] = []
    tabs: list[dict[str, object]] = []
    for run in range(args.runs):
        pair = [
            lambda: chrome.append(chromium_rate(page, fast, count)),
            lambda: ingest.append(_child("ingest", fast, str(count))),
        ]
        for step in pair if run % 2 == 0 else pair[::-1]:
            step()
        at10.append(_child("latency", steady.format(10), str(slow_s), "0"))
        at2k.append(_child("latency", steady.format(2000), str(steady_s), "0"))
        full.append(_child("latency", fast, "0", str(count)))
        tabs.append(_child("tabs", steady.format(1000), "20", str(tabs_s)))
    browser, app = _median(chrome, "events_per_s"), _median(ingest, "events_per_s")
    ratio = statistics.median(
        _num(a, "events_per_s") / _num(c, "events_per_s")
        for a, c in zip(ingest, chrome, strict=True)
    )
    per_run = ", ".join(
        f"{_num(a, 'events_per_s') / 1000:.0f}k/{_num(c, 'events_per_s') / 1000:.0f}k"
        for a, c in zip(ingest, chrome, strict=True)
    )

    def paint(results: list[dict[str, object]]) -> str:
        return (
            f"{_median(results, 'median_ms'):.1f} / {_median(results, 'p99_ms'):.1f} ms"
        )

    med10, p99_2k = _median(at10, "median_ms"), _median(at2k, "p99_ms")
    late_p99, tabs_p99 = _median(ingest, "p99_ms"), _median(tabs, "p99_ms")
    return [
        (
            "Chromium EventSource (ticker, max rate)",
            f"{browser:,.0f} ev/s",
            "1.00x",
            "",
        ),
        (
            "app ingest (shown window), same stream",
            f"{app:,.0f} ev/s",
            f"{ratio:.2f}x >= 1.5x",
            _verdict(ratio >= 1.5, "below"),
        ),
        ("  app / Chromium per run", per_run, "", ""),
        (
            "  10 ms timer lateness p50 / p99",
            f"{_median(ingest, 'p50_ms'):.1f} / {late_p99:.1f} ms",
            "p99 < 50 ms",
            _verdict(late_p99 < 50),
        ),
        (
            "arrival-to-paint @10 ev/s, p50 / p99",
            paint(at10),
            "p50 <= 10 ms",
            _verdict(med10 <= 10),
        ),
        (
            f"  samples per run, paints/s ({_median(at10, 'events_per_s'):.0f} ev/s)",
            f"{_median(at10, 'samples'):.0f}, {_median(at10, 'paints_per_s'):.1f}",
            "",
            "",
        ),
        (
            "arrival-to-paint @2,000 ev/s, p50 / p99",
            paint(at2k),
            "p99 <= 20 ms",
            _verdict(p99_2k <= 20),
        ),
        (
            f"  paints/s, lateness p99 ({_median(at2k, 'events_per_s'):,.0f} ev/s)",
            f"{_median(at2k, 'paints_per_s'):.1f}, "
            f"{_median(at2k, 'late_p99_ms'):.1f} ms",
            "",
            "",
        ),
        (
            "arrival-to-paint @full speed, rows shown",
            paint(full),
            "",
            "",
        ),
        (
            f"  paints/s, lateness p99 ({_median(full, 'events_per_s'):,.0f} ev/s)",
            f"{_median(full, 'paints_per_s'):.1f}, "
            f"{_median(full, 'late_p99_ms'):.1f} ms",
            "",
            "",
        ),
        (
            f"20 tabs x 1,000 ev/s ({_median(tabs, 'events_per_s'):,.0f} ev/s)",
            f"{_median(tabs, 'p50_ms'):.1f} / {tabs_p99:.1f} ms",
            "p99 < 50 ms",
            _verdict(tabs_p99 < 50),
        ),
        (
            "  insertions/s (all tabs), front paints/s",
            f"{_median(tabs, 'inserts_per_s'):.0f}, "
            f"{_median(tabs, 'front_paints_per_s'):.1f}",
            "",
            "",
        ),
    ]
