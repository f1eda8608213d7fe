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
