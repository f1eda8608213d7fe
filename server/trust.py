"""Trust: which Host and Origin headers the server answers (DNS rebinding, CSRF).

A server on 127.0.0.1 is reachable by every web page the user opens.  Two checks
keep those pages out:

- **Host.**  A DNS-rebinding page reaches the server under the attacker's own
  name, so the server answers only to the names it is known by: the loopback
  names on a loopback bind; the bound address and ``--allowed-host`` names on
  another (a wildcard bind also takes any IP literal, which no rebinding can forge).
  Starlette's `TrustedHostMiddleware` does the matching.
- **Origin.**  A page elsewhere may send a "simple" POST (no-cors, ``text/plain``)
  with no preflight (WHATWG Fetch, "CORS-safelisted method").  A state-changing
  request is refused when its ``Origin`` is neither this server's own (its
  loopback aliases count) nor an allowed ``--cors-origin``, or when the browser
  says ``Sec-Fetch-Site: cross-site`` (W3C Fetch Metadata).  A request without
  either header (curl, the app's httpx clients) is not from a web page and passes.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    import argparse
    from collections.abc import Collection, Iterable

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARDS = ("", "0.0.0.0", "::")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _host_name(address: str) -> str:
    """An address as it appears in a Host header (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address


def hosts_for_bind(
    bind: str, bound: str, extra: Iterable[str], *, loopback: bool
) -> tuple[str, ...]:
    """Host names to answer to, bound to ``bind`` (as given) at address ``bound``."""
    names: list[str] = []
    if loopback or bind in _WILDCARDS:
        names += LOOPBACK_HOSTS
    if bind in _WILDCARDS:
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names += [_host_name(bind), _host_name(bound)]  # e.g. 127.0.0.2, a LAN IP
    names += extra
    return tuple(dict.fromkeys(name.lower() for name in names if name))


def host_pattern_problem(pattern: str) -> str | None:
    """Why ``--allowed-host pattern`` cannot work, or None."""
    if "*" in pattern[1:] or (
        pattern.startswith("*") and pattern[:2] not in ("*", "*.")
    ):
        return f"--allowed-host {pattern}: a wildcard goes first, as in *.example.com"
    if pattern != "*" and _host_port(pattern, None) != (
        pattern.lower().strip("[]"),
        None,
    ):
        return f"--allowed-host {pattern}: give a host name alone (any port matches)"
    return None


def add_trust_arguments(p: argparse.ArgumentParser) -> None:
    """``--cors-origin`` and ``--allowed-host``, for ``serve`` and ``mock`` alike."""
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow a page on ORIGIN (repeatable): CORS, and its POSTs; a page "
        "elsewhere may not change the server's state",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer requests for Host NAME too (repeatable; '*.example.com' "
        "matches subdomains, '*' any): a load balancer's or the machine's name. "
        "Without it only the bound address (and on 127.0.0.1 the loopback names) "
        "is answered, against DNS rebinding",
    )


def trust_problems(args: argparse.Namespace) -> list[str]:
    """What in ``add_trust_arguments``' arguments cannot work."""
    return list(filter(None, map(host_pattern_problem, args.allowed_host)))


def own_origins(port: int, *, loopback: bool, tls: bool) -> tuple[str, ...]:
    """This server's origins under its loopback aliases (none on another bind)."""
    if not loopback:
        return ()
    scheme = "https" if tls else "http"
    return tuple(f"{scheme}://{name}:{port}" for name in LOOPBACK_HOSTS)


def any_ip_host(bind: str) -> bool:
    """A wildcard bind answers any IP-literal Host: the machine's every address."""
    return bind in _WILDCARDS


class HostGuard:
    """ASGI middleware: `TrustedHostMiddleware` (400 for another Host), which
    IP-literal Hosts skip when ``any_ip`` is set."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Collection[str], any_ip: bool = False
    ) -> None:
        self._app = app
        self._any_ip = any_ip
        self._checked = TrustedHostMiddleware(
            app, allowed_hosts=list(allowed_hosts), www_redirect=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._any_ip
            and scope["type"] == "http"
            and _is_ip_literal(_header(scope, b"host"))
        ):
            await self._app(scope, receive, send)
        else:
            await self._checked(scope, receive, send)


def _is_ip_literal(host: str | None) -> bool:
    if host is None:
        return False
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    try:
        ipaddress.ip_address(name or "")
    except ValueError:
        return False
    return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _host_port(netloc: str, scheme: str | None) -> tuple[str, int | None] | None:
    """(host, port) of a netloc; the port is None when absent and no scheme says it."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if parts.hostname is None:
        return None
    if port is None and scheme is not None:
        port = _DEFAULT_PORTS.get(scheme)
    return parts.hostname, port


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_own_origin(origin: str, host_header: str) -> bool:
    """Whether ``origin`` names the server the request reached (via ``Host``).

    Scheme aside (a TLS proxy may stand in front), host and port must be the
    same, a loopback name standing for any other.  A Host without a port was
    reached on its scheme's default port, which the Origin must then name.
    """
    try:
        scheme = urlsplit(origin).scheme
    except ValueError:
        return False
    ours = _host_port(host_header, None)
    theirs = _host_port(origin.partition("://")[2], scheme)
    if ours is None or theirs is None or not scheme:
        return False
    (host, port), (their_host, their_port) = ours, theirs
    if port is None:
        if their_port != _DEFAULT_PORTS.get(scheme):
            return False
    elif their_port != port:
        return False
    both_loopback = _is_loopback_name(host) and _is_loopback_name(their_host)
    return their_host == host or both_loopback


def refusal(
    method: str,
    origin: str | None,
    fetch_site: str | None,
    host_header: str | None,
    cors_origins: Collection[str],
) -> str | None:
    """Why a request must be refused as cross-site, or None if it may go on."""
    if method not in STATE_CHANGING or (origin is not None and origin in cors_origins):
        return None
    if fetch_site == "cross-site":
        return "cross-site requests may not change this server's state"
    if origin is not None and not is_own_origin(origin, host_header or ""):
        return (
            f"a page on {origin} may not change this server's state; to allow it, "
            f"start the server with --cors-origin {origin}"
        )
    return None


class OriginGuard:
    """ASGI middleware: 403 for a state-changing request from another site."""

    def __init__(self, app: ASGIApp, cors_origins: Collection[str] = ()) -> None:
        self._app = app
        self._cors = frozenset(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            why = refusal(
                scope["method"],
                _header(scope, b"origin"),
                _header(scope, b"sec-fetch-site"),
                _header(scope, b"host"),
                self._cors,
            )
            if why is not None:
                await JSONResponse({"detail": why}, status_code=403)(
                    scope, receive, send
                )
                return
        await self._app(scope, receive, send)


class TimingAllow:
    """ASGI middleware: ``Timing-Allow-Origin`` naming this server's own origins.

    W3C Resource Timing shows a cross-origin request's ``nextHopProtocol`` only
    when the response allows the page's origin so; a page on one loopback alias
    of this server may then see which protocol its requests to another took.
    """

    def __init__(self, app: ASGIApp, origins: Collection[str]) -> None:
        self._app = app
        self._value = ", ".join(origins).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", ()),
                    (b"timing-allow-origin", self._value),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, with_header)
