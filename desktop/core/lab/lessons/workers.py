"""Lesson "A worker dies": several server processes behind one port.

The lesson starts its own cluster (`desktop.core.lab.cluster`): two workers on one
port, first sharing one log in Redis, then each with its own (``--per-worker-logs``).
Each time a steady pulse runs on the worker the app is *not* connected to, the
worker holding the app's connection is killed (SIGKILL), and the client's
reconnection lands on a survivor with its Last-Event-ID.  With the shared log it
continues right after that id (checked against the published log in Redis); with
per-worker logs the survivor never saw the id and answers ``replay-gap``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from desktop.core.engine.records import Connecting, Event, Open, Outcome, Reconnecting
from desktop.core.lab.client import EVENTS_TOPIC, LabClient
from desktop.core.lab.cluster import (
    INSTALL_REDIS,
    Cluster,
    redis_server,
    started_cluster,
)
from desktop.core.lab.continuity import check as continuity_check
from desktop.core.lab.lanes import worker_of
from desktop.core.lab.lessons.checks import (
    CONNECT_S,
    EVENTS_PATH,
    UNLOGGED,
    check_resume,
    last_id_before,
)

if TYPE_CHECKING:
    from desktop.core.lab.lessons.run import LessonRun, RecordedStream

WORKERS = 2
_TRIES = 200  # new connections until one lands on the worker wanted


async def _pulse_on(
    run: LessonRun, url: str, every_ms: int, *, avoid: str = "", every: bool = False
) -> set[str]:
    """Start the pulse on a worker other than ``avoid`` (or on ``every`` one).

    Each POST goes on a new connection (``Connection: close``), so the kernel
    hands it to any worker; the answer's X-SSE-Worker says which one runs it.
    """
    running: set[str] = set()
    for _ in range(_TRIES):
        r = await run.ctx.client.post(
            f"{url}/api/lab/pulse",
            json={"every_ms": every_ms},
            headers={"Connection": "close"},
        )
        r.raise_for_status()
        worker = r.headers.get("X-SSE-Worker", "")
        if worker != avoid:
            running.add(worker)
            if not every or len(running) == WORKERS:
                return running
    return running


async def _kill_and_resume(
    run: LessonRun, cluster: Cluster, lane: str
) -> tuple[RecordedStream, int, int, Open, float]:
    """Open the lane, pulse elsewhere, kill its worker, wait for the resume.

    Returns the lane, the Reconnecting's index, the reopened Open's index, the
    first Open and the wall time of the kill.
    """
    t = run.timing
    app = run.lane_at(cluster.url, lane, EVENTS_PATH)
    _, opened = await app.wait(Open, f"{lane}: the first connection opens", CONNECT_S)
    victim = worker_of(opened)
    shared = lane == "app"
    pulsing = await _pulse_on(
        run,
        cluster.url,
        t.pulse_ms,
        avoid="" if not shared else victim,
        every=not shared,
    )
    if shared and not pulsing:
        raise RuntimeError("the pulse could not be started on the other worker")
    start = len(app.records)
    await app.wait(
        Event, f"{lane}: pulses arrive", CONNECT_S, after=start,
        where=lambda e: e.type == "pulse",
    )  # fmt: skip
    await run.pause()
    killed_at = time.time()
    if not cluster.kill_worker(victim):
        raise RuntimeError(f"worker {victim!r} is not one of the lesson's workers")
    gap_i, _ = await app.wait(
        Reconnecting, f"{lane}: the worker's death ends the connection", 5.0
    )
    open_i, _ = await app.wait(
        Open, f"{lane}: the client reconnects", CONNECT_S, after=gap_i
    )
    await run.pause(max(t.settle_s, 3 * t.pulse_ms / 1000))
    return app, gap_i, open_i, opened, killed_at


def _named(worker: str, victim: str) -> str:
    """``worker`` as a learner reads it: a survivor, or the dead one's replacement."""
    if not worker:
        return "(no X-SSE-Worker header)"
    slot, dead_slot = worker.partition("-")[0], victim.partition("-")[0]
    if slot == dead_slot and worker != victim:
        return f"{worker} (the replacement the server started for {dead_slot})"
    return worker


