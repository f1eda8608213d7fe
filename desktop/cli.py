"""``sse-viewer``: the composition root.

``sse-viewer [URL] [--no-server]`` opens the desktop app, ``sse-viewer tail URL``
prints a stream headless, ``sse-viewer serve`` runs the bundled server alone,
``sse-viewer open FILE`` opens a saved recording, ``sse-viewer mock FILE``
serves one again as a live stream, ``sse-viewer doctor URL`` examines a server.
Qt and the server are imported only by the command that needs them, so that
``tail`` starts fast and works where Qt cannot.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence


def _no_display(args: Sequence[str]) -> str:
    """What to say without a display, naming a command that works as printed.

    After the README's install ``sse-viewer`` lives in ``.venv/bin``, not on
    PATH: the command is this very program by its full path (or this Python
    running the module), with the same arguments.
    """
    program = Path(sys.argv[0])
    if program.name == "sse-viewer" and program.is_file():
        command = [str(program.absolute())]
    else:
        command = [sys.executable, "-m", "desktop.cli"]
    line = shlex.join(["xvfb-run", "-a", *command, *args])
    tail = shlex.join([*command, "tail"])
    return (
        "sse-viewer: no display to open a window on (DISPLAY and WAYLAND_DISPLAY "
        f"are unset); run it under Xvfb: {line} - or in this terminal: {tail} URL"
    )


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-viewer",
        description="Watch, debug and teach Server-Sent Events.",
        epilog="Commands: 'sse-viewer tail URL' prints a stream in the terminal "
        "(see 'sse-viewer tail --help'); 'sse-viewer serve' runs the bundled SSE "
        "server alone (see 'sse-viewer serve --help'); 'sse-viewer open FILE' "
        "opens a saved recording; 'sse-viewer mock FILE' serves one again as a "
        "live stream (see 'sse-viewer mock --help'); 'sse-viewer doctor URL' "
        "examines an SSE server and says what is wrong and how to fix it "
        "(see 'sse-viewer doctor --help').",
    )
    parser.add_argument(
        "url",
        nargs="?",
        help="open this stream instead of the bundled server's live events",
    )
    parser.add_argument(
        "--no-server",
        action="store_true",
        help="do not start the bundled server; open with no stream",
    )
    parser.add_argument(
        "--version", action="version", version=f"sse-viewer {__version__}"
    )
    return parser


def has_display() -> bool:
    """Whether Qt can open a window here (offscreen and friends count)."""
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] not in (
        "",
        "xcb",
        "wayland",
    ):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "tail":
        # Hold Ctrl-C while the engine's imports run (about half a second): tail
        # unblocks it once its handler is in place, so an early Ctrl-C still
        # ends in a clean `closed` record and exit 0, never a traceback.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        from desktop.tail import main as tail_main

        return tail_main(args[1:])
    if args and args[0] == "doctor":
        from desktop.doctor import main as doctor_main

        return doctor_main(args[1:])
    if args and args[0] == "serve":
        from server.__main__ import main as serve_main

        return serve_main(args[1:], prog="sse-viewer serve")
    if args and args[0] == "open":
        return _open(args[1:])
    if args and args[0] == "mock":
        return _mock(args[1:])
    options = _gui_parser().parse_args(args)
    if not has_display():
        print(_no_display(args), file=sys.stderr)
        return 2
    from desktop.ui.app import run

    return run(options.url, no_server=options.no_server or options.url is not None)


def _open(args: list[str]) -> int:
    """``sse-viewer open FILE``: the file is checked before Qt loads, so a bad
    one costs one line on stderr and exit status 2, not a window."""
    parser = argparse.ArgumentParser(
        prog="sse-viewer open",
        description="Open a recording saved by sse-viewer (File > Save recording) "
        "as a read-only stream; no bundled server is started.",
    )
    parser.add_argument("file", help="the recording (.ndjson)")
    options = parser.parse_args(args)
    from desktop.core.files.recording import RecordingError, RecordingReader
    from desktop.core.terminal import terminal_safe

    try:
        RecordingReader.open(options.file).close()
    except RecordingError as exc:
        # A recording holds what a server sent: its text may quote it.
        shown = terminal_safe(f"{options.file}: {exc}")
        print(f"sse-viewer: cannot open {shown}", file=sys.stderr)
        return 2
    if not has_display():
        print(_no_display(["open", *args]), file=sys.stderr)
        return 2
    from desktop.ui.app import run

    return run(None, no_server=True, recording=options.file)


def _mock(args: list[str]) -> int:
    """``sse-viewer mock FILE``: the recording is read here, where the app's
    reader lives (the server never imports the app), and served by server.mock."""
    from server import mock

    options = mock.parser().parse_args(args)
    if mock.refused(options):  # before reading what may be a big file
        return 2
    from desktop.core.files.recording import RecordingError
    from desktop.core.files.replay import load
    from desktop.core.terminal import terminal_safe

    try:
        replay = load(options.recording)
    except RecordingError as exc:
        # A recording holds what a server sent: its text may quote it.
        shown = terminal_safe(f"{options.recording}: {exc}")
        print(f"sse-viewer mock: cannot replay {shown}", file=sys.stderr)
        return 2
    for note in replay.notes:
        print(f"sse-viewer mock: {terminal_safe(note)}", file=sys.stderr)
    source = "raw bytes" if not replay.rebuilt else "events"
    print(
        f"sse-viewer mock: {replay.events:,} events over {replay.duration:.3f} s, "
        f"from the recording's {source}",
        file=sys.stderr,
    )
    return mock.run(options, replay, options.path or replay.path)


if __name__ == "__main__":
    sys.exit(main())
