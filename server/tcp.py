"""TCP: socket options that make a vanished peer (network cut) visible within ~30 s."""

from __future__ import annotations

import socket

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
