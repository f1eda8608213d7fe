"""``sse-viewer mock`` timing: how closely a replay keeps the recorded gaps.

    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/bench_mock.py [--runs N]

Records the bundled server's ``/api/events`` with the engine while events are
published 50-200 ms apart (seeded), saves it with its raw reads as the app
does, serves it with the mock (a child process) and records it again, ``--runs``
times at ``--speed 1`` and once per run at ``--speed 10``.  Targets: every gap
within 10 % or 5 ms (whichever is larger) and the whole replay within 5 %;
at ``--speed 10`` the whole replay within 10 % of a tenth.  Gaps are measured
where a client sees them: the engine's receive times of consecutive events.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liveserver import fast, start
from mockserver import event_times, mock_child, record_published, save
from stream_checks import collect, options


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def _replay(url: str) -> list[float]:
    records = await collect(options(url, reconnect=False), timeout=120)
    return event_times(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    gaps = [rng.uniform(0.05, 0.2) for _ in range(args.events)]
    live = start(fast(ping_s=30.0, stats_interval_s=600.0))
    try:
        opts, records = asyncio.run(record_published(live, gaps))
    finally:
        live.stop()
    recorded = event_times(records)
    span = recorded[-1] - recorded[0]
    errors: list[float] = []  # per gap, seconds off
    within: list[bool] = []
    misses: list[str] = []  # the gaps off target: recorded -> replayed, ms
    totals: list[float] = []  # whole replay, share off
    fast_totals: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = save(Path(folder) / "bench.ndjson", opts, records, raw=True)
        for _ in range(args.runs):
            with mock_child(str(path)) as url:
                got = asyncio.run(_replay(url))
            for want, had in zip(_gaps(recorded), _gaps(got), strict=True):
                errors.append(abs(had - want))
                within.append(abs(had - want) <= max(0.1 * want, 0.005))
                if not within[-1]:
                    misses.append(f"{1000 * want:.1f} -> {1000 * had:.1f}")
            totals.append(abs((got[-1] - got[0]) - span) / span)
            with mock_child(str(path), "--speed", "10") as url:
                got = asyncio.run(_replay(url))
            fast_totals.append(abs((got[-1] - got[0]) - span / 10) / (span / 10))
    load = os.getloadavg()[0]
    print(f"recording: {len(recorded)} events over {span:.3f} s; load {load:.2f}")
    print("| measure | median | worst | target |")
    print("|---|---|---|---|")
    errors.sort()
    p95 = errors[int(0.95 * (len(errors) - 1))]
    print(
        f"| gap error, ms | {1000 * statistics.median(errors):.2f} "
        f"(p95 {1000 * p95:.2f}) | {1000 * errors[-1]:.2f} | ≤ max(10 %, 5 ms) |"
    )
    share = sum(within) / len(within)
    print(f"| gaps within target | {100 * share:.1f} % | | 100 % |")
    print(
        f"| whole replay off, speed 1 | {100 * statistics.median(totals):.2f} % "
        f"| {100 * max(totals):.2f} % | ≤ 5 % |"
    )
    print(
        f"| whole replay off, speed 10 | {100 * statistics.median(fast_totals):.2f} %"
        f" | {100 * max(fast_totals):.2f} % | ≤ 10 % |"
    )
    if misses:
        print("gaps off target (recorded -> replayed, ms):", ", ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
