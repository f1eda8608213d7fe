"""Proxies: which requests go through one, and the engine through real ones.

Real tinyproxy (HTTP forward proxy, CONNECT, Basic auth) and microsocks (SOCKS5)
on 127.0.0.1; proxies are set per Transport or per client ``env``, never in
``os.environ``.  TLS targets are checked with ``verify=False``: trust is the
TLS tests' subject, the route is this file's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.engine.proxy import proxy_for, shown
from desktop.core.engine.records import Closed, Connecting, Open, Reconnecting
from desktop.core.engine.transport import Transport, make_client

from proxies import free_port, h2_server, microsocks, tinyproxy
from stream_checks import collect, events, of, options, run

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.core.engine.records import Record

P = "http://proxy.corp:3128"
S = "http://secure.corp:3128"
A = {"ALL_PROXY": P}


@pytest.mark.parametrize(
    ("env", "url", "transport", "expected"),
    [
        ({"HTTP_PROXY": P}, "http://example.org/", Transport(), P),
        ({"http_proxy": P, "HTTP_PROXY": S}, "http://example.org/", Transport(), P),
        ({"HTTP_PROXY": P}, "https://example.org/", Transport(), None),
        ({"HTTPS_PROXY": S, "ALL_PROXY": P}, "https://example.org/", Transport(), S),
        ({"ALL_PROXY": P}, "https://example.org/", Transport(), P),
        ({"HTTP_PROXY": "proxy.corp:3128"}, "http://a.org/", Transport(), P),
        # loopback never goes through the environment's proxy
        ({"ALL_PROXY": P}, "http://127.0.0.1:8000/", Transport(), None),
        ({"ALL_PROXY": P}, "http://127.9.9.9/", Transport(), None),
        ({"ALL_PROXY": P}, "http://localhost:8000/", Transport(), None),
        ({"ALL_PROXY": P}, "http://app.localhost/", Transport(), None),
        ({"ALL_PROXY": P}, "http://[::1]:8000/", Transport(), None),
        ({"ALL_PROXY": P}, "http://[::ffff:127.0.0.1]/", Transport(), None),
        # ... unless the user sets a proxy for the stream
        ({}, "http://127.0.0.1:8000/", Transport(proxy=S), S),
        # NO_PROXY: domains, subdomains, addresses, CIDR, ports, *
        ({**A, "NO_PROXY": "corp.net"}, "http://a.corp.net/", Transport(), None),
        ({**A, "NO_PROXY": ".corp.net"}, "http://corp.net/", Transport(), None),
        ({**A, "NO_PROXY": "corp.net"}, "http://xcorp.net/", Transport(), P),
        ({**A, "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/", Transport(), None),
        ({**A, "NO_PROXY": "a.org:81"}, "http://a.org:81/", Transport(), None),
        ({**A, "NO_PROXY": "a.org:81"}, "http://a.org/", Transport(), P),
        ({**A, "NO_PROXY": "*"}, "http://a.org/", Transport(), None),
        # --noproxy: the environment does not count
        ({"ALL_PROXY": P}, "http://a.org/", Transport(trust_env=False), None),
        # the desktop's settings stand in for an empty environment
        ({}, "http://a.org/", Transport(environment=(("http_proxy", P),)), P),
    ],
)  # fmt: skip
def test_which_requests_go_through_a_proxy(
    env: dict[str, str], url: str, transport: Transport, expected: str | None
) -> None:
    if transport.environment is not None:
        assert proxy_for(transport, httpx.URL(url)) == expected
    else:
        assert proxy_for(transport, httpx.URL(url), env) == expected


def test_a_proxy_password_is_never_shown() -> None:
    assert shown("http://bob:hunter2@127.0.0.1:3128") == (
        "http://bob:••••••••@127.0.0.1:3128"
    )
    assert shown("socks5://127.0.0.1:1080") == "socks5://127.0.0.1:1080"


def test_loopback_is_not_sent_to_the_environments_proxy(tmp_path: Path) -> None:
    """A corporate HTTP_PROXY (here: nothing listens) must not break 127.0.0.1."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead}

    async def main() -> list[Record]:
        async with make_client(Transport(), env=env) as client:
            return await collect(opts, client=client)

    with h2_server(tmp_path, tls=False) as server:
        opts = options(server.url, count=2)
        records = run(main())
    assert [e[1] for e in events(records)] == ["event 1", "event 2"]


