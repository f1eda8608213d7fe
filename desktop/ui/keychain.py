"""Where secrets of profiles live: the system keyring, or this session's memory.

Secrets (Authorization values, tokens, cookies, API keys) never go to the plain
settings file.  They go to the system keyring through the ``keyring`` package,
service "sse-viewer", when a *secure* one exists.  keyring's fail and null
backends store nothing, and the file backends of ``keyrings.alt`` (plaintext,
or encrypted with a password typed on a terminal the GUI does not have) are no
safer than the settings file, so they count as "no keyring".  Set
``SSE_VIEWER_ALLOW_PLAINTEXT_KEYRING=1`` to accept them anyway: the tests do, to
run a real keyring backend on a headless machine with its file in a temporary
directory; a user may, on a machine without a Secret Service, knowingly.

Without a keyring, secrets are kept in memory for this run only ("session
only"), and the UI says so.

keyring's calls can block (D-Bus, an unlock prompt) and its import costs ~0.3 s,
so all of them run on one worker thread; results come back as a Qt signal,
which Qt queues to the GUI thread.  The worker is a daemon thread, not a
``ThreadPoolExecutor`` (whose workers the interpreter joins at exit): a call
stuck in D-Bus must not keep the app from exiting.  Any error of a backend comes
back as one too ("error: …"), never lost on the worker.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SERVICE = "sse-viewer"
log = logging.getLogger(__name__)
ENV_ALLOW_PLAINTEXT = "SSE_VIEWER_ALLOW_PLAINTEXT_KEYRING"


@dataclass(frozen=True, slots=True)
class Backend:
    """What the keyring check found: usable or not, its name, and why not."""

    secure: bool
    name: str
    reason: str = ""


def classify(backend: object, *, allow_plaintext: bool) -> Backend:
    """Decide whether ``backend`` (a keyring backend) keeps secrets safely."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            return Backend(False, "none", "no keyring backend is installed")
        backend = chained[0]  # set_password writes to the first one
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__qualname__}"
    module = cls.__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return Backend(False, name, "no system keyring was found")
    if module.startswith("keyrings.alt"):
        if allow_plaintext:
            return Backend(True, name)
        return Backend(False, name, "the only keyring stores secrets in a plain file")
    return Backend(True, name)


def _detect() -> Backend:
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:  # any backend's import or init may fail: it is "none"
        return Backend(False, "none", f"the keyring failed to start ({exc})")
    allow = os.environ.get(ENV_ALLOW_PLAINTEXT, "") == "1"
    return classify(backend, allow_plaintext=allow)


def _account(profile: str, item: str) -> str:
    return f"profile:{profile}:{item.lower()}"


