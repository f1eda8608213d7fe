"""Launch with the bundled child server: live events fast, death noticed, no orphans."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.state import State
from desktop.ui.server_child import ServerChild
from desktop.ui.timeline.model import RECORD_ROLE
from desktop.ui.viewer import Viewer

from app_driver import SERVER_ARGS, drive, until

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop

_APP = (
    "import sys; from desktop.ui.app import run; sys.exit(run(None, no_server=False))"
)
_NOISE = (
    "Traceback",
    "Task was destroyed",
    "nclosed",
    "Exception ignored",
    "RuntimeWarning",
    "asynchronous generator",
)


def _types_shown(app: Viewer) -> set[str]:
    view = app.window.current_view()
    assert view is not None
    proxy = view.proxy
    return {
        getattr(proxy.index(r, 0).data(RECORD_ROLE), "type", "")
        for r in range(proxy.rowCount())
    }


def test_launch_shows_live_stats_and_jobs_and_stops_the_child(loop: AppLoop) -> None:
    started = time.perf_counter()
    child = ServerChild(SERVER_ARGS)
    child.spawn(0)
    app = Viewer(None, server=child)
    times: dict[str, float] = {}

    async def scenario() -> None:
        app.start()
        times["window"] = time.perf_counter() - started
        assert app.window.isVisible()
        await until(lambda: "stats" in _types_shown(app), 15, "the first stats event")
        times["first event"] = time.perf_counter() - started
        view = app.window.current_view()
        assert view is not None
        assert view.handle.form.url == f"{child.url}/api/events"
        assert view.handle.session.state is State.OPEN
        await until(lambda: app.jobs.available, 10, "the jobs panel")
        assert app.window.jobs_dock.isVisible()
        assert child.url is not None and child.url in app.window.server_status.text()

    drive(loop, scenario(), app)
    print(f"launch timings (loaded test box): {times}")
    assert not child.running
    assert child.process is not None and child.process.returncode is not None
    app.window.deleteLater()


def test_a_dead_server_is_reported_and_restarted_on_the_same_port(
    loop: AppLoop,
) -> None:
    child = ServerChild(SERVER_ARGS)
    child.spawn(0)
    app = Viewer(None, server=child)

    async def scenario() -> None:
        app.start()
        view = app.window.current_view()
        assert view is not None
        session = view.handle.session
        await until(lambda: session.state is State.OPEN and session.events, 15, "open")
        port = child.port
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        bar = app.window.server_bar
        await until(bar.isVisible, 10, "the server bar")
        assert "was killed" in bar.label.text()
        assert bar.restart.isVisible()
        await until(lambda: session.state is State.RECONNECTING, 5, "reconnecting")
        bar.restart.click()
        await until(lambda: child.url is not None, 15, "the new READY")
        assert child.port == port
        await until(lambda: not bar.isVisible(), 5, "the bar to go")
        await until(lambda: session.state is State.OPEN and session.attempt >= 2, 15)

    drive(loop, scenario(), app)
    assert not child.running
    app.window.deleteLater()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _launch(
    *, streams_open: bool = True, display: str | None = None
) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if display is not None:  # a real X server (xcb), not the offscreen platform
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    app = subprocess.Popen(
        [sys.executable, "-c", _APP],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while True:
        servers = [
            c
            for c in _children(app.pid)
            if "server" in Path(f"/proc/{c}/cmdline").read_text()
        ]
        if servers:
            break
        assert app.poll() is None, app.communicate()
        assert time.monotonic() < deadline, "no server child"
        time.sleep(0.05)
    # Streams open: the app holds a TCP connection to its server (the bundled
    # stream), not "probably by now" after a fixed sleep.
    while streams_open and not _connections(app.pid):
        assert app.poll() is None, app.communicate()
        assert time.monotonic() < deadline + 20, "no stream opened"
        time.sleep(0.05)
    return app, servers[0]


def _connections(pid: int) -> int:
    """Established TCP connections held by process ``pid`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            established = fields[3] == "01"
            count += established and fields[9] in inodes
    return count


def test_no_orphan_server_after_the_app_is_killed() -> None:
    app, server = _launch()
    app.kill()
    app.communicate()
    deadline = time.monotonic() + 10
    while _alive(server):
        assert time.monotonic() < deadline, "the server child outlived the app"
        time.sleep(0.05)


def test_quit_with_streams_open_is_clean() -> None:
    app, server = _launch()
    app.send_signal(signal.SIGTERM)
    _out, err = app.communicate(timeout=20)
    assert app.returncode == 0, err
    assert not any(noise in err for noise in _NOISE), err
    deadline = time.monotonic() + 5
    while _alive(server):
        assert time.monotonic() < deadline, "the server child outlived the app"
        time.sleep(0.05)


def test_sigterm_during_start_up_is_a_clean_quit() -> None:
    """Before the loop's handlers exist: remembered, then a normal close (and a
    READY arriving while it shuts down starts no stream or jobs probe)."""
    app, server = _launch(streams_open=False)
    app.send_signal(signal.SIGTERM)
    _out, err = app.communicate(timeout=20)
    assert app.returncode == 0, err
    assert not any(noise in err for noise in _NOISE), err
    deadline = time.monotonic() + 5
    while _alive(server):
        assert time.monotonic() < deadline, "the server child outlived the app"
        time.sleep(0.05)


def _xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """A private Xvfb on a display number it picks itself (``-displayfd``)."""
    program = shutil.which("Xvfb")
    assert program, "Xvfb is missing: apt-get install -y xvfb (tests/run.sh does)"
    read, write = os.pipe()
    screen = ("-screen", "0", "1366x768x24", "-nolisten", "tcp")
    xvfb = subprocess.Popen(
        [program, "-displayfd", str(write), *screen],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    assert number, "Xvfb did not start"
    return xvfb, f":{number}"


@pytest.mark.parametrize("quit_too", [False, True], ids=["display-dies", "as-timeout"])
def test_the_x_server_dying_closes_the_app_with_one_line(quit_too: bool) -> None:
    """No traceback and no pending task: the bundled server is stopped and the exit
    status says something went wrong.  ``as-timeout``: ``timeout xvfb-run
    sse-viewer`` sends SIGTERM to the app and the X server at once, so the app's
    own shutdown is under way when the display goes."""
    xvfb, display = _xvfb()
    try:
        app, server = _launch(display=display)
        time.sleep(1)  # the window shown and the stream reading, as a user has it
        if quit_too:
            app.send_signal(signal.SIGTERM)
        xvfb.terminate()  # as xvfb-run stops it
        xvfb.wait()
        _out, err = app.communicate(timeout=30)
    finally:
        xvfb.kill()
        xvfb.wait()
    assert not any(noise in err for noise in _NOISE), err
    if not quit_too or app.returncode != 0:  # a quit may also finish first
        assert app.returncode == 1, err
        assert "the display went away" in err, err
    deadline = time.monotonic() + 5
    while _alive(server):
        assert time.monotonic() < deadline, "the server child outlived the app"
        time.sleep(0.05)


def test_without_a_display_the_hint_names_a_command_that_works_as_printed() -> None:
    import shlex

    root = Path(__file__).resolve().parents[2]
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["PYTHONPATH"] = str(root)  # this checkout, also for the venv's script
    script = Path(sys.executable).parent / "sse-viewer"  # where the install puts it
    launches = [[sys.executable, "-m", "desktop.cli", "--no-server"]]
    if script.is_file():
        launches.append([str(script), "--no-server"])
    for launch in launches:
        done = subprocess.run(
            launch, capture_output=True, timeout=30, cwd="/", env=env, check=False
        )
        assert done.returncode == 2
        message = done.stderr.decode()
        printed = message.split("run it under Xvfb: ", 1)[1].split(" - or", 1)[0]
        command = shlex.split(printed)
        assert command[:2] == ["xvfb-run", "-a"] and command[-1] == "--no-server"
        if launch[0] == str(script):
            assert command[2] == str(script), "by its full path: not on PATH"
        version = subprocess.run(  # the same program, from anywhere
            [*command[2:-1], "--version"],
            capture_output=True,
            timeout=30,
            cwd="/",
            env=env,
            check=False,
        )
        assert version.returncode == 0 and b"sse-viewer" in version.stdout, message
