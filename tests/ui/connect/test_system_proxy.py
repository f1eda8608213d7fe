"""The desktop's proxy settings as Qt reports them, turned into proxy variables."""

from __future__ import annotations

from PySide6.QtNetwork import QNetworkProxy

from desktop.ui.system_proxy import desktop_environment, proxy_url


def test_qt_proxies_become_urls() -> None:
    http = QNetworkProxy(QNetworkProxy.ProxyType.HttpProxy, "proxy.corp", 3128)
    assert proxy_url(http) == "http://proxy.corp:3128"
    socks = QNetworkProxy(
        QNetworkProxy.ProxyType.Socks5Proxy, "::1", 1080, "bob", "p@ss"
    )
    assert proxy_url(socks) == "socks5://bob:p%40ss@[::1]:1080"
    assert proxy_url(QNetworkProxy(QNetworkProxy.ProxyType.NoProxy)) is None


def test_the_environment_wins_over_the_desktop() -> None:
    assert desktop_environment({"HTTPS_PROXY": "http://proxy.corp:3128"}) is None
