"""How a stream reaches its server: TLS trust, client certificate, proxy, HTTP version.

One frozen value per distinct way of connecting, and one factory that turns it
into an ``httpx.AsyncClient``: ``tail``, the app's streams and the engine's own
fallback client all come from :func:`make_client`, so a setting works the same
everywhere.  The value is hashable, so the app can keep one client (one pool of
connections) per distinct ``Transport`` and share it between the streams that
use it.

Secrets a transport carries (a key's passphrase, proxy credentials) are masked
wherever a transport is shown or saved (desktop/core/files/redact.py).
"""

from __future__ import annotations

import http.cookiejar
import os
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from desktop.core.engine.certificate import TLSProblem, fingerprint_of, out_of_dates
from desktop.core.engine.handshake import PinMismatchError
from desktop.core.engine.proxy import ProxyRouter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from desktop.core.engine.certificate import TLSInfo

MAX_REDIRECTS = 20  # as browsers (Fetch: "redirect count is twenty")


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    """A certificate trusted for one host by its SHA-256, trusted or not by a CA."""

    host: str  # as in the URL, lower case
    port: int
    sha256: str  # hex, lower case, no colons (certificate.py's CertificateInfo.sha256)


@dataclass(frozen=True, slots=True)
class Transport:
    """Everything below HTTP's request that a user may choose for a stream.

    The defaults are a browser's: verify against the system's trust store,
    honour the environment's proxy settings, offer HTTP/2 and HTTP/1.1.
    """

    # TLS: whether certificates are checked at all (``-k`` turns it off), a CA
    # bundle to trust besides the system's, certificates trusted for a host by
    # their SHA-256 fingerprint, and a client certificate (mTLS).
    verify: bool = True
    ca_file: str | None = None
    trusted_fingerprints: frozenset[TrustedCertificate] = field(
        default_factory=frozenset
    )
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: str | None = field(default=None, repr=False)
    # Proxy: an explicit proxy URL (http://, https://, socks5://) or None; whether
    # the environment's HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY count.
    proxy: str | None = field(default=None, repr=False)
    trust_env: bool = True
    # Proxy variables to read instead of os.environ: the desktop's proxy settings
    # for an app started from a menu, which has no proxy environment.
    environment: tuple[tuple[str, str], ...] | None = field(default=None, repr=False)
    # HTTP/2 by ALPN on https (``--http1.1`` turns it off).
    http2: bool = True


DEFAULT_TRANSPORT = Transport()


def _trust_store() -> ssl.SSLContext:
    """A verifying context: SSL_CERT_FILE when set, else the system's store.

    ``truststore`` asks the operating system (Keychain, the Windows store, the
    distribution's CA files), as browsers do, so a company's CA installed there
    is trusted; certifi's bundle is the fallback where truststore cannot work.
    """
    env_file = os.environ.get("SSL_CERT_FILE")
    if env_file:  # as OpenSSL, curl and httpx read it: instead of the default
        return ssl.create_default_context(cafile=env_file)
    try:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except (ImportError, OSError, ssl.SSLError):
        import certifi

        return ssl.create_default_context(cafile=certifi.where())


def _client_side(context: ssl.SSLContext, transport: Transport) -> ssl.SSLContext:
    if transport.client_cert:
        context.load_cert_chain(
            transport.client_cert,
            transport.client_key,
            transport.client_key_password,
        )
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and transport.trust_env:  # NSS key log format, for Wireshark
        context.keylog_filename = keylog
    return context


def ssl_context(transport: Transport) -> ssl.SSLContext:
    """The TLS context of ``transport``'s connections (pinned hosts aside).

    Raises OSError / ssl.SSLError when a CA file, certificate or key cannot be
    read (a wrong passphrase is an ssl.SSLError).
    """
    if transport.verify:
        context = _trust_store()
        if transport.ca_file:
            context.load_verify_locations(cafile=transport.ca_file)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return _client_side(context, transport)


class _PinnedObject(ssl.SSLObject):
    """Completes the handshake, then accepts the peer only by its fingerprint.

    Python's ssl has no verify callback, and a verifying handshake that fails
    cannot be resumed: so a pinned host gets a context that verifies nothing
    and this check right after the handshake, before httpx has a stream to
    write a request into.  Any other certificate fails closed (PinMismatchError).
    """

    pins: frozenset[str] = frozenset()

    def do_handshake(self) -> None:
        super().do_handshake()  # SSLWantReadError until done, as usual
        der = self.getpeercert(binary_form=True)
        if der is None or fingerprint_of(der) not in self.pins:
            raise PinMismatchError("certificate is not the one trusted for this host")


