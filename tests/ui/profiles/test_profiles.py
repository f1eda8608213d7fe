"""Profiles, secrets, recent URLs and settings that survive a restart of the app."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import keyring
import pytest
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring
from PySide6.QtCore import QByteArray, QEvent
from PySide6.QtWidgets import QApplication

from desktop.ui.form_error import RequestError
from desktop.ui.keychain import ENV_ALLOW_PLAINTEXT, classify
from desktop.ui.profiles.book import (
    RECENT_LIMIT,
    ProfileBook,
    join_secrets,
    public_url,
    secret_items,
    split_secrets,
)
from desktop.ui.profiles.dialogs import ManageProfilesDialog, SaveProfileDialog
from desktop.ui.request import RequestForm, build_options
from desktop.ui.settings import Settings, settings_path
from desktop.ui.viewer import Viewer

from app_driver import drive

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.ui.connect.bar import ConnectionBar
    from desktop.ui.loop import AppLoop

TOKEN = "s3cret-token-9f2c"


@pytest.fixture
def plaintext_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real keyring backend (a file in tmp), accepted through the opt-in."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    keyring.set_keyring(backend)
    monkeypatch.setenv(ENV_ALLOW_PLAINTEXT, "1")
    return tmp_path / "keyring.cfg"


def _app(qtbot: QtBot) -> Viewer:
    app = Viewer(None)
    app.window.show()
    keychain = app.window.prefs.profiles.keychain
    qtbot.waitUntil(lambda: keychain.backend is not None, timeout=5000)
    return app


def _close(loop: AppLoop, app: Viewer) -> None:
    loop.run_until_complete(app.shutdown())
    app.window.close()
    app.window.deleteLater()
    _collect()


def _collect() -> None:
    """Delete what the test left, here on the GUI thread.

    A Python-owned QObject in a reference cycle (a controller and its timer) is
    freed by whichever thread's allocation starts the next collection; freed on
    a server thread of a later test, its timer stays registered and Qt crashed.
    """
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()


@pytest.fixture(autouse=True)
def _collect_after() -> Iterator[None]:
    yield
    _collect()


def _save_via_dialog(qtbot: QtBot, app: Viewer, bar: ConnectionBar, name: str) -> str:
    manager = app.window.prefs.profiles
    bar.saveProfileRequested.emit()
    dialog = manager.dialog
    assert isinstance(dialog, SaveProfileDialog)
    dialog.name.setText(name)
    with qtbot.waitSignal(manager.keychain.saved, timeout=5000) as saved:
        dialog.accept()
    return str(saved.args[1])


def _settings_text() -> str:
    path = settings_path()
    assert path is not None
    return path.read_text("utf-8")


def test_profile_with_a_token_survives_a_restart(
    loop: AppLoop, qtbot: QtBot, plaintext_keyring: Path
) -> None:
    url = "http://127.0.0.1:9/api/events?topic=a&access_token=q-secret-77"
    first = _app(qtbot)
    assert first.window.prefs.profiles.keychain.secure
    view = first.window.new_stream()
    view.bar.set_form(RequestForm(url, headers=(("X-Trace", "on"),), retry_ms=700))
    view.bar.token.setText(TOKEN)
    view.bar.token.editingFinished.emit()  # → Authorization: Bearer …
    assert _save_via_dialog(qtbot, first, view.bar, "Local dev") == "keyring"
    assert view.bar.profile_button.text() == "Local dev"
    _close(loop, first)

    text = _settings_text()
    assert "Local dev" in text and "X-Trace" in text
    assert TOKEN not in text and "q-secret-77" not in text
    stored = keyring.get_password("sse-viewer", "profile:Local dev:authorization")
    assert stored == f"Bearer {TOKEN}" and plaintext_keyring.exists()

    second = _app(qtbot)
    bar = second.window.new_stream().bar
    actions = [a.text() for a in bar.profile_button.menu().actions()]
    assert "Local dev" in actions
    bar.profileChosen.emit("Local dev")
    qtbot.waitUntil(
        lambda: ("Authorization", f"Bearer {TOKEN}") in bar.form().headers,
        timeout=5000,
    )
    form = bar.form()
    assert form.url == url and form.retry_ms == 700
    assert ("X-Trace", "on") in form.headers
    assert not bar.error.isVisible()
    _close(loop, second)


def test_plain_file_keyrings_count_as_none_without_the_opt_in() -> None:
    assert not classify(PlaintextKeyring(), allow_plaintext=False).secure
    assert classify(PlaintextKeyring(), allow_plaintext=True).secure
    assert not classify(fail.Keyring(), allow_plaintext=True).secure


def test_without_a_keyring_secrets_stay_in_this_session(
    loop: AppLoop, qtbot: QtBot
) -> None:
    keyring.set_keyring(PlaintextKeyring())  # the usual headless case: refused
    first = _app(qtbot)
    manager = first.window.prefs.profiles
    assert not manager.keychain.secure
    assert "session only" in manager.notice()
    view = first.window.new_stream()
    view.bar.set_form(
        RequestForm("http://127.0.0.1:9/x", headers=(("X-Api-Key", TOKEN),))
    )
    view.bar.saveProfileRequested.emit()
    dialog = manager.dialog
    assert isinstance(dialog, SaveProfileDialog)
    assert dialog.notice.isVisibleTo(dialog) and "session only" in dialog.notice.text()
    assert dialog.session_only.isVisibleTo(dialog) and dialog.session_only.isChecked()
    dialog.name.setText("No keyring")
    with qtbot.waitSignal(manager.keychain.saved, timeout=5000) as saved:
        dialog.accept()
    assert saved.args == ["No keyring", "session"]
    assert TOKEN not in _settings_text()

    other = first.window.new_stream().bar
    other.profileChosen.emit("No keyring")
    qtbot.waitUntil(lambda: ("X-Api-Key", TOKEN) in other.form().headers, timeout=5000)
    _close(loop, first)

    second = _app(qtbot)  # a new run: the session's memory is gone
    bar = second.window.new_stream().bar
    with qtbot.waitSignal(second.window.prefs.profiles.keychain.loaded, timeout=5000):
        bar.profileChosen.emit("No keyring")
    assert ("X-Api-Key", "") in bar.form().headers
    assert bar.error.isVisibleTo(bar) and "not restored" in bar.error.text()
    _close(loop, second)


def test_manage_renames_duplicates_and_deletes_with_the_secrets(
    loop: AppLoop, qtbot: QtBot, plaintext_keyring: Path
) -> None:
    app = _app(qtbot)
    manager = app.window.prefs.profiles
    bar = app.window.new_stream().bar
    bar.set_form(RequestForm("http://h/x", headers=(("Cookie", "sid=abc123"),)))
    assert _save_via_dialog(qtbot, app, bar, "one") == "keyring"
    bar.manageProfilesRequested.emit()
    dialog = manager.dialog
    assert isinstance(dialog, ManageProfilesDialog)
    with qtbot.waitSignal(manager.keychain.saved, timeout=5000):
        dialog.renameRequested.emit("one", "two")
    assert manager.book.names() == ["two"] and bar.profile_button.text() == "two"
    with qtbot.waitSignal(manager.keychain.saved, timeout=5000):
        dialog.duplicateRequested.emit("two")
    assert manager.book.names() == ["two", "two copy"]
    fresh = app.window.new_stream().bar
    fresh.profileChosen.emit("two copy")
    qtbot.waitUntil(lambda: ("Cookie", "sid=abc123") in fresh.form().headers)
    with qtbot.waitSignal(manager.keychain.saved, timeout=5000):
        dialog.deleteRequested.emit("two")
    assert manager.book.names() == ["two copy"]
    assert bar.profile_button.text() == "Profiles"
    assert keyring.get_password("sse-viewer", "profile:two:cookie") is None
    assert keyring.get_password("sse-viewer", "profile:one:cookie") is None
    dialog.reject()
    _close(loop, app)


def test_recent_urls_newest_first_once_and_bounded(tmp_path: Path) -> None:
    book = ProfileBook(Settings(tmp_path / "s.ini"))
    book.remember("http://a/1")
    book.remember("http://b/2")
    book.remember("http://a/1")
    assert book.recent() == ["http://a/1", "http://b/2"]
    for i in range(RECENT_LIMIT + 5):
        book.remember(f"http://h/{i}")
    recent = ProfileBook(Settings(tmp_path / "s.ini")).recent()
    assert len(recent) == RECENT_LIMIT
    assert recent[0] == f"http://h/{RECENT_LIMIT + 4}"
    book.remember("http://h/x?access_token=zzz&n=1")
    assert book.recent()[0] == "http://h/x?access_token=&n=1"
    assert "zzz" not in (tmp_path / "s.ini").read_text("utf-8")


def test_connecting_puts_the_url_in_the_recent_list(
    loop: AppLoop, qtbot: QtBot, base: str
) -> None:
    app = _app(qtbot)
    view = app.window.new_stream()
    view.bar.url.setText(f"{base}/api/ticker?count=1")
    view.bar.connect_button.click()
    completer = view.bar.url.completer()
    assert completer is not None
    model = completer.model()
    assert model.index(0, 0).data() == f"{base}/api/ticker?count=1"
    loop.run_until_complete(app.shutdown())
    app.window.close()


def test_a_damaged_settings_file_falls_back_to_defaults(
    loop: AppLoop, qtbot: QtBot
) -> None:
    path = settings_path()
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x00\xff garbage [[[\n"
        b"[window]\ngeometry=@ByteArray(not a geometry)\nstate=12\n"
        b"[view]\ntheme=purple\n"
        b"[stream]\ncolumns=a, b\nsplit=-5, 99999999\n"
        b"[recent]\nurls=7\n"
        b"[profiles]\nsize=zz\n1\\name=ok\n1\\retry_ms=-3\n1\\method=PATCH\n"
        b"2\\name=\n"
    )
    app = _app(qtbot)
    prefs = app.window.prefs
    assert prefs.theme_choice == "system"
    view = app.window.new_stream()
    assert view.table.columnWidth(0) == 96  # the default
    assert prefs.profiles.book.recent() == ["7"]
    _close(loop, app)


def test_window_layout_and_theme_are_restored(loop: AppLoop, qtbot: QtBot) -> None:
    first = _app(qtbot)
    window = first.window
    view = window.new_stream()
    window.resize(600, 555)  # its minimum width: inside the offscreen 800 x 800
    qtbot.waitExposed(window)
    qtbot.wait(20)
    view.split.setSizes([400, 360])
    saved_size = (window.width(), window.height())
    assert saved_size[1] == 555
    view.table.setColumnWidth(3, 222)
    timeline_split = view.split.widget(0)
    timeline_split.setSizes([300, 250])  # type: ignore[attr-defined]
    saved_split = view.split.sizes()
    saved_lower = timeline_split.sizes()  # type: ignore[attr-defined]
    window.prefs.actions["theme_dark"].trigger()
    from desktop.ui import theme

    assert theme.palette().dark
    _close(loop, first)
    try:
        second = _app(qtbot)
        window = second.window
        assert window.prefs.theme_choice == "dark"
        assert window.prefs.actions["theme_dark"].isChecked()
        # The height is ours; the width is held at the widgets' minimum (798 px).
        assert window.height() == saved_size[1] != 800
        view = window.new_stream()
        assert view.table.columnWidth(3) == 222
        # A new tab's splitters get the saved proportions (widths follow the window).
        assert _share(view.split.sizes()) == pytest.approx(
            _share(saved_split), abs=0.03
        )
        lower = view.split.widget(0).sizes()  # type: ignore[attr-defined]
        assert _share(lower) == pytest.approx(_share(saved_lower), abs=0.03)
        window.prefs.set_theme("light")
        assert not theme.palette().dark
        _close(loop, second)
    finally:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        theme.apply(app)


def _share(sizes: list[int]) -> float:
    return sizes[0] / sum(sizes)


def test_settings_reads_are_typed(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "t.ini")
    settings.set("a", "12")
    settings.set("b", "x")
    settings.set("c", "true")
    settings.set("blob", QByteArray(b"\x01\x02"))
    assert settings.integer("a", 0) == 12
    assert settings.integer("a", 0, high=10) == 0
    assert settings.integer("b", 5) == 5
    assert settings.flag("c", False) and not settings.flag("b", False)
    assert settings.blob("blob") == QByteArray(b"\x01\x02")
    assert settings.blob("a") is None
    assert settings.problem == ""


def test_find_next_previous_and_copy(
    loop: AppLoop, qtbot: QtBot, viewer: Viewer, base: str
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    from desktop.core.engine.records import Event
    from desktop.ui.timeline.model import RECORD_ROLE

    from app_driver import open_stream, until

    view = open_stream(viewer, f"{base}/api/ticker?rate=500&size=24&count=30")

    prefs = viewer.window.prefs

    def selected() -> str:
        record = view.table.currentIndex().data(RECORD_ROLE)
        return record.id if isinstance(record, Event) else ""

    async def scenario() -> None:
        await until(lambda: view.handle.session.events >= 30, 10, "30 events")
        viewer.controller.stop(view.handle)
        viewer.controller.flush()
        view.filters.regex.setChecked(True)
        view.filters.search.setText(r"\b(3|7|11)\b")
        # Before the filter's debounce: every row shows, the finder skips others.
        assert view.proxy.rowCount() > 30
        prefs.actions["next"].trigger()
        assert selected() == "3"
        assert view.detail.text.extraSelections()  # the match marked in the detail
        prefs.actions["next"].trigger()
        assert selected() == "7"
        viewer.window.activateWindow()
        view.filters.search.setFocus()  # Enter belongs to the focused field
        qtbot.keyClick(view.filters.search, Qt.Key.Key_Return)
        assert selected() == "11"
        qtbot.keyClick(view.filters.search, Qt.Key.Key_Return)
        assert selected() == "3"  # wrapped
        assert "wrapped" in viewer.window.statusBar().currentMessage()
        shift = Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(view.filters.search, Qt.Key.Key_Return, shift)
        assert selected() == "11"
        prefs.actions["previous"].trigger()
        assert selected() == "7"

        view.table.setFocus()
        prefs.actions["copy"].trigger()
        row = view.detail.row
        assert isinstance(row, Event) and row.id == "7"
        assert QGuiApplication.clipboard().text() == row.data

    drive(loop, scenario(), viewer)


def test_shortcuts_show_in_the_help_and_tooltips(viewer: Viewer) -> None:
    from desktop.ui.shortcuts import ShortcutsDialog

    view = viewer.window.new_stream()
    dialog = viewer.window.prefs.show_shortcuts()
    assert isinstance(dialog, ShortcutsDialog)
    rows = {(keys, what) for _where, keys, what in dialog.rows()}
    for pair in (
        ("F3", "Find next"),
        ("Shift+F3", "Find previous"),
        ("Ctrl+C", "Copy event data"),
        ("Ctrl+Return", "Connect"),
        ("Shift+Enter", "Previous match"),
    ):
        assert pair in rows
    dialog.close()
    assert "Ctrl+Return" in view.bar.connect_button.toolTip()
    assert "Ctrl+P" in view.filters.pause.toolTip()


def test_a_url_password_and_signature_parameters_stay_out_of_the_settings() -> None:
    url = "https://bob:hunter2@h:8/e?sig=abc&auth=xyz&access_token=t&x=1#f"
    stored, secrets = split_secrets(RequestForm(url))
    assert "hunter2" not in stored.url and "abc" not in stored.url
    assert "xyz" not in stored.url and stored.url.endswith("&x=1#f")
    assert secrets == {
        "@password": "hunter2",
        "?sig": "abc",
        "?auth": "xyz",
        "?access_token": "t",
    }
    assert secret_items(stored) == ["@password", "?sig", "?auth", "?access_token"]
    assert join_secrets(stored, secrets).url == url
    assert public_url(url) == "https://bob:@h:8/e?sig=&auth=&access_token=&x=1#f"
    assert public_url("http://h/a?b=c") == "http://h/a?b=c"


def test_a_profiles_proxy_keeps_its_password_in_the_keyring(
    loop: AppLoop, qtbot: QtBot, plaintext_keyring: Path
) -> None:
    proxy = "http://bob:hunter2@127.0.0.1:3128"
    first = _app(qtbot)
    view = first.window.new_stream()
    view.bar.set_form(RequestForm("http://127.0.0.1:9/api/events", proxy=proxy))
    assert _save_via_dialog(qtbot, first, view.bar, "Corp") == "keyring"
    _close(loop, first)
    text = _settings_text()
    assert "hunter2" not in text and "bob:@127.0.0.1:3128" in text
    stored = keyring.get_password("sse-viewer", "profile:Corp:proxy@password")
    assert stored == "hunter2"

    second = _app(qtbot)
    bar = second.window.new_stream().bar
    bar.profileChosen.emit("Corp")
    qtbot.waitUntil(lambda: bar.form().proxy == proxy, timeout=5000)
    options = build_options(bar.form())
    assert options.transport.proxy == proxy
    _close(loop, second)


def test_a_proxy_url_is_checked() -> None:
    form = RequestForm("http://127.0.0.1:9/", proxy=" 127.0.0.1:3128 ")
    assert build_options(form).transport.proxy == "http://127.0.0.1:3128"
    assert build_options(RequestForm("http://127.0.0.1:9/")).transport.proxy is None
    with pytest.raises(RequestError, match="socks5://"):
        build_options(RequestForm("http://127.0.0.1:9/", proxy="ftp://h:21"))


def test_basic_auth_and_cookies_go_to_the_keyring_and_come_back_masked(
    loop: AppLoop, qtbot: QtBot, plaintext_keyring: Path, tmp_path: Path
) -> None:
    from desktop.ui.request import build_options

    first = _app(qtbot)
    bar = first.window.new_stream().bar
    bar.set_form(RequestForm("http://127.0.0.1:9/api/events"))
    panel = bar.credentials
    panel.user.setText("ann")
    panel.password.setText("pw-77-secret")
    panel.cookies.setText("sid=cookie-88-secret; theme=dark")
    panel.cookie_file.setText(str(tmp_path / "cookies.txt"))
    assert panel.password.echoMode() is panel.password.EchoMode.Password
    assert panel.cookies.echoMode() is panel.cookies.EchoMode.Password
    bar.reveal.setChecked(True)
    assert panel.cookies.echoMode() is panel.cookies.EchoMode.Normal
    bar.reveal.setChecked(False)
    assert "\N{BULLET}" in bar.tabs.tabText(bar.tabs.indexOf(bar.credentials))
    options = build_options(bar.form())
    assert (options.user, options.password) == ("ann", "pw-77-secret")
    assert options.cookies == (("sid", "cookie-88-secret"), ("theme", "dark"))
    assert options.cookie_file == str(tmp_path / "cookies.txt")
    assert _save_via_dialog(qtbot, first, bar, "Cookie jar") == "keyring"
    _close(loop, first)

    text = _settings_text()
    assert "Cookie jar" in text and "ann" in text and "cookies.txt" in text
    assert "pw-77-secret" not in text and "cookie-88-secret" not in text
    assert "dark" not in text  # a cookie's value is a secret, whatever its name

    second = _app(qtbot)
    bar = second.window.new_stream().bar
    bar.profileChosen.emit("Cookie jar")
    qtbot.waitUntil(lambda: bar.form().password == "pw-77-secret", timeout=5000)
    form = bar.form()
    assert form.user == "ann" and form.cookies == "sid=cookie-88-secret; theme=dark"
    _close(loop, second)
