"""server/heap.py: a server process freezes what start-up built, garbage aside."""

from __future__ import annotations

import gc
import weakref

from server.heap import freeze_start_up


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it


def test_start_up_is_frozen_and_its_garbage_freed_first() -> None:
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    before = gc.get_freeze_count()
    try:
        freeze_start_up()
        assert gone() is None  # collected, not frozen for the process's life
        assert gc.get_freeze_count() > before
        assert kept.me is kept
    finally:
        gc.unfreeze()  # this is a test process: its later tests collect as usual
