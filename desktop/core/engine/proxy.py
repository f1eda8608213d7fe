"""Which proxy, if any, carries a request: the environment's, the user's, or none.

The environment's variables are read as curl and httpx read them
(``http_proxy`` / ``HTTP_PROXY``, ``https_proxy``, ``all_proxy``, ``no_proxy``;
the lower-case spelling wins), with one rule of our own: **loopback is never
sent through an environment proxy**.  A corporate ``HTTP_PROXY`` cannot reach
this machine's 127.0.0.1, so proxying it would break the bundled server, jobs
and the lab (httpx itself proxies 127.0.0.1 unless ``NO_PROXY`` names it).
A proxy the user set explicitly for a stream carries everything, loopback too.

httpx's own routing (``mounts`` of URL patterns) cannot say "127.0.0.0/8", so
:class:`ProxyRouter` decides per request with :func:`proxy_for`, the same
function that tells ``tail`` and the app which proxy a stream goes through.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class Transport(Protocol):
    """What routing reads of a transport.Transport (named so to avoid an
    import circle: transport.py builds its clients with ProxyRouter)."""

    @property
    def proxy(self) -> str | None: ...
    @property
    def trust_env(self) -> bool: ...
    @property
    def environment(self) -> tuple[tuple[str, str], ...] | None: ...


SECRET = "•" * 8  # what a proxy password is shown as, everywhere


@dataclass(frozen=True, slots=True)
class EnvironmentProxies:
    """The proxy settings an environment holds (None: not set)."""

    http: str | None = None
    https: str | None = None
    all: str | None = None
    no: tuple[str, ...] = ()

    @classmethod
    def read(cls, env: Mapping[str, str]) -> EnvironmentProxies:
        def value(name: str) -> str | None:
            text = (env.get(name) or env.get(name.upper()) or "").strip()
            if not text:
                return None
            # httpx and curl take "proxy:3128" as an http:// proxy.
            return text if "://" in text else f"http://{text}"

        no = env.get("no_proxy") or env.get("NO_PROXY") or ""
        hosts = tuple(h.strip().lower() for h in no.split(",") if h.strip())
        return cls(value("http_proxy"), value("https_proxy"), value("all_proxy"), hosts)

    def for_scheme(self, scheme: str) -> str | None:
        return (self.https if scheme == "https" else self.http) or self.all


def is_loopback(host: str) -> bool:
    """localhost (and RFC 6761's ``*.localhost``), 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _split_port(entry: str) -> tuple[str, str]:
    """``host:port``, ``[v6]:port`` or a bare host (an IPv6 address too)."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else ""
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, port if port.isdigit() else ""
    return entry, ""


def _bypassed(host: str, port: int, no_proxy: tuple[str, ...]) -> bool:
    """Whether ``NO_PROXY`` names the host: ``*``, a domain and its subdomains,
    an address, a CIDR block (as curl 7.86+), optionally with ``:port``."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = (
            ipaddress.ip_address(host)
        )
    except ValueError:
        address = None
    for entry in no_proxy:
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port and int(entry_port) != port:
            continue
        name = name.lstrip("*").lstrip(".").rstrip(".")
        if address is not None:
            with contextlib.suppress(ValueError):  # a name, not a network
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def proxy_for(
    transport: Transport, url: httpx.URL, env: Mapping[str, str] | None = None
) -> str | None:
    """The proxy URL a request for ``url`` goes through, or None for direct.

    ``env`` defaults to the transport's own ``environment`` (the desktop's
    settings) or else ``os.environ``.
    """
    if transport.proxy:
        return transport.proxy
    if not transport.trust_env or is_loopback(url.host):
        return None
    if env is None:
        env = (
            dict(transport.environment)
            if transport.environment is not None
            else os.environ
        )
    proxies = EnvironmentProxies.read(env)
    chosen = proxies.for_scheme(url.scheme)
    port = url.port or (443 if url.scheme == "https" else 80)
    if chosen is None or _bypassed(url.host, port, proxies.no):
        return None
    return chosen


def shown_proxy_for(transport: Transport, url: str) -> str | None:
    """The proxy a stream of ``url`` goes through, as it may be shown."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None  # the attempt says why
    proxy = proxy_for(transport, parsed)
    return None if proxy is None else shown(proxy)


def shown(proxy: str) -> str:
    """The proxy URL as it may be shown or logged: its password masked."""
    try:
        parts = urlsplit(proxy)
    except ValueError:
        return SECRET
    if "@" not in parts.netloc:
        return proxy
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    netloc = f"{user}{':' + SECRET if colon else ''}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class ProxyRouter(httpx.AsyncBaseTransport):
    """Sends each request direct or through its proxy, as :func:`proxy_for` says.

    ``build(proxy_url_or_None)`` makes the underlying httpx transports (TLS,
    HTTP/2, limits); one is made per distinct proxy, when first needed, and all
    are closed with the router.
    """

    def __init__(
        self,
        transport: Transport,
        build: Callable[[str | None], httpx.AsyncBaseTransport],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._transport = transport
        self._build = build
        self._env = env
        self._routes: dict[str | None, httpx.AsyncBaseTransport] = {}

    def route(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        proxy = proxy_for(self._transport, url, self._env)
        route = self._routes.get(proxy)
        if route is None:
            route = self._routes[proxy] = self._build(proxy)
        return route

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.route(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            await route.aclose()
