"""TCP: socket options that make a vanished peer (network cut) visible within ~30 s."""

from __future__ import annotations

import socket
import struct
import sys
from typing import Protocol

if sys.platform != "win32":
    import fcntl
    import termios

KEEPALIVE_IDLE_S = 10  # first probe after this long without traffic
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3  # 10 + 3 * 5 = 25 s for an idle peer
USER_TIMEOUT_MS = (
    30_000  # unacknowledged data (or a zero window) for this long kills it
)


def keep_alive(sock: socket.socket) -> None:
    """Turn on keepalive probes and a user timeout where the platform has them.

    On Linux an accepted socket inherits these from the listening socket, so setting
    them once on the listener covers every connection.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ("TCP_USER_TIMEOUT", USER_TIMEOUT_MS),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


_TCPI_BYTES_ACKED = 120  # offset of tcpi_bytes_acked (u64) in Linux's struct tcp_info


class SocketLike(Protocol):
    """A socket, or asyncio's ``TransportSocket`` view of one (a transport's)."""

    def fileno(self) -> int: ...

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...


def delivery(sock: SocketLike) -> tuple[int, int] | None:
    """Bytes the peer acknowledged so far, and bytes still waiting in the kernel.

    A client that stopped reading closes its receive window: the acknowledged
    count stops while bytes wait.  The kernel's send buffer (megabytes once tuned)
    takes writes long before a write blocks, so at a low rate only this shows it.
    None where the platform has neither TCP_INFO's byte count nor SIOCOUTQ
    (Linux has both since 4.1).
    """
    option = getattr(socket, "TCP_INFO", None)
    if option is None or sys.platform != "linux":
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, 256)
        if len(info) < _TCPI_BYTES_ACKED + 8:
            return None
        (acked,) = struct.unpack_from("Q", info, _TCPI_BYTES_ACKED)
        # SIOCOUTQ has TIOCOUTQ's number on Linux: unsent plus unacknowledged bytes.
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        (waiting,) = struct.unpack("i", raw)
    except OSError:
        return None
    return int(acked), int(waiting)
