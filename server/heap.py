"""The garbage collector of a server process, tuned once the server listens.

A full (generation 2) collection walks every tracked object the process holds
and pauses everything else meanwhile: with 1,000 open streams at 10 events/s
(``bench_server.py --scale``, which counts collections and their pauses inside
each fan-out window) one such pause, 120-160 ms, set a process's p99
publish-to-receive latency, on the in-memory broker and on Redis alike.  Two
changes keep them out of a steady fan-out:

- What start-up built (the modules, the app, the routes: nothing of it is ever
  freed) is frozen into the permanent generation, so no later collection walks it
  again: the longest pause went from 146-283 ms to 132-157 ms.
- Generation 0 is collected after ``YOUNG_THRESHOLD`` net new objects, not 700.
  One event fanned out wakes every subscriber of its topic at once, and each
  wake-up allocates a loop handle before any woken writer runs and frees its
  own: with 1,000 subscribers every event crossed the default threshold.  So a
  young collection ran on every event, and it promoted the writers' waiters of
  that moment (alive until the next event) towards generation 2, whose growth then
  set off a full collection every 10-20 s.  With the threshold above such a
  burst, a 10 s window at 1,000 x 10 events/s saw no collection of any
  generation, against ~100 young and about one full before (README, "Scaling
  out", has the full runs).  The price is bounded: a young collection walks at
  most ~10,000 objects (about a millisecond), and cyclic garbage waits longer for
  it; the benchmark's resident memory per stream read 2.2-4.9 KB after, against
  0.1-5.3 KB before.

Only process entries call this: tests run several servers in one process, and
freezing there would freeze their fixtures.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # generation 0; CPython's default is 700


def tune_gc() -> None:
    """Freeze every object tracked so far; collect generation 0 less often."""
    gc.collect()  # what start-up left as garbage is freed, not kept for ever
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
