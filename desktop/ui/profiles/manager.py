"""Connects connection bars to profiles, recent URLs and the keychain.

Widgets only ask (``profileChosen``, ``saveProfileRequested``...); this object
decides: what goes to the settings file, what to the keychain, what to say.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QDialog

from desktop.ui.form_error import RequestError
from desktop.ui.keychain import Keychain
from desktop.ui.profiles.book import ProfileBook, join_secrets, split_secrets
from desktop.ui.profiles.dialogs import ManageProfilesDialog, SaveProfileDialog
from desktop.ui.request import check_url

if TYPE_CHECKING:
    from desktop.ui.keychain import Backend
    from desktop.ui.settings import Settings
    from desktop.ui.window_api import FormBar

_PROFILE = "profile"  # the bar's dynamic property: name of the profile it shows


class ProfileManager(QObject):
    """One per window; ``messageShown`` carries what the status bar should say."""

    messageShown = Signal(str)  # noqa: N815
    profilesChanged = Signal()  # noqa: N815

    def __init__(
        self,
        settings: Settings,
        keychain: Keychain | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.book = ProfileBook(settings)
        self.keychain = keychain or Keychain(self)
        self.recent = QStringListModel(self.book.recent(), self)
        self._bars: weakref.WeakSet[FormBar] = weakref.WeakSet()
        self._waiting: dict[str, list[weakref.ref[FormBar]]] = {}
        self.dialog: QDialog | None = None  # the open one, for tests and shots
        self.keychain.loaded.connect(self._secrets_loaded)
        self.keychain.saved.connect(self._secrets_saved)
        self.keychain.ready.connect(self._keychain_ready)

    # -- bars ----------

    def attach(self, bar: FormBar) -> None:
        """Give ``bar`` the profile menu and the recent URLs."""
        self._bars.add(bar)
        bar.set_profiles(self.book.names(), "")
        completer = QCompleter(self.recent, bar.url)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        bar.url.setCompleter(completer)
        ref = weakref.ref(bar)
        bar.profileChosen.connect(lambda name: self._with(ref, self.load, name))
        bar.saveProfileRequested.connect(lambda: self._with(ref, self.save_as))
        bar.manageProfilesRequested.connect(lambda: self._with(ref, self.manage))
        bar.connectRequested.connect(lambda form: self.remember(form.url))

    @staticmethod
    def _with(ref: weakref.ref[FormBar], slot: object, *args: object) -> None:
        bar = ref()
        if bar is not None:
            slot(bar, *args)  # type: ignore[operator]

    def _refresh_bars(self) -> None:
        names = self.book.names()
        for bar in list(self._bars):
            current = str(bar.property(_PROFILE) or "")
            if current not in names:
                current = ""
                bar.setProperty(_PROFILE, "")
            bar.set_profiles(names, current)
        self.profilesChanged.emit()

    def remember(self, url: str) -> None:
        """A URL the user connected to, first in the recent list (if valid)."""
        try:
            url = check_url(url)
        except RequestError:
            return
        self.recent.setStringList(self.book.remember(url))

    # -- the keychain's state ----------

    def notice(self) -> str:
        """What the UI says about secrets when no secure keyring exists."""
        backend = self.keychain.backend
        if backend is None or backend.secure:
            return ""
        return (
            f"No secure system keyring ({backend.reason}): secrets such as "
            "Authorization headers and tokens are kept for this session only "
            "and never written to the settings file."
        )

    def _keychain_ready(self, backend: Backend) -> None:
        if isinstance(self.dialog, ManageProfilesDialog):
            self.dialog.notice.setText(self.notice())
            self.dialog.notice.setVisible(bool(self.notice()))
        if not backend.secure:
            self.messageShown.emit(
                "Profiles: no secure keyring, secrets are kept for this session only"
            )

    # -- load ----------

    def load(self, bar: FormBar, name: str) -> None:
        profile = self.book.get(name)
        if profile is None:
            return
        bar.setProperty(_PROFILE, name)
        bar.set_form(profile.form)
        bar.show_error("")
        bar.set_profiles(self.book.names(), name)
        if profile.secrets:
            self._waiting.setdefault(name, []).append(weakref.ref(bar))
            self.keychain.load(name, list(profile.secrets))

    def _secrets_loaded(self, name: str, found: dict[str, str]) -> None:
        profile = self.book.get(name)
        for ref in self._waiting.pop(name, []):
            bar = ref()
            if bar is None or profile is None or bar.property(_PROFILE) != name:
                continue
            bar.set_form(join_secrets(bar.form(), found))
            missing = [item for item in profile.secrets if item not in found]
            if missing:
                where = (
                    "no secure keyring"
                    if not self.keychain.secure
                    else "not in the keyring"
                )
                bar.show_error(
                    f"Profile {name!r}: {', '.join(_label(m) for m in missing)} "
                    f"not restored ({where}); enter it again."
                )

    # -- save ----------

    def save_as(self, bar: FormBar) -> None:
        form = bar.form()
        _plain, secrets = split_secrets(form)
        current = str(bar.property(_PROFILE) or "")
        default = current or _suggest(form.url)
        dialog = SaveProfileDialog(
            default,
            self.book.names(),
            has_secrets=bool(secrets),
            notice=self.notice(),
            parent=bar.window(),
        )
        ref = weakref.ref(bar)

        def finished(result: int) -> None:
            self._closed(dialog)
            bar = ref()
            if bar is not None and result == QDialog.DialogCode.Accepted.value:
                session_ok = dialog.session_only.isChecked()
                self.save(bar, dialog.chosen_name(), session_ok=session_ok)

        self._show(dialog, finished)

    def _show(self, dialog: QDialog, finished: object) -> None:
        """Window-modal and not exec(): no nested loop under the asyncio one."""
        self.dialog = dialog
        dialog.finished.connect(finished)
        dialog.open()

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def save(self, bar: FormBar, name: str, *, session_ok: bool = True) -> None:
        """Save the bar's form as ``name``: settings without secrets, secrets apart."""
        old = self.book.get(" ".join(name.split()))
        try:
            profile, secrets = self.book.save(name, bar.form())
        except ValueError as exc:
            bar.show_error(str(exc))
            return
        stale = [i for i in (old.secrets if old else ()) if i not in secrets]
        self.keychain.store(profile.name, secrets, stale, session_ok=session_ok)
        bar.setProperty(_PROFILE, profile.name)
        self._refresh_bars()
        self.messageShown.emit(f"Saved profile {profile.name!r}")

    def _secrets_saved(self, name: str, where: str) -> None:
        if where.startswith("error"):
            self.messageShown.emit(f"Profile {name!r}: secrets not saved, {where[7:]}")
        elif where == "session":
            self.messageShown.emit(
                f"Profile {name!r}: secrets kept for this session only (no keyring)"
            )
        elif where == "dropped":
            self.messageShown.emit(f"Profile {name!r} saved without its secrets")

    # -- manage ----------

    def manage(self, bar: FormBar) -> None:
        dialog = ManageProfilesDialog(
            self.book.names(), self.notice(), parent=bar.window()
        )
        dialog.set_names(self.book.names(), str(bar.property(_PROFILE) or ""))
        dialog.loadRequested.connect(lambda name: self.load(bar, name))
        dialog.renameRequested.connect(lambda old, new: self._rename(dialog, old, new))
        dialog.duplicateRequested.connect(lambda name: self._duplicate(dialog, name))
        dialog.deleteRequested.connect(lambda name: self._delete(dialog, name))
        self._show(dialog, lambda _result: self._closed(dialog))

    def _rename(self, dialog: ManageProfilesDialog, old: str, new: str) -> None:
        try:
            renamed = self.book.rename(old, new)
        except ValueError as exc:
            dialog.show_error(str(exc))
            return
        dialog.show_error("")
        self.keychain.copy(old, renamed.name, list(renamed.secrets), move=True)
        for bar in list(self._bars):
            if bar.property(_PROFILE) == old:
                bar.setProperty(_PROFILE, renamed.name)
        self._refresh_bars()
        dialog.set_names(self.book.names(), renamed.name)

    def _duplicate(self, dialog: ManageProfilesDialog, name: str) -> None:
        profile = self.book.get(name)
        if profile is None:
            return
        copy, _ = self.book.save(self.book.free_name(f"{name} copy"), profile.form)
        self.keychain.copy(name, copy.name, list(profile.secrets), move=False)
        self._refresh_bars()
        dialog.set_names(self.book.names(), copy.name)

    def _delete(self, dialog: ManageProfilesDialog, name: str) -> None:
        profile = self.book.delete(name)
        if profile is None:
            return
        self.keychain.forget_session(name)
        self.keychain.delete(name, list(profile.secrets))
        self._refresh_bars()
        dialog.set_names(self.book.names())
        self.messageShown.emit(f"Deleted profile {name!r}")

    def close(self) -> None:
        self.keychain.close()


def _label(item: str) -> str:
    return f"parameter {item[1:]}" if item.startswith("?") else item.title()


def _suggest(url: str) -> str:
    """A default name for a new profile: the URL's host and path."""
    rest = url.split("://", 1)[-1].split("?", 1)[0].rstrip("/")
    return rest[:60] or "New profile"