class Keychain(QObject):
    """Secrets of profiles by (profile, item); item is a header name, lower case.

    ``backend`` is None until the check on the worker thread is done
    (``ready`` fires); reads before that wait for it on the worker, in order.
    """

    ready = Signal(object)  # the Backend
    loaded = Signal(str, object)  # profile, {item: secret}
    saved = Signal(str, str)  # profile, where: keyring | session | dropped | error: …

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend: Backend | None = None
        self._session: dict[str, str] = {}
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="keychain", daemon=True)
        self._worker.start()
        self._submit(_detect, self._detected)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def _submit(
        self,
        work: Callable[[], object],
        done: Callable[[object], None],
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Run ``work`` on the worker; ``done`` (or ``failed`` with "error: …")
        sends the result home as a signal, unless the window (and this object)
        went away meanwhile."""
        if self._closed:
            return

        def job() -> None:
            try:
                result = work()
            except Exception as exc:  # any backend's error: said, never lost
                log.warning("keychain: %s: %s", type(exc).__name__, exc)
                if not self._closed and failed is not None:
                    failed(f"error: the keyring failed ({type(exc).__name__}: {exc})")
                return
            if not self._closed:
                done(result)

        self._jobs.put(job)

    def _detected(self, backend: object) -> None:
        assert isinstance(backend, Backend)
        self.backend = backend
        self.ready.emit(backend)

    @property
    def secure(self) -> bool:
        return self.backend is not None and self.backend.secure

    # -- session-only secrets (no keyring) ----------

    def keep_for_session(self, profile: str, secrets: Mapping[str, str]) -> None:
        self.forget_session(profile)
        for item, value in secrets.items():
            self._session[_account(profile, item)] = value

    def forget_session(self, profile: str) -> None:
        prefix = _account(profile, "")
        for key in [k for k in self._session if k.startswith(prefix)]:
            del self._session[key]

    def session_secrets(self, profile: str, items: list[str]) -> dict[str, str]:
        found = {i: self._session.get(_account(profile, i)) for i in items}
        return {i: v for i, v in found.items() if v is not None}

    # -- keyring, on the worker ----------

    def store(
        self,
        profile: str,
        secrets: Mapping[str, str],
        stale: list[str],
        *,
        session_ok: bool = True,
    ) -> None:
        """Write ``secrets`` and delete ``stale`` items; ``saved`` says where
        they went: "keyring", "session" (memory, no keyring), "dropped" (no
        keyring and ``session_ok`` false) or "error: ..."."""
        secrets = dict(secrets)

        def work() -> str:
            if not self.secure:
                if session_ok:
                    self.keep_for_session(profile, secrets)
                    return "session" if secrets else "keyring"
                self.forget_session(profile)
                return "dropped" if secrets else "keyring"
            try:
                for item, value in secrets.items():
                    _keyring_set(profile, item, value)
                for item in stale:
                    _keyring_delete(profile, item)
            except _errors() as exc:
                return f"error: the keyring refused ({exc})"
            return "keyring"

        self._submit(
            work,
            lambda where: self.saved.emit(profile, where),
            lambda error: self.saved.emit(profile, error),
        )

    def load(self, profile: str, items: list[str]) -> None:
        """Read ``items`` of ``profile``; ``loaded`` brings what was found."""
        items = list(items)

        def work() -> dict[str, str]:
            found = self.session_secrets(profile, items)
            if not self.secure:
                return found
            for item in items:
                try:
                    value = _keyring_get(profile, item)
                except _errors():
                    continue
                if value is not None:
                    found[item] = value
            return found

        self._submit(
            work,
            lambda found: self.loaded.emit(profile, found),
            lambda _error: self.loaded.emit(profile, {}),
        )

    def copy(self, old: str, new: str, items: list[str], *, move: bool) -> None:
        """Give profile ``new`` the secrets of ``old`` (rename: ``move``)."""
        items = list(items)

        def work() -> str:
            found = self.session_secrets(old, items)
            if move:
                self.forget_session(old)
            if found:
                self.keep_for_session(new, found)
            if not self.secure:
                return "session" if found else "keyring"
            try:
                for item in items:
                    value = _keyring_get(old, item)
                    if value is None:
                        continue
                    _keyring_set(new, item, value)
                    if move:
                        _keyring_delete(old, item)
            except _errors() as exc:
                return f"error: the keyring refused ({exc})"
            self.forget_session(new)  # the keyring has them
            return "keyring"

        self._submit(
            work,
            lambda where: self.saved.emit(new, where),
            lambda error: self.saved.emit(new, error),
        )

    def delete(self, profile: str, items: list[str]) -> None:
        self.store(profile, {}, list(items), session_ok=False)

    def close(self) -> None:
        """Stop taking work and drop what waits; a call stuck in D-Bus must not
        hold up the exit (the worker is a daemon thread)."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)


def _errors() -> type[Exception]:
    from keyring.errors import KeyringError

    return KeyringError


def _keyring_get(profile: str, item: str) -> str | None:
    import keyring

    return keyring.get_password(SERVICE, _account(profile, item))


def _keyring_set(profile: str, item: str, value: str) -> None:
    import keyring

    keyring.set_password(SERVICE, _account(profile, item), value)


def _keyring_delete(profile: str, item: str) -> None:
    import keyring
    from keyring.errors import PasswordDeleteError

    with suppress(PasswordDeleteError):  # never stored: nothing to delete
        keyring.delete_password(SERVICE, _account(profile, item))
