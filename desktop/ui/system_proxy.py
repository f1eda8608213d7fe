"""The desktop's proxy settings, for an app started from a menu (no proxy environment).

Qt reads them (QNetworkProxyFactory.systemProxyForQuery): the system settings
on macOS and Windows, libproxy where Qt was built with it; elsewhere Qt reads
the same environment variables the engine does, so nothing is added.  They
reach the engine as a Transport's ``environment`` (desktop/core/engine/proxy.py
applies them like the variables, loopback never proxied).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Mapping

    from PySide6.QtNetwork import QNetworkProxy

_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def proxy_url(proxy: QNetworkProxy) -> str | None:
    """``http://[user:password@]host:port`` or ``socks5://…``; None for none."""
    from PySide6.QtNetwork import QNetworkProxy

    kind = proxy.type()
    if kind == QNetworkProxy.ProxyType.HttpProxy:
        scheme = "http"
    elif kind == QNetworkProxy.ProxyType.Socks5Proxy:
        scheme = "socks5"
    else:  # NoProxy, DefaultProxy, caching or FTP proxies: not for a stream
        return None
    if not proxy.hostName():
        return None
    auth = ""
    if proxy.user():
        auth = quote(proxy.user(), safe="")
        if proxy.password():
            auth += ":" + quote(proxy.password(), safe="")
        auth += "@"
    host = proxy.hostName()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{auth}{host}:{proxy.port()}"


def desktop_environment(
    env: Mapping[str, str] | None = None,
) -> tuple[tuple[str, str], ...] | None:
    """The desktop's proxies as proxy variables; None when the environment has
    its own (they win) or the desktop sets none."""
    env = os.environ if env is None else env
    if any(env.get(name) or env.get(name.upper()) for name in _VARIABLES):
        return None
    return _from_qt()


@functools.cache
def _from_qt() -> tuple[tuple[str, str], ...] | None:
    # Asked once: the answer comes from the system's settings at start-up.
    from PySide6.QtCore import QUrl
    from PySide6.QtNetwork import QNetworkProxyFactory, QNetworkProxyQuery

    found: list[tuple[str, str]] = []
    for scheme in ("http", "https"):
        query = QNetworkProxyQuery(QUrl(f"{scheme}://example.com/"))
        for proxy in QNetworkProxyFactory.systemProxyForQuery(query):
            url = proxy_url(proxy)
            if url is not None:
                found.append((f"{scheme}_proxy", url))
                break
    return tuple(found) or None