def _stream(url: str, transport: Transport, **kwargs: object) -> list[Record]:
    return run(collect(options(url, transport=transport, **kwargs)))


def test_plain_http_through_a_forward_proxy(tmp_path: Path) -> None:
    with h2_server(tmp_path, tls=False) as server, tinyproxy(tmp_path) as proxy:
        records = _stream(server.url, Transport(proxy=proxy), count=2)
    assert of(records, Connecting)[0].proxy == proxy
    opened = of(records, Open)[0]
    assert any(k.lower() == "via" and "tinyproxy" in v for k, v in opened.headers)
    assert len(events(records)) == 2


def test_https_through_connect_speaks_http2_inside_the_tunnel(tmp_path: Path) -> None:
    with h2_server(tmp_path) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        with tinyproxy(tmp_path, connect_ports=(port,)) as proxy:
            transport = Transport(proxy=proxy, verify=False)
            records = _stream(server.url, transport, count=3)
    assert [o.http_version for o in of(records, Open)] == ["HTTP/2", "HTTP/2"]
    assert [e[2] for e in events(records)] == ["1", "2", "3"]
    assert server.seen == [("2", ""), ("2", "2")]


def test_a_refused_connect_is_the_proxys_error(tmp_path: Path) -> None:
    with h2_server(tmp_path) as server, tinyproxy(tmp_path) as proxy:
        # tinyproxy tunnels to 443 only: this port is refused.
        transport = Transport(proxy=proxy, verify=False)
        records = _stream(server.url, transport, max_attempts=1)
    reason = of(records, Reconnecting)[0].reason
    assert reason.startswith(f"proxy {proxy}: refused the tunnel (HTTP 403"), reason
    assert server.seen == []


@pytest.mark.parametrize("tls", [True, False], ids=["connect", "forward"])
def test_407_names_the_proxy_and_stops(tmp_path: Path, tls: bool) -> None:
    with h2_server(tmp_path, tls=tls) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        with tinyproxy(tmp_path, (port,), auth="bob:hunter2") as proxy:
            refused = _stream(server.url, Transport(proxy=proxy, verify=False))
            with_password = proxy.replace("http://", "http://bob:hunter2@")
            allowed = _stream(
                server.url, Transport(proxy=with_password, verify=False), count=1
            )
    closed = of(refused, Closed)[0]
    assert closed.failed
    assert closed.status == 407
    assert closed.reason == (
        f"proxy {proxy}: asks for credentials (HTTP 407 Proxy Authentication Required)"
    )
    assert len(events(allowed)) == 1
    shown_proxy = of(allowed, Connecting)[0].proxy
    assert shown_proxy is not None
    assert "hunter2" not in shown_proxy
    assert "bob:••••••••@" in shown_proxy


def test_an_unreachable_proxy_is_named(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    records = _stream("http://127.0.0.1:9/", Transport(proxy=dead), max_attempts=1)
    reason = of(records, Reconnecting)[0].reason
    assert reason == f"proxy {dead}: cannot connect: connection refused"


def test_https_through_socks5(tmp_path: Path) -> None:
    with h2_server(tmp_path) as server, microsocks() as proxy:
        records = _stream(server.url, Transport(proxy=proxy, verify=False), count=2)
    assert of(records, Connecting)[0].proxy == proxy
    assert of(records, Open)[0].http_version == "HTTP/2"
    assert len(events(records)) == 2
