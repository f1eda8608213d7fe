"""Lesson tests: the real bundled server child, restartable on the same port.

The server is the `ServerChild` the app starts (Qt-free), with short retry and
pings so that lessons run in a second or two; a lesson runs with ``asyncio.run``
on its own httpx client through `TestLab`, a LabContext like the app's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from children import start_child, stop_child

if TYPE_CHECKING:
    from collections.abc import Iterator

    from desktop.ui.server_child import ServerChild

SERVER_ARGS = ("--retry", "50", "--ping", "0.2")


@pytest.fixture(scope="session")
def lab_server() -> Iterator[ServerChild]:
    child = start_child(SERVER_ARGS)
    yield child
    stop_child(child)
