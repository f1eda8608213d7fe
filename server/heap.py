"""Start-up objects out of the garbage collector's way, in a server process.

A full (generation 2) collection walks every tracked object the process holds.
Measured with ``bench_server.py --scale`` (1,000 subscribers at 10 events/s), a
full collection of 146-283 ms landed inside the fan-out window of the process on
the Redis broker, whose imports (redis-py, its parsers) and per-subscription
objects make more collections than the in-memory broker's: its p99 publish-to-
receive was 159 ms against 66 ms in memory.  Freezing what start-up built (the
modules, the app, the routes: nothing of it is ever freed) moves it to the
permanent generation, so no later collection walks it again; with that the
Redis process's p99 fell to the in-memory one's (README's "Scaling out" table).

Only process entries call this, once the server listens: tests run several
servers in one process, and freezing there would freeze their fixtures.
"""

from __future__ import annotations

import gc


def freeze_start_up() -> None:
    """Move every object tracked so far to the permanent generation."""
    gc.collect()  # what start-up left as garbage is freed, not kept for ever
    gc.freeze()