def pinned_context(transport: Transport, pins: frozenset[str]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.sslobject_class = type("_Pinned", (_PinnedObject,), {"pins": pins})
    return _client_side(context, transport)


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that refuses every cookie: a client's, shared by streams."""
    return http.cookiejar.CookieJar(
        policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
    )


def make_client(
    transport: Transport = DEFAULT_TRANSPORT,
    *,
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """A client that connects as ``transport`` says, following redirects as
    browsers do.  The caller owns it and closes it.

    Requests go direct or through a proxy as desktop/core/engine/proxy.py says
    (``env`` stands in for ``os.environ`` there: tests pass one).  A host:port
    with trusted fingerprints gets a route of its own (`_PinRouter`, through the
    same proxy choice), so every other place, a redirect's included, is
    verified as usual.
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=8)

    def builder(
        verify: ssl.SSLContext | bool,
    ) -> Callable[[str | None], httpx.AsyncBaseTransport]:
        def build(proxy: str | None) -> httpx.AsyncBaseTransport:
            return httpx.AsyncHTTPTransport(
                verify=verify,
                http1=True,
                http2=transport.http2,
                limits=limits,
                trust_env=False,  # the router decides the proxy
                proxy=proxy,
            )

        return build

    pinned: dict[tuple[str, int], httpx.AsyncBaseTransport] = {
        key: ProxyRouter(transport, builder(pinned_context(transport, pins)), env)
        for key, pins in _pins_by_place(transport).items()
    }
    default = ProxyRouter(transport, builder(ssl_context(transport)), env)
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        # The router decides the proxy; httpx must not add the environment's.
        trust_env=False,
        transport=_PinRouter(default, pinned) if pinned else default,
        # Cookies live in each stream's own jar (credentials.py), not in a
        # client that several streams share.
        cookies=_no_cookies(),
    )


def _pins_by_place(transport: Transport) -> dict[tuple[str, int], frozenset[str]]:
    places: dict[tuple[str, int], set[str]] = {}
    for pin in transport.trusted_fingerprints:
        places.setdefault((pin.host.lower(), pin.port), set()).add(pin.sha256.lower())
    return {place: frozenset(pins) for place, pins in places.items()}


def place_of(url: httpx.URL) -> tuple[str, int] | None:
    """The (host, port) a pin names for an https ``url``, the default port filled
    in (httpx drops it from the URL); None for any other scheme."""
    if url.scheme != "https":
        return None
    return url.host.lower(), url.port or 443


def pins_for(transport: Transport, url: httpx.URL) -> frozenset[str]:
    """The fingerprints trusted for exactly ``url``'s host and port."""
    place = place_of(url)
    if place is None:
        return frozenset()
    return _pins_by_place(transport).get(place, frozenset())


def pinned_out_of_dates(
    transport: Transport, url: httpx.URL, tls: TLSInfo | None, wall: float
) -> str | None:
    """What to tell the user when a certificate accepted by its pin is past its
    notAfter (or before its notBefore); None when it is in date or not pinned.

    A pin accepts the certificate it names even out of its dates, with this
    said out loud on every connection (the stream records a Notice).  A pin is
    the user's word about these exact bytes for this host and port, made after
    seeing the certificate with its validity (the state panel offers "Trust
    this certificate" for an expired one too, as for a self-signed one); a
    refusal would make that offer a dead end for the lapsed certificate of a
    development server, which is where pins are used.  Silence would be worse:
    an expiry the pin hides is exactly what a user must see, so the notice names
    the date, and the stream's Open record carries the certificate.
    """
    if tls is None or tls.certificate is None:
        return None
    cert = tls.certificate
    if cert.sha256 not in pins_for(transport, url):
        return None
    problem = out_of_dates(cert, wall)
    if problem is None:
        return None
    host, port = place_of(url) or (url.host, 443)
    when = (
        f"expired on {cert.not_after}"
        if problem is TLSProblem.EXPIRED
        else f"is not valid before {cert.not_before}"
    )
    return (
        f"the certificate pinned for {host}:{port} {when}; accepted only because "
        f"its SHA-256 {cert.fingerprint} is trusted for this host and port"
    )


class _PinRouter(httpx.AsyncBaseTransport):
    """Sends a request to a pinned host:port through that place's transport.

    A pin trusts one certificate for one host and port.  httpx's mounts cannot
    say that for port 443: httpx drops the default port from a URL, so only a
    pattern without a port matches ``https://host/``, and it matches every
    port of the host (httpx's ``URLPattern.matches``): a pin kept for 443 then
    also accepted that certificate on 8443.  Routing on ``place_of`` instead
    keeps each pin to its own port; a redirect's other places are verified as
    usual.
    """

    def __init__(
        self,
        default: httpx.AsyncBaseTransport,
        pinned: dict[tuple[str, int], httpx.AsyncBaseTransport],
    ) -> None:
        self._default = default
        self._pinned = pinned

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        place = place_of(request.url)
        chosen = self._pinned.get(place, self._default) if place else self._default
        return await chosen.handle_async_request(request)

    async def aclose(self) -> None:
        try:
            for pinned in self._pinned.values():
                await pinned.aclose()
        finally:
            await self._default.aclose()
