"""The bundled server's protocols, and where its local CA lives.

The app runs ``python -m server`` as a child (desktop/ui/server_child.py) in one of
three ways: plain HTTP/1.1, HTTPS, or HTTPS with HTTP/2 by ALPN.  Over https the
server's certificate is signed by a local CA it makes on first use in the config
directory (server/certs.py); the app trusts that CA for its own streams.

`config_dir` is the rule of server/certs.py written again: ``desktop`` must not
import ``server`` (ARCHITECTURE.md, "Layers and their rules"), and both follow
Qt's per-user place of desktop/ui/settings.py; tests/core/test_serving.py checks
that the three agree.
"""

from __future__ import annotations

import configparser
import enum
import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP = "sse-viewer"
ENV_DIR = "SSE_VIEWER_CONFIG_DIR"
SETTING = "server/protocol"  # desktop/ui/settings.py's key (INI: [server] protocol=)


class ServerProtocol(enum.StrEnum):
    """How the bundled server speaks; the value is what the settings file keeps."""

    HTTP1 = "http1"
    HTTPS = "https"
    H2 = "h2"

    @property
    def flags(self) -> tuple[str, ...]:
        """``serve``'s arguments for it."""
        return {
            ServerProtocol.HTTP1: (),
            ServerProtocol.HTTPS: ("--tls",),
            ServerProtocol.H2: ("--tls", "--http2"),
        }[self]

    @property
    def label(self) -> str:
        return {
            ServerProtocol.HTTP1: "HTTP/1.1",
            ServerProtocol.HTTPS: "HTTPS",
            ServerProtocol.H2: "HTTPS + HTTP/2",
        }[self]

    @property
    def tls(self) -> bool:
        return self is not ServerProtocol.HTTP1

    @classmethod
    def of_flags(cls, flags: tuple[str, ...]) -> ServerProtocol:
        """The protocol ``serve`` speaks with these arguments."""
        return next((p for p in cls if p.flags == flags), cls.HTTP1)

    @classmethod
    def of(cls, value: object) -> ServerProtocol:
        """The protocol a stored value names; HTTP/1.1 for anything else."""
        return next((p for p in cls if p.value == value), cls.HTTP1)


@dataclass(frozen=True, slots=True)
class Served:
    """The bundled server as it now listens."""

    base_url: str  # e.g. https://127.0.0.1:8123
    protocol: ServerProtocol
    ca_file: str | None  # the local CA that signed its certificate (https)
    was: ServerProtocol  # what it spoke before (a lesson puts it back)


def config_dir() -> Path:
    """``$SSE_VIEWER_CONFIG_DIR``, or Qt's per-user place (as server/certs.py)."""
    directory = os.environ.get(ENV_DIR, "").strip()
    if directory:
        return Path(directory).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / APP
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".config") / APP


def local_ca_file() -> Path:
    """The local CA's certificate the server makes on first ``--tls`` (PEM)."""
    return config_dir() / "tls" / "ca.pem"


def saved_protocol() -> ServerProtocol:
    """The protocol the settings file chose, read without Qt.

    The app spawns its server before it imports Qt (desktop/ui/app.py), so this
    reads the INI file QSettings writes with the standard library; a missing or
    unreadable file means HTTP/1.1.
    """
    section, _, key = SETTING.partition("/")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(config_dir() / f"{APP}.ini", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return ServerProtocol.HTTP1
    return ServerProtocol.of(parser.get(section, key, fallback=""))
