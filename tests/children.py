"""The bundled server child for tests: started once, stopped after.

Shared by the app tests (tests/ui) and the lesson tests (tests/lab); each passes
its own ``--retry``/``--ping`` arguments.
"""

from __future__ import annotations

import asyncio
import time

from desktop.ui.server_child import ServerChild


def start_child(args: tuple[str, ...]) -> ServerChild:
    """Spawn ``python -m server`` on a free port; wait (30 s at most) for its url."""
    child = ServerChild(args)
    child.spawn(0)
    deadline = time.monotonic() + 30
    while child.url is None:
        if not child.running or time.monotonic() > deadline:
            raise RuntimeError(f"server child did not start: {list(child.stderr)}")
        time.sleep(0.02)
    return child


def stop_child(child: ServerChild) -> None:
    asyncio.run(child.stop())
