"""App tests: a fresh qasync loop per test on pytest-qt's qapp, real bundled servers.

Coroutines are driven with ``loop.run_until_complete`` (CONTRIBUTING.md, "Qt stack
facts": ``create_task`` + ``qtbot.waitUntil`` does not run httpx).  The shared server is
the child process the app itself starts (``ServerChild``), with short retry/ping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.ui.viewer import Viewer

from app_driver import SERVER_ARGS, api, drive
from children import start_child, stop_child
from qtloop import app_loop

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication

    from desktop.ui.loop import AppLoop
    from desktop.ui.server_child import ServerChild


@pytest.fixture(scope="session")
def server() -> Iterator[ServerChild]:
    """One bundled server for the tests that do not break it (lab is reset after)."""
    child = start_child(SERVER_ARGS)
    yield child
    stop_child(child)


@pytest.fixture
def base(server: ServerChild) -> Iterator[str]:
    assert server.url is not None
    yield server.url
    api(server.url, "POST", "/api/lab/reset")


@pytest.fixture(autouse=True)
def _test_keyring() -> None:
    """No test touches the user's keyring: keyring's "none found" backend,
    unless a test sets a keyring of its own (test_profiles.py)."""
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[AppLoop]:
    yield from app_loop(qapp)


@pytest.fixture
def viewer(loop: AppLoop) -> Iterator[Viewer]:
    """The app without a bundled child: tests open streams on the shared server."""
    app = Viewer(None)
    app.window.show()
    yield app
    drive(loop, app.shutdown())  # normally done already, by drive(..., app)
    app.window.close()
    app.window.deleteLater()
