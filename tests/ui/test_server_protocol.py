"""The app runs its bundled server over TLS and HTTP/2, trusting the local CA.

A real child (``python -m server --tls --http2``) with its certificate from the
local CA made in this test's config directory; the app's default client trusts
that CA, so its stream opens, negotiates HTTP/2, and the state panel says so.
Server → Bundled server switches it back to HTTP/1.1 and remembers the choice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core import serving
from desktop.core.engine.state import State
from desktop.core.serving import SETTING, ServerProtocol, saved_protocol
from desktop.ui.server_child import ServerChild
from desktop.ui.viewer import Viewer

from app_driver import SERVER_ARGS, drive, until

if TYPE_CHECKING:
    import pytest

    from desktop.ui.loop import AppLoop


def test_the_app_streams_from_its_server_over_tls_and_http2(loop: AppLoop) -> None:
    child = ServerChild(SERVER_ARGS, flags=ServerProtocol.H2.flags)
    child.spawn(0)
    app = Viewer(None, server=child)

    async def scenario() -> None:
        app.start()
        view = app.window.current_view()
        assert view is not None
        session = view.handle.session
        await until(
            lambda: session.state is State.OPEN and session.events, 20, "the h2 stream"
        )
        assert child.url is not None and child.url.startswith("https://127.0.0.1:")
        assert view.handle.form.url == f"{child.url}/api/events"
        assert session.http_version == "HTTP/2"
        view.refresh()
        route = view.state.values["route"].text()
        assert route.startswith("HTTP/2"), route
        assert app.window.protocol_actions[ServerProtocol.H2.value].isChecked()
        await until(lambda: app.jobs.available, 10, "the jobs API over https")
        port = child.port

        # The menu: back to plain HTTP/1.1 on the same port; the stream follows.
        app.window.protocol_actions[ServerProtocol.HTTP1.value].trigger()
        await until(
            lambda: child.url is not None and child.url.startswith("http://"),
            20,
            "the http server",
        )
        assert child.port == port
        await until(
            lambda: session.state is State.OPEN and session.http_version == "HTTP/1.1",
            20,
            "the stream on HTTP/1.1",
        )
        assert view.handle.form.url == f"{child.url}/api/events"
        # The jobs panel follows to http:// (and its probe is not cut by shutdown:
        # a request cancelled mid-connect leaves its socket to the GC).
        await until(
            lambda: app.jobs.available and app.jobs.base_url == child.url,
            10,
            "the jobs API over http",
        )
        app.window.prefs.settings.sync()
        assert app.window.prefs.settings.text(SETTING) == "http1"
        assert saved_protocol() is ServerProtocol.HTTP1

    drive(loop, scenario(), app, limit_s=50)
    assert not child.running
    app.window.deleteLater()


def test_the_app_finds_the_local_ca_where_the_server_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """desktop/core/serving.py repeats server/certs.py's rule: they must agree."""
    from desktop.ui.settings import Settings
    from server import certs

    made = certs.local_cert()  # the test's own SSE_VIEWER_CONFIG_DIR
    assert Path(serving.local_ca_file()) == made.ca_file
    assert Path(Settings().path).parent == serving.config_dir()
    monkeypatch.delenv(serving.ENV_DIR)
    for xdg in (str(tmp_path / "xdg"), ""):
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        assert serving.config_dir() == certs.config_dir()


def test_the_choice_is_read_without_qt_as_qsettings_wrote_it() -> None:
    from desktop.ui.settings import Settings

    assert serving.saved_protocol() is ServerProtocol.HTTP1  # no file yet
    settings = Settings()
    settings.set(SETTING, ServerProtocol.H2.value)
    settings.sync()
    assert serving.saved_protocol() is ServerProtocol.H2
    assert serving.saved_protocol().flags == ("--tls", "--http2")
    settings.set(SETTING, "gopher")
    settings.sync()
    assert serving.saved_protocol() is ServerProtocol.HTTP1