def _common_checks(
    run: LessonRun, app: RecordedStream, gap_i: int, open_i: int, first: Open
) -> None:
    gap = app.records[gap_i]
    reopened = app.records[open_i]
    assert isinstance(gap, Reconnecting) and isinstance(reopened, Open)
    victim, survivor = worker_of(first), worker_of(reopened)
    run.check(
        f"{app.name}: the worker holding the connection dies",
        "the connection ends; the client retries",
        f"{victim} killed; the connection ended ({gap.outcome.value})",
        gap.outcome in (Outcome.EOF, Outcome.NETWORK),
    )
    run.check(
        f"{app.name}: the reconnect lands on another worker",
        f"a worker other than {victim}",
        _named(survivor, victim),
        bool(survivor) and survivor != victim,
    )
    conn = next(r for r in reversed(app.records[:open_i]) if isinstance(r, Connecting))
    check_resume(run, conn, last_id_before(app, gap_i))


async def _shared_log(run: LessonRun, cluster: Cluster) -> None:
    lab = LabClient(cluster.url, run.ctx.client)
    app, gap_i, open_i, first, killed_at = await _kill_and_resume(run, cluster, "app")
    await lab.pulse(0)  # stops it on whichever worker runs it
    await run.pause()
    await app.stop()
    _common_checks(run, app, gap_i, open_i, first)
    published, complete = await lab.published(EVENTS_TOPIC, first.wall, time.time())
    run.published = published
    received = [r for r in app.of(Event) if r.type not in UNLOGGED and r.id]
    result = continuity_check(published, received)
    away = sum(
        1 for p in published if killed_at <= p.published <= app.records[open_i].wall
    )
    run.check(
        "app: nothing lost or repeated (against the log in Redis)",
        f"lost 0 · repeated 0 of {result.published} published",
        f"lost {len(result.lost)} · repeated {len(result.repeated)} of "
        f"{result.published} published, {away} while reconnecting",
        result.ok and complete and result.published > 0,
    )
    gaps = [e for e in app.of(Event, open_i) if e.type == "replay-gap"]
    run.check(
        "app: the survivor knows the id (one shared log)",
        "no replay-gap",
        "replay-gap" if gaps else "no replay-gap",
        not gaps,
    )


async def _per_worker_logs(run: LessonRun, cluster: Cluster) -> None:
    lane = "per-worker"
    app, gap_i, open_i, first, _ = await _kill_and_resume(run, cluster, lane)
    await app.stop()
    _common_checks(run, app, gap_i, open_i, first)
    gaps = [e for e in app.of(Event, open_i) if e.type == "replay-gap"]
    detail: object = {}
    if gaps:
        try:
            detail = json.loads(gaps[0].data)
        except ValueError:
            detail = {}
    reason = detail.get("reason") if isinstance(detail, dict) else None
    lost = detail.get("lost") if isinstance(detail, dict) else None
    run.check(
        f"{lane}: the survivor never saw the id",
        "`replay-gap` (reason: unknown)",
        f"`replay-gap` (reason: {reason})" if gaps else "no replay-gap",
        reason == "unknown",
    )
    run.check(
        f"{lane}: events lost",
        "unknown: the only log that held the id died with its worker",
        "unknown (the gap has no count)" if gaps and lost is None else f"{lost}",
        bool(gaps) and lost is None,
    )


async def worker_dies(run: LessonRun) -> None:
    """Lesson 12: two workers on one port; the one holding the connection dies."""
    if redis_server() is None:
        run.check(
            "redis-server is installed",
            "the lesson starts a Redis of its own",
            f"redis-server is missing: install it with `{INSTALL_REDIS}`",
            False,
        )
        return
    args = ("--lab", "--retry", str(run.timing.retry_ms), "--ping", "1")
    async with started_cluster(WORKERS, args, with_redis=True) as cluster:
        await _shared_log(run, cluster)
    async with started_cluster(WORKERS, args, with_redis=False) as cluster:
        await _per_worker_logs(run, cluster)
