"""The keychain's worker: a backend's error comes back as one, and a call stuck
in the keyring does not hold up the interpreter's exit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
from keyring.backend import KeyringBackend

from desktop.ui.keychain import Keychain

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

ROOT = Path(__file__).resolve().parents[3]


class _Broken(KeyringBackend):
    """A system keyring whose every call fails with something not a KeyringError
    (as a D-Bus backend's connection errors do)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("bus gone")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("bus gone")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("bus gone")


def test_a_backend_error_is_reported_not_lost(qtbot: QtBot) -> None:
    keyring.set_keyring(_Broken())
    keychain = Keychain()
    try:
        qtbot.waitUntil(lambda: keychain.backend is not None, timeout=5000)
        assert keychain.secure
        with qtbot.waitSignal(keychain.saved, timeout=5000) as saved:
            keychain.store("work", {"authorization": "Bearer x"}, [])
        profile, where = saved.args  # type: ignore[misc]
        assert profile == "work" and where.startswith("error: ")
        assert "RuntimeError: bus gone" in where
        with qtbot.waitSignal(keychain.loaded, timeout=5000) as loaded:
            keychain.load("work", ["authorization"])
        assert loaded.args == ["work", {}]
    finally:
        keychain.close()


_STUCK = """
import time, keyring
from keyring.backend import KeyringBackend
from PySide6.QtCore import QCoreApplication
from desktop.ui.keychain import Keychain

class Stuck(KeyringBackend):
    priority = 1
    def get_password(self, service, username):
        time.sleep(60)  # an unlock prompt nobody answers
    def set_password(self, service, username, password): pass
    def delete_password(self, service, username): pass

keyring.set_keyring(Stuck())
app = QCoreApplication([])
keychain = Keychain()
keychain.load("work", ["authorization"])
time.sleep(0.5)  # the worker is inside get_password now
keychain.close()
print("closed", flush=True)
"""


def test_a_stuck_keyring_call_does_not_hold_up_the_exit() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _STUCK],
        capture_output=True,
        timeout=30,
        cwd=ROOT,
        env={"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0 and b"closed" in done.stdout, done.stderr[-2000:]
    assert time.monotonic() - started < 10
