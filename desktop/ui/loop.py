"""The app's event loop: qasync's Qt-driven asyncio loop plus async-generator hooks."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_API", "pyside6")  # qasync takes the first binding it finds

import qasync  # type: ignore[import-untyped]


class AppLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop plus the async-generator hooks it leaves out.

    Without them an httpx stream left early finalises its generators outside the
    loop ("async generator ignored GeneratorExit", "cancel scope in a different task").
    """

    def run_forever(self) -> object:
        old = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,
            finalizer=self._asyncgen_finalizer_hook,
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*old)

    def close(self) -> None:
        """Close, and kill the Qt timers qasync leaves registered.

        qasync's ``close()`` only flags its timer object as stopped: a cancelled
        ``call_later`` (every ``wait_for``, every httpx timeout) keeps its Qt timer
        until it would have fired.  That object sits in the loop's reference
        cycles, so the garbage collector frees it later, on whichever thread
        allocates then (a server thread, a worker); Qt cannot stop timers from
        another thread, leaves them registered to a deleted object, and the next
        event processing on the GUI thread crashed firing one.  Here, on the
        loop's own (GUI) thread, no timer outlives the loop.
        """
        super().close()
        timer = self._timer
        # A private qasync attribute (pinned <1): if a release renames it, quit
        # still works and only this clean-up is skipped.
        callbacks: dict[int, object] | None = getattr(
            timer, "_SimpleTimer__callbacks", None
        )
        if callbacks is None:
            return
        for timer_id in list(callbacks):
            timer.killTimer(timer_id)
        callbacks.clear()
