"""Headless Chromium for tests: find it, run it on a page, end its whole group.

Chromium is Debian's ``chromium``; tests/run.sh installs it when missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",  # keeps it running on the page until killed
)
# Tests only: the server's local CA is not in this throw-away profile's store.
IGNORE_CERTIFICATES = ("--ignore-certificate-errors",)
INSTALL = "apt-get install -y --no-install-recommends chromium"


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, (
        f"Debian's chromium is missing: run tests/run.sh as root, or {INSTALL}"
    )
    return found


@contextlib.contextmanager
def browser(
    url: str, profile: str, flags: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """Chromium on ``url`` in its own process group; the whole group ends after.

    ``flags`` adds to CHROMIUM_FLAGS (a test's own, e.g. IGNORE_CERTIFICATES).
    """
    proc = subprocess.Popen(
        [chromium(), *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}", url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if not _wait_gone(proc.pid):  # its helpers (zygotes, renderer) too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            assert _wait_gone(proc.pid), "chromium left processes behind"


def _wait_gone(pgid: int) -> bool:
    for _ in range(250):  # 5 s
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def poll(
    client: httpx.Client, done: Callable[[list[dict[str, object]]], bool], what: str
) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen: list[dict[str, object]] = client.get("/api/lab/browser").json()[
            "observations"
        ]
        if done(seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the browser never reported {what}: {seen}")


def kinds(seen: list[dict[str, object]]) -> list[object]:
    return [o["kind"] for o in seen]


class Pages:
    """A LabContext's ``open_page`` for tests: each URL in a headless Chromium.

    Its certificate errors are ignored (the local CA is not in a fresh profile);
    :meth:`close` ends every browser it started.
    """

    def __init__(self, profile_root: str, flags: tuple[str, ...] = ()) -> None:
        self.root = profile_root
        self.flags = flags
        self.opened: list[str] = []
        self._stack = contextlib.ExitStack()

    def __call__(self, url: str) -> bool:
        profile = os.path.join(self.root, f"profile-{len(self.opened)}")
        self._stack.enter_context(browser(url, profile, self.flags))
        self.opened.append(url)
        return True

    def close(self) -> None:
        self._stack.close()
